//! The servers that stand for one service (Data API, Bedrock) check callers themselves.

use std::sync::Arc;

use aws_sdk_rdsdata::error::ProvideErrorMetadata;
use serde_json::json;
use studio_local::iam::Principals;

use crate::common::role_config;

#[tokio::test]
async fn the_data_api_refuses_another_cluster_with_access_denied_exception() {
    let principals = Arc::new(Principals::new());
    let cluster = "arn:aws:rds:us-east-1:123456789012:cluster:studio-dev";
    let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf";
    let credentials = principals
        .issue(
            "arn:aws:iam::123456789012:role/api-role",
            "api",
            &[json!({"Statement": [
                {"Effect": "Allow", "Action": "rds-data:ExecuteStatement", "Resource": cluster},
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}
            ]})],
        )
        .unwrap();
    // Nothing refused touches the database, so none is needed: the allowed call fails later.
    let mut config = studio_local::data_api::ServerConfig::new(
        "host=127.0.0.1 port=1 user=nobody".parse().unwrap(),
        "studio",
    );
    config.iam = Some(Arc::clone(&principals));
    let server =
        studio_local::data_api::DataApiServer::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let client = aws_sdk_rdsdata::Client::new(&role_config(
        &server.endpoint(),
        &credentials.access_key_id,
        &credentials.secret_access_key,
    ));
    let run = |resource: &str, secret: &str| {
        client
            .execute_statement()
            .resource_arn(resource)
            .secret_arn(secret)
            .sql("SELECT 1")
            .send()
    };

    let refused = run("arn:aws:rds:us-east-1:123456789012:cluster:other", secret)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("AccessDeniedException"), "{refused:?}");
    assert!(refused.message().unwrap_or("").contains(
        "rds-data:ExecuteStatement on resource: arn:aws:rds:us-east-1:123456789012:cluster:other"
    ));
    let refused = run(
        cluster,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf",
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Some("AccessDeniedException"), "{refused:?}");
    assert!(
        refused
            .message()
            .unwrap_or("")
            .contains("secretsmanager:GetSecretValue")
    );
    assert_eq!(
        server.requests(),
        0,
        "a refused call reached the server's handlers"
    );

    let allowed = run(cluster, secret).await.unwrap_err();
    assert_ne!(allowed.code(), Some("AccessDeniedException"), "{allowed:?}");
    assert_eq!(server.requests(), 1);

    let stranger =
        aws_sdk_rdsdata::Client::new(&role_config(&server.endpoint(), "AKIASTRANGER", "x"));
    let refused = stranger
        .execute_statement()
        .resource_arn(cluster)
        .secret_arn(secret)
        .sql("SELECT 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some("UnrecognizedClientException"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_bedrock_server_refuses_a_model_the_role_may_not_invoke() {
    let principals = Arc::new(Principals::new());
    let credentials = principals
        .issue(
            "arn:aws:iam::123456789012:role/embed-role",
            "embedder",
            &[json!({"Statement": {"Effect": "Allow", "Action": "bedrock:InvokeModel",
                "Resource": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"}})],
        )
        .unwrap();
    let server = studio_local::bedrock::BedrockServer::start_with_iam(
        "127.0.0.1:0".parse().unwrap(),
        Some(Arc::clone(&principals)),
    )
    .await
    .unwrap();
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00",
        credentials.access_key_id
    );
    let http = reqwest::Client::new();
    let call = |path: &str| {
        http.post(format!("{}{path}", server.endpoint()))
            .header("authorization", &authorization)
            .header("content-type", "application/json")
            .body(r#"{"inputText": "hello"}"#)
            .send()
    };
    let allowed = call("/model/amazon.titan-embed-text-v2%3A0/invoke")
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    let refused = call("/model/cohere.embed-english-v3/invoke").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["x-amzn-errortype"],
        "AccessDeniedException"
    );
    let refused = call("/model/amazon.titan-embed-text-v2%3A0/converse-stream")
        .await
        .unwrap();
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("bedrock:InvokeModelWithResponseStream")
    );
    assert_eq!(server.calls().len(), 1);
}
