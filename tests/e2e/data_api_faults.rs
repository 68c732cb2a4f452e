//! With the server failing 30% of calls transiently, work still completes exactly once;
//! SQL errors are never retried.

use shared::data_api::{DbError, Params};
use studio_tests::TestDb;

#[tokio::test]
async fn two_hundred_statements_complete_exactly_once_through_a_30_percent_fault_rate() {
    let t = TestDb::new().await;
    t.db.execute("CREATE TABLE ledger (n int PRIMARY KEY)", Params::new())
        .await
        .unwrap();
    t.server.set_fault_rate(0.3);
    for n in 0..150 {
        t.db.execute(
            "INSERT INTO ledger (n) VALUES (:n)",
            Params::new().bind("n", n),
        )
        .await
        .unwrap_or_else(|e| panic!("insert {n}: {e}"));
    }
    // The rest in transactions of ten, so Begin, Commit and statements inside are faulted too.
    for chunk in (150..200).collect::<Vec<i32>>().chunks(10) {
        t.db.transaction(async |tx| {
            for n in chunk {
                tx.execute(
                    "INSERT INTO ledger (n) VALUES (:n)",
                    Params::new().bind("n", *n),
                )
                .await?;
            }
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
    }
    let calls = t.server.requests();
    t.server.set_fault_rate(0.0);
    assert!(calls > 200 + 5 * 2, "faults forced retries ({calls} calls)");
    let rows = t
        .postgres()
        .await
        .query_one(
            "SELECT count(*), count(DISTINCT n), min(n), max(n) FROM ledger",
            &[],
        )
        .await
        .unwrap();
    let (count, distinct, min, max): (i64, i64, i32, i32) =
        (rows.get(0), rows.get(1), rows.get(2), rows.get(3));
    assert_eq!((count, distinct, min, max), (200, 200, 0, 199));
}

#[tokio::test]
async fn a_sql_error_is_not_retried() {
    let t = TestDb::new().await;
    let before = t.server.requests();
    let error = t.db.execute("SELEC 1", Params::new()).await.unwrap_err();
    assert_eq!(error.sql_state(), Some("42601"));
    assert!(!error.is_retryable());
    assert_eq!(
        t.server.requests() - before,
        1,
        "exactly one call reached the server"
    );
}

#[tokio::test]
async fn transient_errors_past_the_budget_surface_as_retryable() {
    let t = TestDb::new().await;
    t.server.set_fault_rate(1.0);
    let error = t.db.execute("SELECT 1", Params::new()).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    let app: shared::AppError = error.into();
    assert_eq!(app.code, shared::ErrorCode::Unavailable);
    assert_eq!(app.http_status(), 503);
}
