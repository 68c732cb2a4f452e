//! Local IAM end to end: roles through the gateway in front of a real moto, and the Data
//! API server's own check, as the real SDK clients see them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod servers;

use std::sync::Arc;

use aws_sdk_sqs::error::ProvideErrorMetadata;
use serde_json::json;
use studio_local::iam::Principals;

use common::{Moto, role_config, start_gateway};

const ACCOUNT: &str = "123456789012";

#[tokio::test]
async fn a_role_sends_to_its_queue_and_is_refused_another_with_access_denied() {
    let moto = Moto::start().await;
    let principals = Arc::new(Principals::new());
    let gateway = start_gateway(&moto, &principals).await;
    let admin = aws_sdk_sqs::Client::new(&role_config(&gateway.endpoint(), "local", "local"));
    let mine = admin
        .create_queue()
        .queue_name("mine")
        .send()
        .await
        .unwrap();
    let theirs = admin
        .create_queue()
        .queue_name("theirs")
        .send()
        .await
        .unwrap();
    let credentials = principals
        .issue(
            "arn:aws:iam::123456789012:role/sender-role",
            "sender",
            &[json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sqs:SendMessage",
                "Resource": format!("arn:aws:sqs:us-east-1:{ACCOUNT}:mine")
            }]})],
        )
        .unwrap();
    let role = aws_sdk_sqs::Client::new(&role_config(
        &gateway.endpoint(),
        &credentials.access_key_id,
        &credentials.secret_access_key,
    ));

    role.send_message()
        .queue_url(mine.queue_url().unwrap())
        .message_body("hello")
        .send()
        .await
        .unwrap();
    let refused = role
        .send_message()
        .queue_url(theirs.queue_url().unwrap())
        .message_body("hello")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("AccessDenied"), "{refused:?}");
    assert!(
        refused.message().unwrap_or("").contains(
            "assumed-role/sender-role/sender is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:123456789012:theirs"
        ),
        "{refused:?}"
    );
    let not_allowed = role
        .receive_message()
        .queue_url(mine.queue_url().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(not_allowed.code(), Some("AccessDenied"));

    // Nothing refused reached moto: the other queue is still empty.
    let attributes = admin
        .get_queue_attributes()
        .queue_url(theirs.queue_url().unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let waiting = attributes.attributes().unwrap()
        [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages]
        .clone();
    assert_eq!(waiting, "0");
}

#[tokio::test]
async fn an_access_key_no_role_was_issued_is_refused_as_an_invalid_token() {
    let moto = Moto::start().await;
    let principals = Arc::new(Principals::new());
    let gateway = start_gateway(&moto, &principals).await;
    let stranger = aws_sdk_sqs::Client::new(&role_config(&gateway.endpoint(), "AKIASTRANGER", "x"));
    let refused = stranger.list_queues().send().await.unwrap_err();
    assert_eq!(refused.code(), Some("InvalidClientTokenId"), "{refused:?}");
}

#[tokio::test]
async fn an_s3_read_outside_the_role_prefix_is_refused_presigned_too() {
    let moto = Moto::start().await;
    let principals = Arc::new(Principals::new());
    let gateway = start_gateway(&moto, &principals).await;
    let s3 = |key: &str, secret: &str| {
        let config =
            aws_sdk_s3::config::Builder::from(&role_config(&gateway.endpoint(), key, secret))
                .force_path_style(true)
                .build();
        aws_sdk_s3::Client::from_conf(config)
    };
    let admin = s3("local", "local");
    admin.create_bucket().bucket("docs").send().await.unwrap();
    for key in ["repositories/r/a.txt", "exports/b.txt"] {
        admin
            .put_object()
            .bucket("docs")
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"text"))
            .send()
            .await
            .unwrap();
    }
    let credentials = principals
        .issue(
            "arn:aws:iam::123456789012:role/reader-role",
            "reader",
            &[
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                    "Resource": "arn:aws:s3:::docs/repositories/*"}]}),
            ],
        )
        .unwrap();
    let reader = s3(&credentials.access_key_id, &credentials.secret_access_key);

    let read = reader
        .get_object()
        .bucket("docs")
        .key("repositories/r/a.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.body.collect().await.unwrap().into_bytes().as_ref(),
        b"text"
    );
    let refused = reader
        .get_object()
        .bucket("docs")
        .key("exports/b.txt")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("AccessDenied"), "{refused:?}");
    let refused = reader
        .list_objects_v2()
        .bucket("docs")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("AccessDenied"), "{refused:?}");

    let presign =
        aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(300))
            .unwrap();
    let http = reqwest::Client::new();
    let inside = reader
        .get_object()
        .bucket("docs")
        .key("repositories/r/a.txt")
        .presigned(presign.clone())
        .await
        .unwrap();
    assert_eq!(http.get(inside.uri()).send().await.unwrap().status(), 200);
    let outside = reader
        .get_object()
        .bucket("docs")
        .key("exports/b.txt")
        .presigned(presign)
        .await
        .unwrap();
    let response = http.get(outside.uri()).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );
}
