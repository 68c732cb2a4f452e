//! The bodies of StartDocumentTextDetection and GetDocumentTextDetection, read and checked
//! against Textract's constraints (required members, lengths, patterns).

use serde::Deserialize;

use super::constraints::{arn_of, check, is_token_char};
use super::errors::TextractError;
use super::results::MAX_RESULTS;

/// A checked StartDocumentTextDetection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub bucket: String,
    pub key: String,
    pub version: Option<String>,
    pub job_tag: Option<String>,
    pub client_request_token: Option<String>,
    pub channel: Option<Channel>,
}

/// Where the completion goes: the topic, and the role Textract publishes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub topic_arn: String,
    pub role_arn: String,
}

/// A checked GetDocumentTextDetection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Get {
    pub job_id: String,
    pub max_results: usize,
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartBody {
    document_location: Option<LocationBody>,
    client_request_token: Option<String>,
    job_tag: Option<String>,
    notification_channel: Option<ChannelBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LocationBody {
    s3_object: Option<ObjectBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ObjectBody {
    bucket: Option<String>,
    name: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChannelBody {
    #[serde(rename = "SNSTopicArn")]
    sns_topic_arn: Option<String>,
    role_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetBody {
    job_id: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub fn start(body: &[u8]) -> Result<Start, TextractError> {
    let body: StartBody = serde_json::from_slice(body).map_err(TextractError::serialization)?;
    let object = body
        .document_location
        .and_then(|l| l.s3_object)
        .ok_or_else(|| TextractError::invalid_parameter("Request has invalid parameters"))?;
    let (Some(bucket), Some(key)) = (object.bucket, object.name) else {
        return Err(TextractError::invalid_parameter(
            "Request has invalid parameters",
        ));
    };
    check(
        "documentLocation.s3Object.bucket",
        &bucket,
        (1, 255),
        |c| c.is_ascii_alphanumeric() || ".-_".contains(c),
        "[0-9A-Za-z\\.\\-_]*",
    )?;
    // `.*\S.*`: any characters, not only white space.
    let blank = key.trim().is_empty();
    check(
        "documentLocation.s3Object.name",
        &key,
        (1, 1024),
        |c| !blank || !c.is_whitespace(),
        ".*\\S.*",
    )?;
    if let Some(tag) = &body.job_tag {
        check(
            "jobTag",
            tag,
            (1, 64),
            |c| c.is_ascii_alphanumeric() || "_.-:".contains(c),
            "[a-zA-Z0-9_.\\-:]+",
        )?;
    }
    if let Some(token) = &body.client_request_token {
        check(
            "clientRequestToken",
            token,
            (1, 64),
            is_token_char,
            "^[a-zA-Z0-9-_]+$",
        )?;
    }
    let channel = match body.notification_channel {
        None => None,
        Some(ChannelBody {
            sns_topic_arn: Some(topic_arn),
            role_arn: Some(role_arn),
        }) => {
            if !arn_of(&topic_arn, "sns") {
                return Err(TextractError::validation(
                    "notificationChannel.sNSTopicArn",
                    "Member must satisfy regular expression pattern: (^arn:([a-z\\d-]+):sns:[a-zA-Z\\d-]{1,20}:\\w{12}:.+$)",
                ));
            }
            if !arn_of(&role_arn, "iam") || !role_arn.contains(":role/") {
                return Err(TextractError::validation(
                    "notificationChannel.roleArn",
                    "Member must satisfy regular expression pattern: arn:([a-z\\d-]+):iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
                ));
            }
            Some(Channel {
                topic_arn,
                role_arn,
            })
        }
        Some(_) => {
            return Err(TextractError::invalid_parameter(
                "Request has invalid parameters: a NotificationChannel needs SNSTopicArn and RoleArn",
            ));
        }
    };
    Ok(Start {
        bucket,
        key,
        version: object.version,
        job_tag: body.job_tag,
        client_request_token: body.client_request_token,
        channel,
    })
}

pub fn get(body: &[u8]) -> Result<Get, TextractError> {
    let body: GetBody = serde_json::from_slice(body).map_err(TextractError::serialization)?;
    let job_id = body
        .job_id
        .ok_or_else(|| TextractError::invalid_parameter("Request has invalid parameters"))?;
    check("jobId", &job_id, (1, 64), is_token_char, "^[a-zA-Z0-9-_]+$")?;
    let max_results = match body.max_results {
        None => MAX_RESULTS,
        Some(n) if n < 1 => {
            return Err(TextractError::validation(
                "maxResults",
                "Member must have value greater than or equal to 1",
            ));
        }
        // Textract returns at most 1000 whatever is asked.
        Some(n) => usize::try_from(n).unwrap_or(MAX_RESULTS).min(MAX_RESULTS),
    };
    if let Some(token) = &body.next_token
        && token.len() > 255
    {
        return Err(TextractError::validation(
            "nextToken",
            "Member must have length less than or equal to 255",
        ));
    }
    Ok(Get {
        job_id,
        max_results,
        next_token: body.next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = r#"{"DocumentLocation":{"S3Object":{"Bucket":"docs","Name":"repositories/r/i/scan.pdf"}},
        "NotificationChannel":{"SNSTopicArn":"arn:aws:sns:us-east-1:123456789012:textract","RoleArn":"arn:aws:iam::123456789012:role/textract-publish"},
        "JobTag":"2b0c8b6e-1f49-4c57-9a43-5d0e6f1a2b3c"}"#;

    fn with(field: &str, value: serde_json::Value) -> Vec<u8> {
        let mut body: serde_json::Value = serde_json::from_str(START).unwrap();
        let mut at = &mut body;
        let mut parts = field.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                at[part] = value.clone();
                break;
            }
            at = &mut at[part];
        }
        body.to_string().into_bytes()
    }

    #[test]
    fn a_start_request_as_the_sdk_sends_it_is_read_whole() {
        let start = start(START.as_bytes()).unwrap();
        assert_eq!(
            (start.bucket.as_str(), start.key.as_str()),
            ("docs", "repositories/r/i/scan.pdf")
        );
        assert_eq!(
            start.job_tag.as_deref(),
            Some("2b0c8b6e-1f49-4c57-9a43-5d0e6f1a2b3c")
        );
        assert_eq!(
            start.channel.unwrap().topic_arn,
            "arn:aws:sns:us-east-1:123456789012:textract"
        );
    }

    #[test]
    fn a_start_request_textract_would_refuse_is_refused_with_its_exception() {
        let kind = |body: Vec<u8>| start(&body).unwrap_err().kind;
        assert_eq!(
            kind(with(
                "DocumentLocation.S3Object",
                serde_json::json!({"Bucket": "docs"})
            )),
            "InvalidParameterException"
        );
        assert_eq!(
            kind(with("JobTag", serde_json::json!("item id with spaces"))),
            "ValidationException"
        );
        assert_eq!(
            kind(with("JobTag", serde_json::json!("x".repeat(65)))),
            "ValidationException"
        );
        assert_eq!(
            kind(with(
                "NotificationChannel",
                serde_json::json!({"SNSTopicArn": "arn:aws:sns:us-east-1:123456789012:t"})
            )),
            "InvalidParameterException"
        );
        assert_eq!(
            kind(with(
                "NotificationChannel.SNSTopicArn",
                serde_json::json!("my-topic")
            )),
            "ValidationException"
        );
        assert_eq!(
            kind(with(
                "NotificationChannel.RoleArn",
                serde_json::json!("arn:aws:iam::123:role/x")
            )),
            "ValidationException"
        );
        assert_eq!(
            kind(with("ClientRequestToken", serde_json::json!("a/b"))),
            "ValidationException"
        );
        assert_eq!(kind(b"{not json".to_vec()), "SerializationException");
    }

    #[test]
    fn a_get_request_defaults_to_a_thousand_blocks_and_never_gives_more() {
        let read = |body: &str| get(body.as_bytes());
        assert_eq!(read(r#"{"JobId":"abc"}"#).unwrap().max_results, 1000);
        assert_eq!(
            read(r#"{"JobId":"abc","MaxResults":5000}"#)
                .unwrap()
                .max_results,
            1000
        );
        assert_eq!(
            read(r#"{"JobId":"abc","MaxResults":7}"#)
                .unwrap()
                .max_results,
            7
        );
        assert_eq!(
            read(r#"{"JobId":"abc","MaxResults":0}"#).unwrap_err().kind,
            "ValidationException"
        );
        assert_eq!(read(r#"{}"#).unwrap_err().kind, "InvalidParameterException");
    }
}
