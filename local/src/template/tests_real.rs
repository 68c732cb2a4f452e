//! The real infra/template.yaml, transformed by SAM and resolved with the local parameters.

use std::path::PathBuf;
use std::time::Duration;

use super::{Deployment, load};
use crate::venv::Venv;

const MOTO: &str = "http://127.0.0.1:4566";

fn venv() -> Venv {
    Venv {
        root: std::env::var_os("STUDIO_VENV").map_or_else(
            || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/venv")),
            PathBuf::from,
        ),
    }
}

async fn real(overrides: &[(&str, &str)]) -> Deployment {
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/template.yaml"
    ));
    let venv = venv();
    let cache = venv.root.join("template-cache");
    load(&path, &overrides, "studio", &venv, Some(&cache))
        .await
        .unwrap()
        .deployment(MOTO)
        .unwrap()
}

fn statements(deployment: &Deployment, function: &str) -> Vec<serde_json::Value> {
    deployment
        .function(function)
        .unwrap()
        .policies
        .iter()
        .flat_map(|p| p["Statement"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn grants(deployment: &Deployment, function: &str, action: &str, resource: &str) -> bool {
    statements(deployment, function).iter().any(|s| {
        let listed = |v: &serde_json::Value, want: &str| match v {
            serde_json::Value::Array(items) => items.iter().any(|i| i == want),
            other => other == want,
        };
        listed(&s["Action"], action) && listed(&s["Resource"], resource)
    })
}

#[tokio::test]
async fn the_real_template_gives_each_function_its_limits_triggers_and_routes() {
    let deployment = real(&[]).await;
    let mut names: Vec<&str> = deployment
        .functions
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "api",
            "chat-stream",
            "db-init",
            "embedding-generator",
            "file-processor",
            "scheduled-executor",
            "textract-processor"
        ]
    );

    let processor = deployment.function("file-processor").unwrap();
    assert_eq!(processor.timeout, Duration::from_secs(150));
    assert_eq!(processor.memory_mb, 1024);
    let source = &processor.sqs[0];
    assert_eq!(
        (
            source.batch_size,
            source.report_batch_item_failures,
            source.maximum_concurrency
        ),
        (5, true, Some(5))
    );
    assert!(
        source
            .queue_url
            .ends_with("/123456789012/studio-FileProcessingQueue")
    );
    assert!(
        processor
            .environment
            .contains(&("MAX_RECEIVE_COUNT".to_owned(), "3".to_owned()))
    );
    assert!(processor.environment.contains(&(
        "DATABASE_RESOURCE_ARN".to_owned(),
        crate::account::LOCAL_CLUSTER_ARN.to_owned()
    )));

    let queue = deployment.queue("FileProcessingQueue").unwrap();
    assert_eq!(queue.visibility_timeout, Duration::from_secs(900));
    let redrive = queue.redrive.as_ref().unwrap();
    assert_eq!(redrive.max_receive_count, 3);
    assert_eq!(
        redrive.dead_letter_arn,
        deployment.queue("FileProcessingDLQ").unwrap().arn
    );

    let api = deployment.function("api").unwrap();
    assert!(
        api.api
            .iter()
            .any(|r| r.method == "ANY" && r.path == "/{proxy+}" && !r.streaming),
        "{:?}",
        api.api
    );
    let chat = deployment.function("chat-stream").unwrap();
    assert!(
        chat.api
            .iter()
            .any(|r| r.method == "POST" && r.path == "/chat" && r.streaming)
    );
    assert!(
        chat.api
            .iter()
            .any(|r| r.method == "GET" && r.path == "/executions/{id}/events" && r.streaming)
    );
    assert!(
        deployment
            .mock_routes
            .iter()
            .any(|r| r.path == "/health" && r.status == 200 && r.body.contains("ok"))
    );

    let executor = deployment.function("scheduled-executor").unwrap();
    assert_eq!(executor.schedules[0].expression, "rate(1 minute)");
    assert_eq!(
        super::parse_schedule(&executor.schedules[0].expression),
        Some(Duration::from_secs(60))
    );
    assert_eq!(executor.sqs[0].maximum_concurrency, Some(10));
}

#[tokio::test]
async fn the_real_template_grants_what_its_policies_say_and_overrides_change_it() {
    let offline = real(&[]).await;
    let bucket = offline.env("DOCUMENTS_BUCKET").unwrap();
    assert_eq!(bucket, "studio-dev-documents-123456789012-us-east-1");
    let objects = format!("arn:aws:s3:::{bucket}/repositories/*");
    assert!(grants(&offline, "api", "s3:PutObject", &objects));
    assert!(!grants(
        &offline,
        "file-processor",
        "s3:PutObject",
        &objects
    ));
    assert!(
        grants(&offline, "file-processor", "logs:PutLogEvents", "*"),
        "the managed basic execution role"
    );
    let model = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0";
    assert!(!grants(
        &offline,
        "embedding-generator",
        "bedrock:InvokeModel",
        model
    ));

    let bedrock = real(&[("EmbeddingProvider", "bedrock")]).await;
    assert!(grants(
        &bedrock,
        "embedding-generator",
        "bedrock:InvokeModel",
        model
    ));
    assert!(grants(&bedrock, "api", "bedrock:InvokeModel", model));
    let api = bedrock.function("api").unwrap();
    assert!(
        api.environment
            .contains(&("EMBEDDING_PROVIDER".to_owned(), "bedrock".to_owned()))
    );
}

#[tokio::test]
async fn the_real_template_names_what_clients_and_tests_need() {
    let deployment = real(&[("EnvironmentName", "t1")]).await;
    for name in [
        "FILE_PROCESSING",
        "EMBEDDING",
        "OCR_COMPLETION",
        "ASSISTANT_RUNS",
    ] {
        let url = deployment.env(&format!("{name}_QUEUE_URL")).unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:4566/123456789012/studio-"),
            "{url}"
        );
        assert!(deployment.env(&format!("{name}_DLQ_URL")).is_some());
    }
    assert_eq!(
        deployment.env("DOCUMENTS_BUCKET"),
        Some("studio-t1-documents-123456789012-us-east-1")
    );
    assert!(deployment.env("SETTINGS_KEY_SECRET_ARN").is_some());
    assert!(deployment.env("DATABASE_SECRET_ARN").is_some());
    assert_eq!(
        deployment.outputs["FileProcessingQueueUrl"],
        deployment.env("FILE_PROCESSING_QUEUE_URL").unwrap()
    );
    assert_eq!(
        deployment.parameters["NotifyFromAddress"],
        "notifications@studio.local"
    );
}

/// The services a function's role lets it call, as the shared crate's adapter features
/// name them.
fn services_granted(deployment: &Deployment, function: &str) -> Vec<&'static str> {
    let settings_key = deployment
        .function(function)
        .unwrap()
        .environment
        .iter()
        .find(|(name, _)| name == "SETTINGS_KEY_SECRET_ARN")
        .map(|(_, arn)| arn.clone());
    let mut services = Vec::new();
    for statement in statements(deployment, function) {
        let actions = match &statement["Action"] {
            serde_json::Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        let resources = match &statement["Resource"] {
            serde_json::Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        for action in actions.iter().filter_map(|a| a.as_str()) {
            let service = match action.split(':').next().unwrap_or_default() {
                "s3" => "s3",
                // Receiving is the event source mapping's poller (it acts with the role);
                // the function's own code only sends.
                "sqs" if action.starts_with("sqs:SendMessage") => "sqs",
                "ses" => "ses",
                "textract" => "textract",
                "bedrock" => "bedrock",
                // Every function reads the database secret (the Data API asks for it with
                // the caller's rights); only the settings key is read through the SDK.
                "secretsmanager"
                    if resources
                        .iter()
                        .any(|r| settings_key.as_deref().is_some_and(|key| r == key)) =>
                {
                    "secrets-manager"
                }
                _ => continue,
            };
            if !services.contains(&service) {
                services.push(service);
            }
        }
    }
    services.sort_unstable();
    services
}

/// The AWS adapter features a function's Cargo.toml turns on in `shared`.
fn adapters_compiled(binary: &str) -> Vec<String> {
    let manifest = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))
        .join(binary)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let line = text
        .lines()
        .find(|line| line.starts_with("shared"))
        .unwrap_or_default();
    let features = line
        .split_once("features = [")
        .map_or("", |(_, rest)| rest.split(']').next().unwrap_or_default());
    let mut features: Vec<String> = features
        .split(',')
        .map(|f| f.trim().trim_matches('"').to_owned())
        .filter(|f| !f.is_empty() && f != "embedded-migrations")
        .collect();
    features.sort_unstable();
    features
}

/// A function compiles exactly the AWS adapters its role may call: one it lacks would fail
/// on AWS although the local stack (one workspace build, every feature) passes; one its
/// role cannot call is weight in the zip. Bedrock embeddings (the template's default) are
/// the configuration that asks for the most.
#[tokio::test]
async fn each_function_compiles_the_aws_adapters_its_role_may_call() {
    let deployment = real(&[("EmbeddingProvider", "bedrock")]).await;
    let mismatched: Vec<String> = deployment
        .functions
        .iter()
        .filter_map(|function| {
            let granted = services_granted(&deployment, &function.name);
            let compiled = adapters_compiled(&function.binary);
            (granted != compiled).then(|| {
                format!(
                    "{}: role grants {granted:?}, Cargo.toml compiles {compiled:?}",
                    function.name
                )
            })
        })
        .collect();
    assert!(mismatched.is_empty(), "{mismatched:#?}");
}
