//! What a request asks: the IAM action(s) and resource ARN(s) AWS would check for it, per
//! service, from the method, path, query, headers and body.

mod json;
mod s3;

use axum::http::{HeaderMap, Method};

use super::evaluate::Request;
use super::principals::{ACCOUNT_ID, CredentialScope};

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

/// `%XX` decoded (invalid UTF-8 replaced); `+` stays a plus, as in a path.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `name=value&...` pairs of a query string or form body, decoded (`+` is a space).
pub fn form_pairs(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    text.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (
            percent_decode(&name.replace('+', " ")),
            percent_decode(&value.replace('+', " ")),
        )
    })
}

/// One decoded parameter of a query string or form body.
pub fn query_param(text: &str, name: &str) -> Option<String> {
    form_pairs(text).find_map(|(n, v)| (n == name).then_some(v))
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

#[cfg(test)]
#[path = "s3_tests.rs"]
mod s3_tests;
