//! What a request asks: the IAM action(s) and resource ARN(s) AWS would check for it, per
//! service, from the method, path, query, headers and body.

mod json;
mod s3;

use super::form::{form_pairs, percent_decode};
use axum::http::{HeaderMap, Method};

use super::evaluate::Request;
use super::principals::CredentialScope;
use crate::account::ACCOUNT_ID;

/// A request the classifier does not know: a role's is refused (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the local IAM does not know the {service} operation {operation}")]
pub struct Unclassified {
    pub service: String,
    pub operation: String,
}

impl Unclassified {
    fn new(service: &str, operation: impl Into<String>) -> Self {
        Self {
            service: service.to_owned(),
            operation: operation.into(),
        }
    }
}

/// How a service speaks, which decides the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// S3.
    RestXml,
    /// `Action=...` form posts: SQS's query protocol, SNS.
    Query,
    /// `X-Amz-Target` JSON: SQS (JSON 1.0), Secrets Manager, EventBridge, Textract.
    AwsJson,
    /// Paths and JSON bodies: SES v2, Bedrock runtime, RDS Data API.
    RestJson,
}

impl Protocol {
    pub fn detect(service: &str, headers: &HeaderMap) -> Self {
        if headers.contains_key("x-amz-target") {
            return Self::AwsJson;
        }
        match service {
            "s3" => Self::RestXml,
            "sqs" | "sns" => Self::Query,
            "secretsmanager" | "events" | "textract" => Self::AwsJson,
            _ => Self::RestJson,
        }
    }
}

/// Where a request's ARNs live: the account is always the local one.
#[derive(Debug, Clone)]
pub(crate) struct Arns {
    pub region: String,
}

impl Arns {
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:aws:{service}:{}:{ACCOUNT_ID}:{resource}", self.region)
    }
}

/// The requests AWS would evaluate for this call (several for e.g. S3 CopyObject).
pub fn classify(
    service: &str,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<Request>, Unclassified> {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let arns = Arns {
        region: CredentialScope::from_request(authorization, query)
            .map(|s| s.region)
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".to_owned()),
    };
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    match (service, target) {
        ("s3", _) => s3::classify(method, path, query, headers, body),
        (_, Some(target)) => json::by_target(service, target, body, &arns),
        ("sqs" | "sns", None) => json::query_protocol(service, query, body, &arns),
        ("ses", None) => json::ses(method, path, body, &arns),
        ("bedrock", None) => json::bedrock(method, path, &arns),
        ("rds-data", None) => json::rds_data(method, path, body),
        _ => Err(Unclassified::new(service, format!("{method} {path}"))),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

#[cfg(test)]
#[path = "s3_tests.rs"]
mod s3_tests;
