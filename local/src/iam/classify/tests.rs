//! Requests as the SDKs send them -> what IAM checks.

use axum::http::{HeaderMap, HeaderValue, Method};
use serde_json::json;

use super::*;

pub(crate) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

pub(crate) fn one(
    service: &str,
    method: Method,
    path: &str,
    query: &str,
    h: &[(&'static str, &str)],
    body: &[u8],
) -> (String, Vec<String>) {
    let requests = classify(service, &method, path, query, &headers(h), body).unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    (requests[0].action.clone(), requests[0].resources.clone())
}

pub(crate) const LOCAL: (&str, &str) = ("host", "127.0.0.1:4566");

#[test]
fn sqs_json_protocol_names_the_queue_arn_and_batches_as_their_single_action() {
    let body =
        json!({"QueueUrl": "http://127.0.0.1:4566/123456789012/files", "Entries": []}).to_string();
    let (action, resources) = one(
        "sqs",
        Method::POST,
        "/",
        "",
        &[("x-amz-target", "AmazonSQS.SendMessageBatch")],
        body.as_bytes(),
    );
    assert_eq!(action, "sqs:SendMessage");
    assert_eq!(resources, ["arn:aws:sqs:us-east-1:123456789012:files"]);
    for (target, expected) in [
        ("AmazonSQS.DeleteMessageBatch", "sqs:DeleteMessage"),
        (
            "AmazonSQS.ChangeMessageVisibilityBatch",
            "sqs:ChangeMessageVisibility",
        ),
    ] {
        assert_eq!(
            one(
                "sqs",
                Method::POST,
                "/",
                "",
                &[("x-amz-target", target)],
                body.as_bytes()
            )
            .0,
            expected
        );
    }
    let by_name =
        json!({"QueueName": "files", "QueueOwnerAWSAccountId": "111122223333"}).to_string();
    let (action, resources) = one(
        "sqs",
        Method::POST,
        "/",
        "",
        &[("x-amz-target", "AmazonSQS.GetQueueUrl")],
        by_name.as_bytes(),
    );
    assert_eq!(
        (action.as_str(), resources[0].as_str()),
        (
            "sqs:GetQueueUrl",
            "arn:aws:sqs:us-east-1:111122223333:files"
        )
    );
}

#[test]
fn sqs_query_protocol_reads_the_form_body() {
    let body = b"Action=SendMessage&QueueUrl=http%3A%2F%2Flocalhost%3A4566%2F123456789012%2Ffiles&MessageBody=hi";
    let (action, resources) = one("sqs", Method::POST, "/", "", &[], body);
    assert_eq!(
        (action.as_str(), resources[0].as_str()),
        (
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:123456789012:files"
        )
    );
}

#[test]
fn secrets_by_arn_and_by_name() {
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf";
    let body = json!({"SecretId": arn}).to_string();
    let target = [("x-amz-target", "secretsmanager.GetSecretValue")];
    let requests = classify(
        "secretsmanager",
        &Method::POST,
        "/",
        "",
        &headers(&target),
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(requests[0].resources, [arn]);
    assert!(requests[0].context.is_empty());
    let body = json!({"SecretId": "db"}).to_string();
    let requests = classify(
        "secretsmanager",
        &Method::POST,
        "/",
        "",
        &headers(&target),
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(
        requests[0].resources,
        ["arn:aws:secretsmanager:us-east-1:123456789012:secret:db"]
    );
    assert!(
        requests[0]
            .context
            .contains_key(crate::iam::evaluate::SECRET_BY_NAME_KEY)
    );
}

#[test]
fn events_sns_textract_and_ses_name_their_resources() {
    let body = json!({"Entries": [{"Source": "s"}, {"EventBusName": "custom"}]}).to_string();
    let (action, resources) = one(
        "events",
        Method::POST,
        "/",
        "",
        &[("x-amz-target", "AWSEvents.PutEvents")],
        body.as_bytes(),
    );
    assert_eq!(action, "events:PutEvents");
    assert_eq!(
        resources,
        [
            "arn:aws:events:us-east-1:123456789012:event-bus/custom",
            "arn:aws:events:us-east-1:123456789012:event-bus/default"
        ]
    );
    let body =
        b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Adone&Message=x";
    assert_eq!(
        one("sns", Method::POST, "/", "", &[], body).1,
        ["arn:aws:sns:us-east-1:123456789012:done"]
    );
    let (action, resources) = one(
        "textract",
        Method::POST,
        "/",
        "",
        &[("x-amz-target", "Textract.StartDocumentTextDetection")],
        b"{}",
    );
    assert_eq!(
        (action.as_str(), resources[0].as_str()),
        ("textract:StartDocumentTextDetection", "*")
    );
    let body = json!({"FromEmailAddress": "Studio <notifications@studio.local>"}).to_string();
    let (action, resources) = one(
        "ses",
        Method::POST,
        "/v2/email/outbound-emails",
        "",
        &[],
        body.as_bytes(),
    );
    assert_eq!(action, "ses:SendEmail");
    assert_eq!(
        resources,
        ["arn:aws:ses:us-east-1:123456789012:identity/notifications@studio.local"]
    );
}

#[test]
fn bedrock_model_ids_become_foundation_model_or_inference_profile_arns() {
    let (action, resources) = one(
        "bedrock",
        Method::POST,
        "/model/amazon.titan-embed-text-v2%3A0/invoke",
        "",
        &[],
        b"",
    );
    assert_eq!(action, "bedrock:InvokeModel");
    assert_eq!(
        resources,
        ["arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"]
    );
    let (action, resources) = one(
        "bedrock",
        Method::POST,
        "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream",
        "",
        &[],
        b"",
    );
    assert_eq!(action, "bedrock:InvokeModelWithResponseStream");
    assert_eq!(
        resources,
        [
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
        ]
    );
    let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc";
    let path = format!(
        "/model/{}/converse",
        arn.replace(':', "%3A").replace('/', "%2F")
    );
    assert_eq!(one("bedrock", Method::POST, &path, "", &[], b"").1, [arn]);
}

#[test]
fn the_data_api_checks_the_cluster_and_the_secret() {
    let body = json!({"resourceArn": "arn:aws:rds:us-east-1:123456789012:cluster:c", "secretArn": "arn:s", "sql": "SELECT 1"}).to_string();
    let requests = classify(
        "rds-data",
        &Method::POST,
        "/Execute",
        "",
        &HeaderMap::new(),
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(requests[0].action, "rds-data:ExecuteStatement");
    assert_eq!(
        requests[0].resources,
        ["arn:aws:rds:us-east-1:123456789012:cluster:c"]
    );
    assert_eq!(requests[1].action, "secretsmanager:GetSecretValue");
    assert_eq!(requests[1].resources, ["arn:s"]);
}

#[test]
fn an_unknown_operation_is_unclassified_and_says_which() {
    let error = classify("s3", &Method::PATCH, "/docs/k", "", &headers(&[LOCAL]), b"").unwrap_err();
    assert!(error.to_string().contains("PATCH /docs/k"), "{error}");
    assert!(
        classify(
            "lambda",
            &Method::POST,
            "/2015-03-31/functions",
            "",
            &HeaderMap::new(),
            b""
        )
        .is_err()
    );
}
