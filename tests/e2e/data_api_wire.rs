//! The local server speaks the Data API's wire format: shapes, limits, errors; bad input
//! gets a 400 with a message and the server keeps serving.

use std::time::Duration;

use aws_sdk_rdsdata::error::ProvideErrorMetadata;
use aws_sdk_rdsdata::types::{Field, RecordsFormatType, SqlParameter};
use serde::Deserialize;
use shared::data_api::{DbError, Params};
use studio_tests::{CLUSTER_ARN, SECRET_ARN, TestDb};

async fn raw_error(t: &TestDb, sql: &str) -> (String, String) {
    let error = t
        .sdk
        .execute_statement()
        .resource_arn(CLUSTER_ARN)
        .secret_arn(SECRET_ARN)
        .sql(sql)
        .send()
        .await
        .unwrap_err();
    (
        error.code().unwrap_or_default().to_owned(),
        error.message().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn formatted_records_and_column_metadata_follow_the_service() {
    let t = TestDb::new().await;
    let output = t
        .sdk
        .execute_statement()
        .resource_arn(CLUSTER_ARN)
        .secret_arn(SECRET_ARN)
        .sql("SELECT :n::int4 AS zeta, 'x'::text AS alpha, NULL::uuid AS id, '2026-01-02 03:04:05+00'::timestamptz AS at, 1.50::numeric AS price")
        .parameters(SqlParameter::builder().name("n").value(Field::LongValue(7)).build())
        .include_result_metadata(true)
        .format_records_as(RecordsFormatType::Json)
        .send()
        .await
        .unwrap();
    assert!(
        output.records.is_none(),
        "JSON format returns formattedRecords instead of records"
    );
    assert_eq!(
        output.formatted_records.as_deref(),
        Some(r#"[{"zeta":7,"alpha":"x","id":null,"at":"2026-01-02 03:04:05","price":"1.50"}]"#),
        "objects keep column order and the service's timestamp format"
    );
    let metadata = output.column_metadata.unwrap();
    let types: Vec<_> = metadata
        .iter()
        .map(|c| {
            (
                c.name().unwrap_or_default(),
                c.type_name().unwrap_or_default(),
                c.r#type(),
            )
        })
        .collect();
    assert_eq!(
        types,
        vec![
            ("zeta", "int4", 4),
            ("alpha", "text", 12),
            ("id", "uuid", 1111),
            ("at", "timestamptz", 93),
            ("price", "numeric", 2)
        ]
    );
    assert_eq!(output.number_of_records_updated, 0);
}

#[tokio::test]
async fn writes_report_rows_updated_and_batches_report_generated_fields() {
    let t = TestDb::new().await;
    t.db.execute(
        "CREATE TABLE seq (id bigserial PRIMARY KEY, v text)",
        Params::new(),
    )
    .await
    .unwrap();
    let output = t
        .sdk
        .batch_execute_statement()
        .resource_arn(CLUSTER_ARN)
        .secret_arn(SECRET_ARN)
        .database(&t.name)
        .sql("INSERT INTO seq (v) VALUES (:v) RETURNING id")
        .parameter_sets(vec![
            SqlParameter::builder()
                .name("v")
                .value(Field::StringValue("a".into()))
                .build(),
        ])
        .parameter_sets(vec![
            SqlParameter::builder()
                .name("v")
                .value(Field::StringValue("b".into()))
                .build(),
        ])
        .send()
        .await
        .unwrap();
    let generated: Vec<_> = output
        .update_results
        .unwrap()
        .into_iter()
        .map(|r| r.generated_fields.unwrap_or_default())
        .collect();
    assert_eq!(
        generated,
        vec![vec![Field::LongValue(1)], vec![Field::LongValue(2)]]
    );
    let updated =
        t.db.execute("UPDATE seq SET v = upper(v)", Params::new())
            .await
            .unwrap();
    assert_eq!(updated.rows_updated, 2);
}

#[tokio::test]
async fn a_result_over_one_mebibyte_is_refused_and_paging_reads_it_all() {
    let t = TestDb::new().await;
    let (code, message) = raw_error(
        &t,
        "SELECT repeat('x', 1000) AS body FROM generate_series(1, 2000)",
    )
    .await;
    assert_eq!(code, "BadRequestException");
    assert_eq!(
        message,
        "Database returned more than the allowed response size limit"
    );

    #[derive(Deserialize)]
    struct Row {
        n: i64,
        body: String,
    }
    let rows: Vec<Row> = t
        .db
        .query_paged(
            "SELECT n, repeat('x', 1000) AS body FROM generate_series(1, 2000) AS n ORDER BY n LIMIT :page_limit OFFSET :page_offset",
            Params::new(),
            5000,
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2000);
    assert!(
        rows.iter()
            .enumerate()
            .all(|(i, r)| r.n == i as i64 + 1 && r.body.len() == 1000)
    );
}

#[tokio::test]
async fn sql_errors_carry_postgres_message_and_sqlstate() {
    let t = TestDb::new().await;
    let (code, message) = raw_error(&t, "SELECT * FROM no_such_table").await;
    assert_eq!(code, "DatabaseErrorException");
    assert!(
        message.starts_with("ERROR: relation \"no_such_table\" does not exist"),
        "{message}"
    );
    assert!(message.ends_with("SQLState: 42P01"), "{message}");
    let (_, message) = raw_error(&t, "SELECT 1; SELECT 2").await;
    assert!(
        message.contains("cannot insert multiple commands into a prepared statement"),
        "{message}"
    );
}

#[tokio::test]
async fn an_idle_transaction_expires_and_then_is_not_found() {
    let t = TestDb::with(|c| c.transaction_idle_timeout = Duration::from_millis(500)).await;
    let begin = t
        .sdk
        .begin_transaction()
        .resource_arn(CLUSTER_ARN)
        .secret_arn(SECRET_ARN)
        .send()
        .await
        .unwrap();
    let id = begin.transaction_id.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let error = t
        .sdk
        .commit_transaction()
        .resource_arn(CLUSTER_ARN)
        .secret_arn(SECRET_ARN)
        .transaction_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("TransactionNotFoundException"));
    assert_eq!(
        error.message(),
        Some(format!("Transaction {id} is not found").as_str())
    );
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(404));
}

#[tokio::test]
async fn a_statement_past_the_timeout_is_cancelled_and_reported() {
    let t = TestDb::with(|c| c.statement_timeout = Duration::from_millis(300)).await;
    let (code, _) = raw_error(&t, "SELECT pg_sleep(5)").await;
    assert_eq!(code, "StatementTimeoutException");
    // Our layer treats a timed-out write as final: it may have happened.
    let error =
        t.db.execute(
            "CREATE TABLE slow AS SELECT pg_sleep(5)::text AS slept",
            Params::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DbError::Timeout(_)), "{error:?}");
    // PostgreSQL handles a cancel request asynchronously: give it a moment, far less than
    // the five seconds the statements would sleep.
    let postgres = t.postgres().await;
    let mut active = i64::MAX;
    for _ in 0..20 {
        active = postgres
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(5)%' AND state = 'active' AND pid <> pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        if active == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(active, 0, "the statement was cancelled in PostgreSQL");
}

#[tokio::test]
async fn malformed_requests_get_a_400_with_a_message_and_the_server_lives_on() {
    let t = TestDb::new().await;
    let http = reqwest::Client::new();
    let cases: &[(&str, &str, &str)] = &[
        ("/Execute", "{not json", "Malformed request body"),
        (
            "/Execute",
            r#"{"resourceArn":"a","secretArn":"b"}"#,
            "'sql'",
        ),
        (
            "/Execute",
            r#"{"secretArn":"b","sql":"SELECT 1"}"#,
            "'resourceArn'",
        ),
        (
            "/Execute",
            r#"{"resourceArn":"a","secretArn":"b","sql":"SELECT :x","parameters":[{"name":"x","value":{"longValue":1,"stringValue":"1"}}]}"#,
            "exactly one member",
        ),
        (
            "/Execute",
            r#"{"resourceArn":"a","secretArn":"b","sql":"SELECT :x","parameters":[{"name":"x","value":{"stringValue":"1"},"typeHint":"MONEY"}]}"#,
            "unknown typeHint",
        ),
        (
            "/Execute",
            r#"{"resourceArn":"a","secretArn":"b","sql":"SELECT :x"}"#,
            "No value specified for parameter :x",
        ),
        (
            "/Execute",
            r#"{"resourceArn":"a","secretArn":"b","sql":"SELECT :x","parameters":[{"name":"x","value":{"arrayValue":{"longValues":[1]}}}]}"#,
            "array parameters are not supported",
        ),
        (
            "/Execute",
            r#"{"resourceArn":"a","secretArn":"b","sql":"SELECT 1","formatRecordsAs":"XML"}"#,
            "formatRecordsAs",
        ),
        (
            "/Execute",
            "{\"resourceArn\":\"a\",\"secretArn\":\"b\",\"sql\":\"SELECT 1\\u0000\"}",
            "NUL",
        ),
        ("/BatchExecute", "[]", "Malformed request body"),
        (
            "/CommitTransaction",
            r#"{"resourceArn":"a","secretArn":"b"}"#,
            "'transactionId'",
        ),
        ("/Nonsense", "{}", "Unknown operation"),
    ];
    for (path, body, expected) in cases {
        let reply = http
            .post(format!("{}{path}", t.server.endpoint()))
            .body(*body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 400, "{path} {body}");
        assert_eq!(
            reply.headers()["x-amzn-errortype"],
            "BadRequestException",
            "{path} {body}"
        );
        let message: serde_json::Value = reply.json().await.unwrap();
        let message = message["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{path} {body}: {message}");
    }
    let alive: serde_json::Value =
        t.db.query_one("SELECT 1 AS one", Params::new())
            .await
            .unwrap();
    assert_eq!(alive["one"], 1);
}

#[tokio::test]
async fn requests_up_to_the_services_4_mib_are_accepted_and_larger_ones_refused() {
    let t = TestDb::new().await;
    #[derive(Deserialize)]
    struct Length {
        n: i64,
    }
    let text = "v".repeat(3 * 1024 * 1024);
    let length: Length =
        t.db.query_one(
            "SELECT length(:text) AS n",
            Params::new().bind("text", text.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(length.n, 3 * 1024 * 1024);
    let too_large = "v".repeat(5 * 1024 * 1024);
    assert!(
        t.db.query_one::<Length>(
            "SELECT length(:text) AS n",
            Params::new().bind("text", too_large.as_str())
        )
        .await
        .is_err(),
        "a request past 4 MiB is refused"
    );
}

#[tokio::test]
async fn a_statement_sent_again_reads_fresh_rows_and_follows_a_table_that_changed_shape() {
    // The server keeps statements prepared per connection: what they return must not be.
    let t = TestDb::new().await;
    let table = format!("reshaped_{}", uuid::Uuid::new_v4().simple());
    let run = async |sql: &str| t.db.execute(sql, Params::new()).await.unwrap();
    run(&format!("CREATE TABLE {table} (a int)")).await;
    run(&format!("INSERT INTO {table} VALUES (1)")).await;
    let select = format!("SELECT * FROM {table} ORDER BY a");
    let read =
        async || -> Vec<serde_json::Value> { t.db.query(&select, Params::new()).await.unwrap() };
    for _ in 0..3 {
        assert_eq!(read().await, [serde_json::json!({"a": 1})]);
    }
    run(&format!("INSERT INTO {table} VALUES (2)")).await;
    assert_eq!(
        read().await,
        [serde_json::json!({"a": 1}), serde_json::json!({"a": 2})]
    );
    run(&format!(
        "ALTER TABLE {table} ADD COLUMN b text DEFAULT 'x'"
    ))
    .await;
    assert_eq!(
        read().await,
        [
            serde_json::json!({"a": 1, "b": "x"}),
            serde_json::json!({"a": 2, "b": "x"})
        ]
    );
}
