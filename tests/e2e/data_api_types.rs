//! Every PostgreSQL type the data model uses survives a round trip through the real SDK
//! client, the local Data API server and our layer; transactions commit and roll back.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use shared::data_api::{DbError, Decimal, Params, TextArray, Vector};
use studio_tests::TestDb;
use uuid::Uuid;

const TABLE: &str = "CREATE TABLE everything (
    id uuid PRIMARY KEY,
    title text,
    big int8,
    ratio float8,
    flag bool,
    price numeric(14,6),
    doc jsonb,
    at timestamptz,
    day date,
    tags text[],
    raw bytea,
    embedding vector(3)
)";

#[derive(Debug, Deserialize, PartialEq)]
struct Everything {
    id: Uuid,
    title: Option<String>,
    big: Option<i64>,
    ratio: Option<f64>,
    flag: Option<bool>,
    price: Option<Decimal>,
    doc: Option<serde_json::Value>,
    at: Option<DateTime<Utc>>,
    day: Option<NaiveDate>,
    tags: Option<Vec<Option<String>>>,
    raw: Option<Vec<u8>>,
    embedding: Option<String>,
}

const INSERT: &str = "INSERT INTO everything (id, title, big, ratio, flag, price, doc, at, day, tags, raw, embedding)
    VALUES (:id, :title, :big, :ratio, :flag, :price, :doc::jsonb, :at, :day, :tags::text[], :raw, :embedding::vector)";

const SELECT: &str = "SELECT id, title, big, ratio, flag, price, doc, at, day, tags, raw, embedding::text AS embedding
    FROM everything WHERE id = :id";

#[tokio::test]
async fn every_type_of_the_data_model_round_trips() {
    let t = TestDb::new().await;
    t.db.execute("CREATE EXTENSION IF NOT EXISTS vector", Params::new())
        .await
        .unwrap();
    t.db.execute(TABLE, Params::new()).await.unwrap();
    let id = Uuid::new_v4();
    let at = DateTime::parse_from_rfc3339("2026-03-29T01:30:15.123456Z")
        .unwrap()
        .with_timezone(&Utc);
    let doc = json!({"title": "Über straße ✓ 你好", "nested": {"list": [1, 2.5, null, {"deep": true}]}, "emoji": "🚀"});
    let written =
        t.db.execute(
            INSERT,
            Params::new()
                .bind("id", id)
                .bind("title", "Grüße, 'quoted' and \"double\"")
                .bind("big", 9_007_199_254_740_993_i64)
                .bind("ratio", -1.5e-7)
                .bind("flag", true)
                .bind("price", Decimal("12345678.123456".into()))
                .bind("doc", &doc)
                .bind("at", at)
                .bind("day", NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
                .bind(
                    "tags",
                    TextArray(vec!["a,b".into(), "with \"quote\"".into(), "ü".into()]),
                )
                .bind("raw", vec![0u8, 1, 2, 255, 0])
                .bind("embedding", Vector(vec![0.25, -1.0, 3.5])),
        )
        .await
        .unwrap();
    assert_eq!(written.rows_updated, 1);

    let row: Everything =
        t.db.query_one(SELECT, Params::new().bind("id", id))
            .await
            .unwrap();
    assert_eq!(
        row,
        Everything {
            id,
            title: Some("Grüße, 'quoted' and \"double\"".into()),
            big: Some(9_007_199_254_740_993),
            ratio: Some(-1.5e-7),
            flag: Some(true),
            price: Some(Decimal("12345678.123456".into())),
            doc: Some(doc),
            at: Some(at),
            day: NaiveDate::from_ymd_opt(2024, 2, 29),
            tags: Some(vec![
                Some("a,b".into()),
                Some("with \"quote\"".into()),
                Some("ü".into())
            ]),
            raw: Some(vec![0, 1, 2, 255, 0]),
            embedding: Some("[0.25,-1,3.5]".into()),
        }
    );
}

#[tokio::test]
async fn nulls_round_trip_in_every_column() {
    let t = TestDb::new().await;
    t.db.execute("CREATE EXTENSION IF NOT EXISTS vector", Params::new())
        .await
        .unwrap();
    t.db.execute(TABLE, Params::new()).await.unwrap();
    let id = Uuid::new_v4();
    let none = None::<String>;
    t.db.execute(
        INSERT,
        Params::new()
            .bind("id", id)
            .bind("title", none.clone())
            .bind("big", None::<i64>)
            .bind("ratio", None::<f64>)
            .bind("flag", None::<bool>)
            .bind("price", None::<Decimal>)
            .bind("doc", None::<serde_json::Value>)
            .bind("at", None::<DateTime<Utc>>)
            .bind("day", None::<NaiveDate>)
            .bind("tags", None::<TextArray>)
            .bind("raw", None::<Vec<u8>>)
            .bind("embedding", None::<Vector>),
    )
    .await
    .unwrap();
    let row: Everything =
        t.db.query_one(SELECT, Params::new().bind("id", id))
            .await
            .unwrap();
    assert_eq!(row.id, id);
    assert!(row.title.is_none() && row.big.is_none() && row.ratio.is_none() && row.flag.is_none());
    assert!(row.price.is_none() && row.doc.is_none() && row.at.is_none() && row.day.is_none());
    assert!(row.tags.is_none() && row.raw.is_none() && row.embedding.is_none());
}

#[tokio::test]
async fn a_string_without_a_uuid_hint_fails_as_it_does_on_aws() {
    let t = TestDb::new().await;
    t.db.execute("CREATE TABLE things (id uuid PRIMARY KEY)", Params::new())
        .await
        .unwrap();
    let error =
        t.db.execute(
            "INSERT INTO things (id) VALUES (:id)",
            Params::new().bind("id", Uuid::new_v4().to_string()),
        )
        .await
        .unwrap_err();
    match error {
        DbError::Database { message, sql_state } => {
            assert!(
                message.contains(
                    "column \"id\" is of type uuid but expression is of type character varying"
                ),
                "{message}"
            );
            assert_eq!(sql_state.as_deref(), Some("42804"));
        }
        other => panic!("expected a database error, got {other:?}"),
    }
    // With the hint, or with an explicit cast, the same value goes in.
    let id = Uuid::new_v4();
    t.db.execute(
        "INSERT INTO things (id) VALUES (:id)",
        Params::new().bind("id", id),
    )
    .await
    .unwrap();
    t.db.execute(
        "INSERT INTO things (id) VALUES (:id::uuid)",
        Params::new().bind("id", Uuid::new_v4().to_string()),
    )
    .await
    .unwrap();
    let count: Vec<serde_json::Value> =
        t.db.query("SELECT count(*) AS n FROM things", Params::new())
            .await
            .unwrap();
    assert_eq!(count[0]["n"], 2);
}

#[tokio::test]
async fn a_transaction_commits_on_ok_and_rolls_back_on_err() {
    let t = TestDb::new().await;
    t.db.execute("CREATE TABLE notes (body text NOT NULL)", Params::new())
        .await
        .unwrap();

    let kept: Result<i64, DbError> =
        t.db.transaction(async |tx| {
            tx.execute("INSERT INTO notes VALUES ('kept 1')", Params::new())
                .await?;
            tx.execute("INSERT INTO notes VALUES ('kept 2')", Params::new())
                .await?;
            let n: Vec<serde_json::Value> = tx
                .query("SELECT count(*) AS n FROM notes", Params::new())
                .await?;
            Ok(n[0]["n"].as_i64().unwrap_or_default())
        })
        .await;
    assert_eq!(kept.unwrap(), 2, "the transaction sees its own writes");

    #[derive(Debug)]
    struct Refused;
    impl From<DbError> for Refused {
        fn from(_: DbError) -> Self {
            Refused
        }
    }
    let discarded: Result<(), Refused> =
        t.db.transaction(async |tx| {
            tx.execute("INSERT INTO notes VALUES ('discarded')", Params::new())
                .await?;
            Err(Refused)
        })
        .await;
    assert!(discarded.is_err());

    let failed: Result<(), DbError> =
        t.db.transaction(async |tx| {
            tx.execute("INSERT INTO notes VALUES ('also discarded')", Params::new())
                .await?;
            tx.execute("INSERT INTO notes VALUES (NULL)", Params::new())
                .await?;
            Ok(())
        })
        .await;
    assert_eq!(failed.unwrap_err().sql_state(), Some("23502"));

    let rows = t
        .postgres()
        .await
        .query("SELECT body FROM notes ORDER BY body", &[])
        .await
        .unwrap();
    let bodies: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(bodies, vec!["kept 1", "kept 2"]);
}

#[tokio::test]
async fn batch_execute_writes_every_set_in_one_call() {
    let t = TestDb::new().await;
    t.db.execute(
        "CREATE TABLE items (id uuid PRIMARY KEY, n int NOT NULL)",
        Params::new(),
    )
    .await
    .unwrap();
    let sets: Vec<Params> = (0..50)
        .map(|n| Params::new().bind("id", Uuid::new_v4()).bind("n", n))
        .collect();
    let before = t.server.requests();
    let written =
        t.db.batch_execute("INSERT INTO items (id, n) VALUES (:id, :n)", &sets)
            .await
            .unwrap();
    assert_eq!(written, 50);
    assert_eq!(
        t.server.requests() - before,
        1,
        "one Data API call for the whole batch"
    );
    let sum: serde_json::Value =
        t.db.query_one("SELECT sum(n)::int8 AS s FROM items", Params::new())
            .await
            .unwrap();
    assert_eq!(sum["s"], 1225);
}
