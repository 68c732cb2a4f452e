//! The api function's real statements from infra/template.yaml, evaluated.

use serde_json::json;

use super::tests::{ask, one};
use super::*;

/// The api function's statements in infra/template.yaml, resolved as CloudFormation would.
fn api_function() -> Vec<Policy> {
    one(json!([
        {"Sid": "DataApi", "Effect": "Allow",
         "Action": ["rds-data:ExecuteStatement", "rds-data:BatchExecuteStatement", "rds-data:BeginTransaction",
                    "rds-data:CommitTransaction", "rds-data:RollbackTransaction"],
         "Resource": "arn:aws:rds:us-east-1:123456789012:cluster:studio-dev"},
        {"Sid": "DatabaseSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-1234-AbCdEf"},
        {"Sid": "Documents", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
         "Resource": "arn:aws:s3:::studio-dev-documents/repositories/*"},
        {"Sid": "Reprocess", "Effect": "Allow", "Action": "sqs:SendMessage",
         "Resource": "arn:aws:sqs:us-east-1:123456789012:studio-dev-file-processing"},
        {"Sid": "SettingsKey", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
         "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:studio-dev-settings-key-XyZ123"}
    ]))
}

#[test]
fn the_api_function_may_read_and_write_documents_under_repositories_only() {
    let p = api_function();
    let key = "arn:aws:s3:::studio-dev-documents/repositories/r/i/guide.md";
    for action in ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"] {
        assert_eq!(evaluate(&p, &ask(action, key)), Decision::Allow, "{action}");
    }
    assert_eq!(
        evaluate(
            &p,
            &ask(
                "s3:GetObject",
                "arn:aws:s3:::studio-dev-documents/exports/x"
            )
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(
            &p,
            &ask("s3:ListBucket", "arn:aws:s3:::studio-dev-documents")
        ),
        Decision::ImplicitDeny
    );
}

#[test]
fn the_api_function_may_queue_reprocessing_but_not_embeddings_nor_receive() {
    let p = api_function();
    let queue = "arn:aws:sqs:us-east-1:123456789012:studio-dev-file-processing";
    assert_eq!(
        evaluate(&p, &ask("sqs:SendMessage", queue)),
        Decision::Allow
    );
    assert_eq!(
        evaluate(&p, &ask("sqs:ReceiveMessage", queue)),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(
            &p,
            &ask(
                "sqs:SendMessage",
                "arn:aws:sqs:us-east-1:123456789012:studio-dev-embedding"
            )
        ),
        Decision::ImplicitDeny
    );
}

#[test]
fn the_api_function_reaches_its_cluster_and_secrets_only() {
    let p = api_function();
    let cluster = "arn:aws:rds:us-east-1:123456789012:cluster:studio-dev";
    assert_eq!(
        evaluate(&p, &ask("rds-data:ExecuteStatement", cluster)),
        Decision::Allow
    );
    assert_eq!(
        evaluate(
            &p,
            &ask(
                "rds-data:ExecuteStatement",
                "arn:aws:rds:us-east-1:123456789012:cluster:other"
            )
        ),
        Decision::ImplicitDeny
    );
    let settings =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:studio-dev-settings-key-XyZ123";
    assert_eq!(
        evaluate(&p, &ask("secretsmanager:PutSecretValue", settings)),
        Decision::Allow
    );
    let db_secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-1234-AbCdEf";
    assert_eq!(
        evaluate(&p, &ask("secretsmanager:PutSecretValue", db_secret)),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&p, &ask("bedrock:InvokeModel", "*")),
        Decision::ImplicitDeny
    );
}
