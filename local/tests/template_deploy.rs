//! infra/template.yaml deployed into a moto of the test's own, twice, as `studio up` does on
//! every start: the queues, redrive policies, bucket notification and secrets are the
//! template's, and a second deploy keeps what the first created.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use studio_local::account::local_sdk_config;
use studio_local::stack::moto;
use studio_local::template;
use studio_local::venv::Venv;

/// The stack's virtualenv (`studio up` installs it).
fn venv() -> Venv {
    Venv::for_checkout(&PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn deploying_the_template_twice_gives_its_queues_redrive_notifications_and_secrets() {
    let venv = venv();
    let port = free_port();
    let log = std::env::temp_dir().join(format!("moto-template-{port}.log"));
    let service = moto::start(&venv, port, &log).await.unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/template.yaml"
    ));

    let first = template::deploy(&path, &[], "studio", &endpoint, &venv)
        .await
        .unwrap();
    let second = template::deploy(&path, &[], "studio", &endpoint, &venv)
        .await
        .unwrap();
    assert_eq!(first, second, "a second deploy changes nothing");

    let sdk = local_sdk_config(&endpoint);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = first.env("FILE_PROCESSING_QUEUE_URL").unwrap();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "900");
    let redrive: serde_json::Value =
        serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    let dlq = first.queue("FileProcessingDLQ").unwrap();
    assert_eq!(redrive["deadLetterTargetArn"], dlq.arn.as_str());
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "3"
    );
    let dlq_attributes = sqs
        .get_queue_attributes()
        .queue_url(&dlq.url)
        .attribute_names(QueueAttributeName::MessageRetentionPeriod)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(
        dlq_attributes[&QueueAttributeName::MessageRetentionPeriod],
        "1209600"
    );

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = first.env("DOCUMENTS_BUCKET").unwrap();
    let notifications = s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let queues = notifications.queue_configurations();
    assert_eq!(queues.len(), 1);
    assert_eq!(
        queues[0].queue_arn(),
        first.queue("FileProcessingQueue").unwrap().arn
    );
    assert_eq!(queues[0].events()[0].as_str(), "s3:ObjectCreated:*");
    let rule = &queues[0].filter().unwrap().key().unwrap().filter_rules()[0];
    assert_eq!(rule.value(), Some("repositories/"));

    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let key = secrets
        .get_secret_value()
        .secret_id(first.env("SETTINGS_KEY_SECRET_ARN").unwrap())
        .send()
        .await
        .unwrap()
        .secret_string
        .unwrap();
    assert_eq!(key.len(), 64);
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
    let database = secrets
        .get_secret_value()
        .secret_id(first.env("DATABASE_SECRET_ARN").unwrap())
        .send()
        .await
        .unwrap()
        .secret_string
        .unwrap();
    let database: serde_json::Value = serde_json::from_str(&database).unwrap();
    assert_eq!(
        database,
        serde_json::json!({ "username": "postgres", "password": "" })
    );

    service.stop(Duration::from_secs(10)).await;
    let _ = std::fs::remove_file(&log);
}
