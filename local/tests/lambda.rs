//! The local Lambda holds each invocation to the function's limits as Lambda does: a
//! runtime (`runtime/bootstrap`, a custom runtime that sleeps, allocates or exits when an
//! event asks) is stopped at its `Timeout` and `MemorySize`, a crash fails only its
//! invocation, payloads over Lambda's limits never reach it, and reserved concurrency
//! throttles.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use studio_local::lambda::Reply;
use studio_local::lambda::{Function, FunctionConfig, InvocationType, LambdaError};

fn function(
    timeout_secs: u64,
    memory_mb: u32,
    max_instances: usize,
    throttles: bool,
) -> (Function, PathBuf) {
    let log_dir = std::env::temp_dir().join(format!("lambda-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&log_dir).unwrap();
    let config = FunctionConfig {
        name: "probe".to_owned(),
        binary: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runtime/bootstrap"),
        env: Vec::new(),
        timeout: Duration::from_secs(timeout_secs),
        memory_mb,
        max_instances,
        throttles,
        log_dir: log_dir.clone(),
    };
    (Function::new(config), log_dir.join("probe.log"))
}

async fn call(function: &Function, event: Value) -> Result<Value, LambdaError> {
    match function
        .invoke_as(&event, InvocationType::RequestResponse)
        .await?
    {
        Reply::Json(value) => Ok(value),
        Reply::Stream(_) => panic!("the probe answers buffered"),
    }
}

fn log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test]
async fn an_invocation_past_its_timeout_is_stopped_and_the_next_one_starts_a_new_process() {
    let (function, log_file) = function(1, 128, 1, false);
    let first = call(&function, json!({})).await.unwrap();
    let left = first["msLeft"].as_i64().unwrap();
    assert!(
        left > 0 && left <= 1000,
        "the deadline is the function's Timeout: {left} ms"
    );
    assert_eq!(first["memory"], "128", "MemorySize reaches the runtime");

    let error = call(&function, json!({"sleep": 5})).await.unwrap_err();
    assert!(matches!(error, LambdaError::Timeout { .. }), "{error}");
    assert!(log(&log_file).contains("Task timed out after 1.00 seconds"));

    let after = call(&function, json!({})).await.unwrap();
    assert_ne!(
        after["pid"], first["pid"],
        "a new sandbox serves the next invocation"
    );
    let reports = log(&log_file);
    assert!(reports.matches("Init Duration").count() >= 2, "{reports}");
    function.stop().await;
}

#[tokio::test]
async fn a_process_over_its_memory_size_is_killed_with_lambdas_error() {
    let (function, log_file) = function(20, 64, 1, false);
    let error = call(&function, json!({"allocateMb": 200, "sleep": 2}))
        .await
        .unwrap_err();
    assert!(
        matches!(error, LambdaError::OutOfMemory { limit_mb: 64, .. }),
        "{error}"
    );
    assert_eq!(error.error_type(), "Runtime.OutOfMemory");
    assert!(log(&log_file).contains("Runtime exited with error: signal: killed"));
    assert!(
        call(&function, json!({})).await.is_ok(),
        "the function serves again"
    );
    function.stop().await;
}

#[tokio::test]
async fn a_crash_fails_its_invocation_only() {
    let (function, _) = function(20, 128, 1, false);
    let error = call(&function, json!({"exit": 3})).await.unwrap_err();
    assert!(matches!(error, LambdaError::Crashed { .. }), "{error}");
    assert!(error.to_string().contains("exit status: 3"), "{error}");
    assert!(call(&function, json!({})).await.is_ok());
    function.stop().await;
}

#[tokio::test]
async fn payloads_over_lambdas_limits_are_refused() {
    let (function, log_file) = function(20, 256, 1, false);
    let big = json!({"pad": "x".repeat(6 * 1024 * 1024)});
    let error = call(&function, big).await.unwrap_err();
    assert!(
        matches!(error, LambdaError::RequestTooLarge { .. }),
        "{error}"
    );
    assert!(
        !log(&log_file).contains("REPORT"),
        "the function never saw it"
    );

    let event = json!({"pad": "x".repeat(300 * 1024)});
    let error = function
        .invoke_as(&event, InvocationType::Event)
        .await
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .contains("262144 bytes for the InvokeAsync"),
        "{error}"
    );

    let error = call(&function, json!({"answerBytes": 7 * 1024 * 1024}))
        .await
        .unwrap_err();
    assert!(
        matches!(error, LambdaError::ResponseTooLarge { .. }),
        "{error}"
    );
    function.stop().await;
}

#[tokio::test]
async fn reserved_concurrency_throttles_past_its_instances() {
    let (function, _) = function(20, 128, 1, true);
    let function = Arc::new(function);
    function.warm(1).await.unwrap();
    let busy = {
        let function = Arc::clone(&function);
        tokio::spawn(async move { call(&function, json!({"sleep": 1})).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = call(&function, json!({})).await.unwrap_err();
    assert_eq!(refused, LambdaError::Throttled);
    assert!(busy.await.unwrap().is_ok());
    assert!(call(&function, json!({})).await.is_ok(), "free again");
}

#[tokio::test]
async fn a_function_scales_out_on_demand_and_reuses_the_warmest_instance() {
    let (function, _) = function(20, 128, 3, false);
    let function = Arc::new(function);
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let function = Arc::clone(&function);
            tokio::spawn(async move { call(&function, json!({"sleep": 0.5})).await.unwrap() })
        })
        .collect();
    let mut pids = Vec::new();
    for call in calls {
        pids.push(call.await.unwrap()["pid"].clone());
    }
    pids.sort_by_key(ToString::to_string);
    pids.dedup();
    assert_eq!(pids.len(), 3, "three at once, three instances");
    let one = call(&function, json!({})).await.unwrap()["pid"].clone();
    for _ in 0..3 {
        assert_eq!(call(&function, json!({})).await.unwrap()["pid"], one);
    }
}

#[tokio::test]
async fn an_invocation_whose_caller_went_away_still_returns_its_instance() {
    let (function, _) = function(20, 128, 1, false);
    let abandoned = tokio::time::timeout(
        Duration::from_millis(300),
        call(&function, json!({"sleep": 1})),
    );
    assert!(abandoned.await.is_err(), "the caller gave up");
    let next = tokio::time::timeout(Duration::from_secs(10), call(&function, json!({})))
        .await
        .expect("the only instance came back");
    assert!(next.is_ok());
}
