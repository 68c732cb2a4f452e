//! One test per documented evaluation rule.

use serde_json::{Value, json};

use super::*;

fn policies(documents: &[Value]) -> Vec<Policy> {
    Policy::parse_all(documents).unwrap()
}

pub(crate) fn one(statements: Value) -> Vec<Policy> {
    policies(&[json!({"Version": "2012-10-17", "Statement": statements})])
}

pub(crate) fn ask(action: &str, resource: &str) -> Request {
    Request::new(action, vec![resource.to_owned()])
}

#[test]
fn a_request_no_statement_mentions_is_implicitly_denied() {
    let p = one(json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]));
    assert_eq!(
        evaluate(&p, &ask("s3:PutObject", "arn:aws:s3:::b/k")),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&[], &ask("s3:GetObject", "arn:aws:s3:::b/k")),
        Decision::ImplicitDeny
    );
}

#[test]
fn an_allow_that_matches_action_and_resource_allows() {
    let p =
        one(json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/k"}]));
    assert_eq!(
        evaluate(&p, &ask("s3:GetObject", "arn:aws:s3:::b/k")),
        Decision::Allow
    );
}

#[test]
fn an_explicit_deny_overrides_any_allow() {
    let p = policies(&[
        json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        json!({"Statement": [{"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}]}),
    ]);
    assert_eq!(
        evaluate(&p, &ask("s3:DeleteObject", "arn:aws:s3:::b/k")),
        Decision::ExplicitDeny {
            sid: Some("NoDeletes".into())
        }
    );
    assert_eq!(
        evaluate(&p, &ask("s3:GetObject", "arn:aws:s3:::b/k")),
        Decision::Allow
    );
}

#[test]
fn actions_match_case_insensitively_with_wildcards() {
    let p = one(
        json!([{"Effect": "Allow", "Action": ["S3:get*", "sqs:*", "textract:?etDocument*"], "Resource": "*"}]),
    );
    assert_eq!(evaluate(&p, &ask("s3:GetObject", "*")), Decision::Allow);
    assert_eq!(evaluate(&p, &ask("sqs:SendMessage", "*")), Decision::Allow);
    assert_eq!(
        evaluate(&p, &ask("textract:GetDocumentTextDetection", "*")),
        Decision::Allow
    );
    assert_eq!(
        evaluate(&p, &ask("s3:PutObject", "*")),
        Decision::ImplicitDeny
    );
    let everything = one(json!({"Effect": "Allow", "Action": "*", "Resource": "*"}));
    assert_eq!(
        evaluate(&everything, &ask("rds-data:ExecuteStatement", "x")),
        Decision::Allow
    );
}

#[test]
fn resources_match_case_sensitively_with_wildcards() {
    let p = one(
        json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/repositories/*"}),
    );
    assert_eq!(
        evaluate(
            &p,
            &ask("s3:GetObject", "arn:aws:s3:::bucket/repositories/a/b.pdf")
        ),
        Decision::Allow
    );
    assert_eq!(
        evaluate(
            &p,
            &ask("s3:GetObject", "arn:aws:s3:::bucket/Repositories/a")
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&p, &ask("s3:GetObject", "arn:aws:s3:::bucket/other/a")),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&p, &ask("s3:GetObject", "arn:aws:s3:::bucket")),
        Decision::ImplicitDeny
    );
}

#[test]
fn not_action_allows_everything_but_the_named_actions() {
    let p = one(json!({"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "*"}));
    assert_eq!(
        evaluate(&p, &ask("s3:GetObject", "arn:aws:s3:::b/k")),
        Decision::Allow
    );
    assert_eq!(evaluate(&p, &ask("sqs:SendMessage", "q")), Decision::Allow);
    assert_eq!(
        evaluate(&p, &ask("s3:DeleteObject", "arn:aws:s3:::b/k")),
        Decision::ImplicitDeny
    );
}

#[test]
fn not_resource_applies_to_every_resource_but_the_named_ones() {
    let p = one(json!([
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Sid": "OnlyOneBucket", "Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::mine", "arn:aws:s3:::mine/*"]}
    ]));
    assert_eq!(
        evaluate(&p, &ask("s3:GetObject", "arn:aws:s3:::mine/k")),
        Decision::Allow
    );
    assert_eq!(
        evaluate(&p, &ask("s3:GetObject", "arn:aws:s3:::theirs/k")),
        Decision::ExplicitDeny {
            sid: Some("OnlyOneBucket".into())
        }
    );
}

#[test]
fn every_resource_of_a_request_must_be_allowed() {
    let p = one(json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/in/*"}));
    let request = Request::new(
        "s3:DeleteObject",
        vec!["arn:aws:s3:::b/in/1".into(), "arn:aws:s3:::b/out/2".into()],
    );
    assert_eq!(
        refused_resource(&p, &request),
        Some(("arn:aws:s3:::b/out/2".into(), Decision::ImplicitDeny))
    );
}

#[test]
fn a_condition_must_hold_for_its_statement_to_apply() {
    let p = one(json!({
        "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
        "Condition": {"StringEquals": {"iam:PassedToService": "textract.amazonaws.com"}}
    }));
    let passed = |to: &str| ask("iam:PassRole", "r").with_context("iam:PassedToService", &[to]);
    assert_eq!(
        evaluate(&p, &passed("textract.amazonaws.com")),
        Decision::Allow
    );
    assert_eq!(
        evaluate(&p, &passed("lambda.amazonaws.com")),
        Decision::ImplicitDeny
    );
}

#[test]
fn a_condition_key_absent_from_the_request_fails_a_matching_operator() {
    let p = one(json!({
        "Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"StringEquals": {"iam:PassedToService": "textract.amazonaws.com"}}
    }));
    assert_eq!(
        evaluate(&p, &ask("iam:PassRole", "r")),
        Decision::ImplicitDeny
    );
}

#[test]
fn a_condition_key_absent_from_the_request_satisfies_a_negated_operator() {
    // AWS: "If the policy condition requires that the key is not matched, such as
    // StringNotLike or ArnNotLike, and the right key is not present, the condition is true."
    let p = one(json!({
        "Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"StringNotLike": {"aws:PrincipalTag/team": "blocked*"}}
    }));
    assert_eq!(evaluate(&p, &ask("s3:GetObject", "r")), Decision::Allow);
}

#[test]
fn if_exists_holds_when_the_key_is_absent_and_checks_it_when_present() {
    let p = one(json!({
        "Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:SecureTransport": "true"}}
    }));
    assert_eq!(evaluate(&p, &ask("s3:GetObject", "r")), Decision::Allow);
    let plain = ask("s3:GetObject", "r").with_context("aws:SecureTransport", &["false"]);
    assert_eq!(evaluate(&p, &plain), Decision::ImplicitDeny);
}

#[test]
fn values_of_one_key_are_ored_and_keys_and_operators_are_anded() {
    let p = one(json!({
        "Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {
            "StringLike": {"s3:prefix": ["home/*", "shared/*"], "aws:PrincipalTag/team": "a"},
            "Bool": {"aws:SecureTransport": "true"}
        }
    }));
    let base = || {
        ask("s3:ListBucket", "r")
            .with_context("aws:PrincipalTag/team", &["a"])
            .with_context("aws:SecureTransport", &["true"])
    };
    assert_eq!(
        evaluate(&p, &base().with_context("s3:prefix", &["shared/x"])),
        Decision::Allow
    );
    assert_eq!(
        evaluate(&p, &base().with_context("s3:prefix", &["etc/x"])),
        Decision::ImplicitDeny
    );
    let insecure = base()
        .with_context("s3:prefix", &["home/x"])
        .with_context("aws:SecureTransport", &["false"]);
    assert_eq!(evaluate(&p, &insecure), Decision::ImplicitDeny);
}

#[test]
fn a_negated_operator_with_several_values_holds_only_when_none_matches() {
    let p = one(json!({
        "Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}
    }));
    let region = |r: &str| ask("s3:GetObject", "r").with_context("aws:RequestedRegion", &[r]);
    assert_eq!(evaluate(&p, &region("eu-west-1")), Decision::ImplicitDeny);
    assert_eq!(evaluate(&p, &region("ap-south-1")), Decision::Allow);
}

#[test]
fn arn_operators_match_with_wildcards() {
    let p = one(json!({
        "Effect": "Allow", "Action": "sns:Publish", "Resource": "*",
        "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::docs-*"},
                      "ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/api"}}
    }));
    let request = ask("sns:Publish", "t")
        .with_context("aws:SourceArn", &["arn:aws:s3:::docs-dev"])
        .with_context("aws:PrincipalArn", &["arn:aws:iam::123456789012:role/api"]);
    assert_eq!(evaluate(&p, &request), Decision::Allow);
    let other = request
        .clone()
        .with_context("aws:SourceArn", &["arn:aws:s3:::logs"]);
    assert_eq!(evaluate(&p, &other), Decision::ImplicitDeny);
}

#[test]
fn a_secret_asked_for_by_name_matches_its_arn_with_or_without_the_random_suffix() {
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:settings-key";
    let by_name = || {
        Request::new("secretsmanager:GetSecretValue", vec![arn.into()])
            .with_context(SECRET_BY_NAME_KEY, &["true"])
    };
    for pattern in [
        format!("{arn}-AbC123"),
        format!("{arn}-*"),
        format!("{arn}-??????"),
        arn.to_owned(),
    ] {
        let p = one(
            json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": pattern}),
        );
        assert_eq!(evaluate(&p, &by_name()), Decision::Allow, "{pattern}");
    }
    let other = one(
        json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": format!("{arn}-other-AbC123")}),
    );
    assert_eq!(evaluate(&other, &by_name()), Decision::ImplicitDeny);
}

#[test]
fn wildcards_match_runs_and_single_characters() {
    assert!(wildcard_match("a*c", "abbbc"));
    assert!(wildcard_match("a*c", "ac"));
    assert!(wildcard_match("a?c", "abc"));
    assert!(!wildcard_match("a?c", "ac"));
    assert!(wildcard_match("*", ""));
    assert!(wildcard_match("*b*b", "abxbb"));
    assert!(!wildcard_match("abc", "abcd"));
}
