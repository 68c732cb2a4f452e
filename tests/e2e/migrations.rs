//! db-init and the migration runner against a real database: apply once, refuse edits,
//! roll back broken files whole, and always answer CloudFormation.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::put;
use db_init::handler::{Deps, handle};
use serde_json::{Value, json};
use shared::data_api::Params;
use shared::migrate::{self, Migration, MigrationError};
use studio_tests::TestDb;

fn deps(t: &TestDb, migrations: Vec<Migration>) -> Deps {
    Deps {
        db: t.db.clone(),
        migrations,
        http: reqwest::Client::new(),
    }
}

/// A stand-in for CloudFormation's pre-signed response URL: records every PUT body.
struct ResponseUrl {
    url: String,
    received: Arc<Mutex<Vec<Value>>>,
}

async fn response_url() -> ResponseUrl {
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/cfn-response",
            put(
                |State(received): State<Arc<Mutex<Vec<Value>>>>, body: String| async move {
                    received
                        .lock()
                        .unwrap()
                        .push(serde_json::from_str(&body).unwrap_or(Value::String(body)));
                },
            ),
        )
        .with_state(Arc::clone(&received));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cfn-response", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    ResponseUrl { url, received }
}

fn cfn_event(kind: &str, url: &str) -> Value {
    let event = include_str!("../../events/db-init/create.json");
    let mut event: Value = serde_json::from_str(event).unwrap();
    event["RequestType"] = json!(kind);
    event["ResponseURL"] = json!(url);
    event
}

#[tokio::test]
async fn db_init_applies_every_migration_once_and_then_none() {
    let t = TestDb::new().await;
    let migrations = shared::migrate::embedded().unwrap();
    assert!(migrations.len() >= 5, "the schema ships its migrations");
    let deps = deps(&t, migrations.clone());

    let first = handle(json!({"action": "migrate"}), &deps).await.unwrap();
    assert_eq!(first["isSuccess"], true);
    let applied: Vec<&str> = first["data"]["applied"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let names: Vec<&str> = migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(applied, names);

    let second = handle(json!({"action": "migrate"}), &deps).await.unwrap();
    assert_eq!(second["data"]["applied"], json!([]));
    assert_eq!(second["data"]["alreadyApplied"], migrations.len());

    let status = handle(json!({"action": "status"}), &deps).await.unwrap();
    assert_eq!(status["data"]["pending"], json!([]));
    assert_eq!(
        status["data"]["applied"].as_array().unwrap().len(),
        migrations.len()
    );
    for table in [
        "users",
        "teams",
        "ai_models",
        "chunks",
        "embeddings",
        "messages",
        "scheduled_executions",
        "ocr_page_budget",
    ] {
        assert!(t.table_exists(table).await, "{table} exists");
    }
    let roles: Vec<Value> =
        t.db.query("SELECT name FROM roles ORDER BY name", Params::new())
            .await
            .unwrap();
    assert_eq!(
        roles,
        vec![
            json!({"name": "administrator"}),
            json!({"name": "staff"}),
            json!({"name": "student"})
        ]
    );
}

#[tokio::test]
async fn an_edited_migration_stops_the_runner() {
    let t = TestDb::new().await;
    let original = vec![Migration::new("001_a.sql", "CREATE TABLE a (id int);")];
    migrate::migrate(&t.db, &original).await.unwrap();
    let edited = vec![
        Migration::new("001_a.sql", "CREATE TABLE a (id int, extra text);"),
        Migration::new("002_b.sql", "CREATE TABLE b (id int);"),
    ];
    let error = migrate::migrate(&t.db, &edited).await.unwrap_err();
    assert!(
        matches!(error, MigrationError::ChecksumMismatch { ref name, .. } if name == "001_a.sql"),
        "{error}"
    );
    assert!(error.to_string().contains("changed after it was applied"));
    assert!(
        !t.table_exists("b").await,
        "nothing after the edited file ran"
    );
    let status = migrate::status(&t.db, &edited).await.unwrap();
    assert_eq!(status.changed, vec!["001_a.sql"]);
    assert_eq!(status.pending, vec!["002_b.sql"]);
}

#[tokio::test]
async fn a_broken_migration_rolls_back_whole_and_cloudformation_is_told_why() {
    let t = TestDb::new().await;
    let cfn = response_url().await;
    let migrations = vec![
        Migration::new("001_good.sql", "CREATE TABLE good (id int);"),
        Migration::new(
            "002_broken.sql",
            "CREATE TABLE half (id int);\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\nCREATE TABLE broken (id int REFERENCES nowhere (id));",
        ),
    ];
    let outcome = handle(cfn_event("Create", &cfn.url), &deps(&t, migrations))
        .await
        .unwrap();
    assert_eq!(outcome["Status"], "FAILED");

    let received = cfn.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "exactly one response PUT");
    let response = &received[0];
    assert_eq!(response["Status"], "FAILED");
    let reason = response["Reason"].as_str().unwrap();
    assert!(
        reason.contains("002_broken.sql") && reason.contains("statement 3"),
        "{reason}"
    );
    assert!(
        reason.contains("relation \"nowhere\" does not exist"),
        "{reason}"
    );
    assert_eq!(
        response["StackId"],
        "arn:aws:cloudformation:us-east-1:123456789012:stack/studio/guid"
    );
    assert_eq!(response["LogicalResourceId"], "DatabaseMigrations");

    assert!(t.table_exists("good").await);
    assert!(
        !t.table_exists("half").await,
        "the broken file left nothing behind"
    );
    let log: Vec<Value> =
        t.db.query("SELECT name FROM migration_log", Params::new())
            .await
            .unwrap();
    assert_eq!(log, vec![json!({"name": "001_good.sql"})]);
}

#[tokio::test]
async fn create_and_update_answer_success_and_delete_keeps_the_data() {
    let t = TestDb::new().await;
    let cfn = response_url().await;
    let migrations = vec![Migration::new(
        "001_a.sql",
        "CREATE TABLE a (id int);\nDO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM a) THEN INSERT INTO a VALUES (1); END IF; END $$;",
    )];
    let deps = deps(&t, migrations);
    handle(cfn_event("Create", &cfn.url), &deps).await.unwrap();
    handle(cfn_event("Update", &cfn.url), &deps).await.unwrap();
    handle(cfn_event("Delete", &cfn.url), &deps).await.unwrap();
    let received = cfn.received.lock().unwrap().clone();
    let statuses: Vec<&str> = received
        .iter()
        .filter_map(|r| r["Status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["SUCCESS", "SUCCESS", "SUCCESS"]);
    assert!(
        received[0]["Reason"]
            .as_str()
            .unwrap()
            .starts_with("Applied 1 migration(s)")
    );
    assert!(
        received[1]["Reason"]
            .as_str()
            .unwrap()
            .starts_with("Applied 0 migration(s)")
    );
    assert_eq!(
        received[2]["PhysicalResourceId"],
        received[0]["PhysicalResourceId"]
    );
    let rows: Vec<Value> = t.db.query("SELECT id FROM a", Params::new()).await.unwrap();
    assert_eq!(
        rows,
        vec![json!({"id": 1})],
        "the DO block ran once and Delete kept the data"
    );
}

#[tokio::test]
async fn a_malformed_custom_resource_event_fails_the_resource_with_a_reason() {
    let t = TestDb::new().await;
    let cfn = response_url().await;
    let deps = deps(&t, vec![]);
    let event = json!({"RequestType": "Create", "ResponseURL": cfn.url, "LogicalResourceId": "DatabaseMigrations"});
    let error = handle(event, &deps).await.unwrap_err();
    assert_eq!(error.code, shared::ErrorCode::Validation);
    let unknown = json!({"RequestType": "Explode", "ResponseURL": cfn.url, "StackId": "s", "RequestId": "r", "LogicalResourceId": "L"});
    handle(unknown, &deps).await.unwrap();
    let received = cfn.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0]["Status"], "FAILED");
    assert!(
        received[0]["Reason"]
            .as_str()
            .unwrap()
            .contains("missing field `StackId`"),
        "{}",
        received[0]["Reason"]
    );
    assert_eq!(received[1]["Status"], "FAILED");
    assert!(
        received[1]["Reason"]
            .as_str()
            .unwrap()
            .contains("unknown RequestType \"Explode\"")
    );
    let nothing = handle(json!({"hello": "world"}), &deps).await.unwrap_err();
    assert!(
        nothing
            .message
            .contains("expected a CloudFormation custom-resource event")
    );
}

#[tokio::test]
async fn concurrent_runners_apply_each_migration_once() {
    let t = TestDb::new().await;
    let migrations = shared::migrate::embedded().unwrap();
    let (a, b) = tokio::join!(
        migrate::migrate(&t.db, &migrations),
        migrate::migrate(&t.db, &migrations)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.applied.len() + b.applied.len(), migrations.len());
    let log: Vec<Value> =
        t.db.query("SELECT count(*) AS n FROM migration_log", Params::new())
            .await
            .unwrap();
    assert_eq!(log[0]["n"], migrations.len());
}
