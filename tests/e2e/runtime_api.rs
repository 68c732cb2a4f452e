//! The db-init binary itself, run as Lambda runs it: under the local Runtime API, against a
//! fresh database behind the local Data API server.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use studio_local::runtime_api::{FunctionProcess, InvokeError, RuntimeApi};
use studio_tests::{CLUSTER_ARN, SECRET_ARN, TestDb};

/// The db-init binary of the profile these tests were built with (`scripts/test.sh` builds
/// it first; otherwise it is built here).
fn db_init_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir.join("db-init");
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "db-init", "--bin", "db-init"])
            .status()
            .unwrap();
        assert!(status.success(), "cargo build -p db-init failed");
    }
    binary
}

fn function_env(t: &TestDb) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL_RDS_DATA", t.server.endpoint()),
        ("DATABASE_RESOURCE_ARN", CLUSTER_ARN.to_owned()),
        ("DATABASE_SECRET_ARN", SECRET_ARN.to_owned()),
        ("DATABASE_NAME", t.name.clone()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("DATA_API_RETRY_BUDGET_SECS", "10".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn started(t: &TestDb) -> (RuntimeApi, FunctionProcess) {
    let api = RuntimeApi::start().await.unwrap();
    let mut function = api
        .spawn_function(&db_init_binary(), &function_env(t))
        .unwrap();
    api.wait_ready(&mut function, Duration::from_secs(20))
        .await
        .unwrap();
    (api, function)
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().or(v["name"].as_str()).unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn db_init_binary_reports_status_then_migrates_through_the_runtime_api() {
    let t = TestDb::new().await;
    let (api, function) = started(&t).await;
    let expected: Vec<String> = shared::migrate::embedded()
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();

    let status = api.invoke(&json!({"action": "status"})).await.unwrap();
    assert_eq!(status["isSuccess"], true, "{status}");
    assert_eq!(status["data"]["applied"], json!([]));
    assert_eq!(names(&status["data"]["pending"]), expected);

    let migrated = api.invoke(&json!({"action": "migrate"})).await.unwrap();
    assert_eq!(names(&migrated["data"]["applied"]), expected);
    assert!(t.table_exists("migration_log").await);

    let status = api.invoke(&json!({"action": "status"})).await.unwrap();
    assert_eq!(names(&status["data"]["applied"]), expected);
    assert_eq!(status["data"]["pending"], json!([]));

    assert!(
        function
            .wait_for_log("Migrations done", Duration::from_secs(5))
            .await,
        "db-init logs its outcome: {:?}",
        function.logs()
    );
}

#[tokio::test]
async fn a_malformed_event_fails_as_non_retryable_and_the_function_keeps_serving() {
    let t = TestDb::new().await;
    let (api, _function) = started(&t).await;

    // A custom-resource event with nowhere to answer, and an unknown direct action.
    for event in [json!({"RequestType": "Create"}), json!({"action": "drop"})] {
        match api.invoke(&event).await {
            Err(InvokeError::Function {
                error_type,
                error_message,
            }) => {
                assert_eq!(error_type, "NonRetryable", "{error_message}");
                assert!(error_message.starts_with("validation:"), "{error_message}");
            }
            other => panic!("expected a NonRetryable error for {event}, got {other:?}"),
        }
    }

    let status = api.invoke(&json!({"action": "status"})).await.unwrap();
    assert_eq!(status["isSuccess"], true);
}

#[tokio::test]
async fn db_init_without_its_configuration_fails_init_naming_what_is_missing() {
    let t = TestDb::new().await;
    let api = RuntimeApi::start().await.unwrap();
    let mut env = function_env(&t);
    env.retain(|(k, _)| k != "DATABASE_RESOURCE_ARN");
    env.push(("DATABASE_RESOURCE_ARN".to_owned(), String::new()));
    let mut function = api.spawn_function(&db_init_binary(), &env).unwrap();

    match api.wait_ready(&mut function, Duration::from_secs(20)).await {
        Err(InvokeError::Init(reason)) => {
            assert!(reason.contains("DATABASE_RESOURCE_ARN"), "{reason}");
        }
        other => panic!("expected an init failure, got {other:?}"),
    }
}
