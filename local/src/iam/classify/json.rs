//! The JSON and query-protocol services: SQS, SNS, Secrets Manager, EventBridge, Textract
//! (by `X-Amz-Target` or `Action=`), and the REST ones: SES v2, Bedrock runtime, Data API.

use axum::http::Method;
use serde_json::Value;

use super::{Arns, Unclassified, form_pairs, percent_decode};
use crate::account::ACCOUNT_ID;
use crate::iam::evaluate::{Request, SECRET_BY_NAME_KEY};

/// `AmazonSQS.SendMessage`, `secretsmanager.GetSecretValue`, `AWSEvents.PutEvents`,
/// `Textract.StartDocumentTextDetection`.
pub fn by_target(
    service: &str,
    target: &str,
    body: &[u8],
    arns: &Arns,
) -> Result<Vec<Request>, Unclassified> {
    let operation = target.rsplit_once('.').map_or(target, |(_, op)| op);
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |name: &str| body[name].as_str().map(str::to_owned);
    let request = match (service, target.split_once('.').map(|(p, _)| p)) {
        ("sqs", Some("AmazonSQS")) => sqs(operation, &field, arns),
        ("secretsmanager", Some("secretsmanager")) => secrets(operation, &body, arns),
        ("events", Some("AWSEvents")) => events(operation, &body, arns),
        ("textract", Some("Textract")) => {
            Request::new(format!("textract:{operation}"), vec!["*".into()])
        }
        _ => return Err(Unclassified::new(service, target)),
    };
    Ok(vec![request])
}

/// `Action=SendMessage&QueueUrl=...` (SQS) or `Action=Publish&TopicArn=...` (SNS), in the
/// form body or the query string.
pub fn query_protocol(
    service: &str,
    query: &str,
    body: &[u8],
    arns: &Arns,
) -> Result<Vec<Request>, Unclassified> {
    let form = String::from_utf8_lossy(body);
    let params: Vec<(String, String)> = form_pairs(query).chain(form_pairs(&form)).collect();
    let field = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let Some(operation) = field("Action") else {
        return Err(Unclassified::new(service, "(no Action)"));
    };
    let request = if service == "sqs" {
        sqs(&operation, &field, arns)
    } else {
        let action = match operation.as_str() {
            "PublishBatch" => "sns:Publish".to_owned(),
            other => format!("sns:{other}"),
        };
        let target = field("TopicArn").or_else(|| field("TargetArn"));
        Request::new(action, vec![target.unwrap_or_else(|| "*".into())])
    };
    Ok(vec![request])
}

fn sqs(operation: &str, field: &dyn Fn(&str) -> Option<String>, arns: &Arns) -> Request {
    let action = match operation {
        "SendMessageBatch" => "SendMessage",
        "DeleteMessageBatch" => "DeleteMessage",
        "ChangeMessageVisibilityBatch" => "ChangeMessageVisibility",
        other => other,
    };
    let queue = match (field("QueueUrl"), field("QueueName")) {
        (Some(url), _) => queue_arn(&url, arns),
        (None, Some(name)) => {
            let owner = field("QueueOwnerAWSAccountId").unwrap_or_else(|| ACCOUNT_ID.to_owned());
            format!("arn:aws:sqs:{}:{owner}:{name}", arns.region)
        }
        (None, None) => "*".to_owned(),
    };
    Request::new(format!("sqs:{action}"), vec![queue])
}

/// `http://host/123456789012/name` -> `arn:aws:sqs:REGION:123456789012:name`.
pub fn queue_arn(url: &str, arns: &Arns) -> String {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let mut segments = path.trim_end_matches('/').rsplit('/');
    match (segments.next(), segments.next()) {
        (Some(name), Some(account)) if !name.is_empty() => {
            format!("arn:aws:sqs:{}:{account}:{name}", arns.region)
        }
        _ => url.to_owned(),
    }
}

fn secrets(operation: &str, body: &Value, arns: &Arns) -> Request {
    let ids: Vec<String> = match (&body["SecretId"], &body["Name"], &body["SecretIdList"]) {
        (Value::String(id), _, _) | (_, Value::String(id), _) => vec![id.clone()],
        (_, _, Value::Array(ids)) => ids
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let by_name = ids.iter().any(|id| !id.starts_with("arn:"));
    let mut resources: Vec<String> = ids
        .iter()
        .map(|id| match id.starts_with("arn:") {
            true => id.clone(),
            false => arns.arn("secretsmanager", &format!("secret:{id}")),
        })
        .collect();
    if resources.is_empty() {
        resources.push("*".into());
    }
    let request = Request::new(format!("secretsmanager:{operation}"), resources);
    if by_name {
        request.with_context(SECRET_BY_NAME_KEY, &["true"])
    } else {
        request
    }
}

fn events(operation: &str, body: &Value, arns: &Arns) -> Request {
    let bus = |name: Option<&str>| match name.filter(|n| !n.is_empty()) {
        Some(arn) if arn.starts_with("arn:") => arn.to_owned(),
        Some(name) => arns.arn("events", &format!("event-bus/{name}")),
        None => arns.arn("events", "event-bus/default"),
    };
    let mut resources: Vec<String> = match operation {
        "PutEvents" => body["Entries"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| bus(e["EventBusName"].as_str()))
                    .collect()
            })
            .unwrap_or_default(),
        _ => match body["Name"].as_str() {
            Some(rule) if operation.contains("Rule") || operation.contains("Targets") => {
                let on = body["EventBusName"].as_str().filter(|b| *b != "default");
                let path = on.map_or(rule.to_owned(), |b| format!("{b}/{rule}"));
                vec![arns.arn("events", &format!("rule/{path}"))]
            }
            _ => vec![bus(body["EventBusName"].as_str())],
        },
    };
    resources.sort();
    resources.dedup();
    if resources.is_empty() {
        resources.push(bus(None));
    }
    Request::new(format!("events:{operation}"), resources)
}

/// SES v2: sending checks the From address's identity.
pub fn ses(
    method: &Method,
    path: &str,
    body: &[u8],
    arns: &Arns,
) -> Result<Vec<Request>, Unclassified> {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let identity = |id: &str| arns.arn("ses", &format!("identity/{id}"));
    let request = match (method.as_str(), path.trim_end_matches('/')) {
        ("POST", "/v2/email/outbound-emails") => {
            let from = body["FromEmailAddressIdentityArn"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| {
                    body["FromEmailAddress"]
                        .as_str()
                        .map(|a| identity(&address(a)))
                })
                .or_else(|| raw_from(&body).map(|a| identity(&address(&a))))
                .unwrap_or_else(|| identity("*"));
            Request::new("ses:SendEmail", vec![from])
        }
        ("GET", "/v2/email/identities") => {
            Request::new("ses:ListEmailIdentities", vec!["*".into()])
        }
        ("POST", "/v2/email/identities") => Request::new(
            "ses:CreateEmailIdentity",
            vec![identity(body["EmailIdentity"].as_str().unwrap_or("*"))],
        ),
        (m, p) => match p.strip_prefix("/v2/email/identities/") {
            Some(id) if m == "GET" => {
                Request::new("ses:GetEmailIdentity", vec![identity(&percent_decode(id))])
            }
            _ => return Err(Unclassified::new("ses", format!("{method} {path}"))),
        },
    };
    Ok(vec![request])
}

/// `Name <a@b>` -> `a@b`.
fn address(from: &str) -> String {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => from[open + 1..close].trim().to_owned(),
        _ => from.trim().to_owned(),
    }
}

/// The `From:` header of a raw MIME message (`Content.Raw.Data`, base64).
fn raw_from(body: &Value) -> Option<String> {
    use base64::Engine;
    let data = body["Content"]["Raw"]["Data"].as_str()?;
    let mime = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    let mime = String::from_utf8_lossy(&mime);
    mime.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("From:").or_else(|| l.strip_prefix("from:")))
        .map(str::to_owned)
}

/// Bedrock runtime: `/model/{id}/{invoke|converse|invoke-with-response-stream|converse-stream}`.
pub fn bedrock(method: &Method, path: &str, arns: &Arns) -> Result<Vec<Request>, Unclassified> {
    let unknown = || Unclassified::new("bedrock", format!("{method} {path}"));
    let (id, operation) = path
        .strip_prefix("/model/")
        .and_then(|rest| rest.rsplit_once('/'))
        .ok_or_else(unknown)?;
    let action = match operation {
        "invoke" | "converse" => "bedrock:InvokeModel",
        "invoke-with-response-stream" | "converse-stream" => {
            "bedrock:InvokeModelWithResponseStream"
        }
        _ => return Err(unknown()),
    };
    Ok(vec![Request::new(
        action,
        vec![model_arn(&percent_decode(id), arns)],
    )])
}

/// A model id's ARN: foundation model, cross-region inference profile (`us.`, `eu.`,
/// `global.`...), or the id itself when it is an ARN.
pub fn model_arn(id: &str, arns: &Arns) -> String {
    const PROFILE_PREFIXES: [&str; 8] = [
        "us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.",
    ];
    if id.starts_with("arn:") {
        id.to_owned()
    } else if PROFILE_PREFIXES.iter().any(|p| id.starts_with(p)) {
        arns.arn("bedrock", &format!("inference-profile/{id}"))
    } else {
        format!("arn:aws:bedrock:{}::foundation-model/{id}", arns.region)
    }
}

/// The Data API checks the cluster action and reads the secret as the caller.
pub fn rds_data(method: &Method, path: &str, body: &[u8]) -> Result<Vec<Request>, Unclassified> {
    let action = match path.trim_end_matches('/') {
        "/Execute" => "rds-data:ExecuteStatement",
        "/BatchExecute" => "rds-data:BatchExecuteStatement",
        "/BeginTransaction" => "rds-data:BeginTransaction",
        "/CommitTransaction" => "rds-data:CommitTransaction",
        "/RollbackTransaction" => "rds-data:RollbackTransaction",
        "/ExecuteSql" => "rds-data:ExecuteSql",
        _ => return Err(Unclassified::new("rds-data", format!("{method} {path}"))),
    };
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let arn = |name: &str| body[name].as_str().unwrap_or("*").to_owned();
    let cluster = arn(if action == "rds-data:ExecuteSql" {
        "dbClusterOrInstanceArn"
    } else {
        "resourceArn"
    });
    let secret = arn(if action == "rds-data:ExecuteSql" {
        "awsSecretStoreArn"
    } else {
        "secretArn"
    });
    Ok(vec![
        Request::new(action, vec![cluster]),
        Request::new("secretsmanager:GetSecretValue", vec![secret]),
    ])
}
