//! The OCR port: text detection that finishes asynchronously, and Textract's completion
//! notification as it arrives on the OCR completion queue.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

/// The `API` field of a text detection completion.
pub const TEXT_DETECTION_API: &str = "StartDocumentTextDetection";

/// Text detection with an asynchronous completion notification. Adapter:
/// `adapters::aws::TextractOcr` (locally against `studio_local::textract`).
#[async_trait]
pub trait OcrEngine: Send + Sync {
    /// Starts detecting the text of the stored object `key`. The completion, tagged with
    /// `item_id`, arrives later on the OCR completion queue. Returns the job id.
    async fn start(&self, key: &str, item_id: Uuid) -> Result<String, AppError>;

    /// The result of a finished job, every page of it.
    async fn results(&self, completion: &Completion) -> Result<JobResult, AppError>;
}

/// The lines OCR found on one page, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcrPage {
    /// 1-based.
    pub number: u32,
    pub lines: Vec<String>,
}

/// What a finished job yielded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// Pages in order; `page_count` counts blank pages too (what the provider bills).
    Text {
        pages: Vec<OcrPage>,
        page_count: u32,
    },
    /// The provider could not read the document; its reason.
    Failed(String),
}

/// Where the OCR'd object is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DocumentLocation {
    pub s3_object_name: String,
    pub s3_bucket: String,
}

/// Textract's completion notification (the SNS message body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Completion {
    pub job_id: String,
    /// `SUCCEEDED`, `PARTIAL_SUCCESS`, `FAILED` or `ERROR`.
    pub status: String,
    #[serde(rename = "API")]
    pub api: String,
    /// The item id the job was started for.
    #[serde(default)]
    pub job_tag: Option<String>,
    #[serde(default)]
    pub timestamp: Option<i64>,
    pub document_location: DocumentLocation,
}

impl Completion {
    pub fn succeeded(&self) -> bool {
        matches!(self.status.as_str(), "SUCCEEDED" | "PARTIAL_SUCCESS")
    }

    /// Parses an OCR completion queue message: an SNS envelope
    /// (`{"Type":"Notification","Message":"<Textract JSON>"}`) or, with raw message delivery,
    /// Textract's JSON itself.
    pub fn from_message(body: &str) -> Result<Self, AppError> {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(rename = "Type")]
            kind: String,
            #[serde(rename = "Message")]
            message: String,
        }
        let malformed =
            |e: serde_json::Error| AppError::validation(format!("Malformed OCR completion: {e}"));
        let inner = match serde_json::from_str::<Envelope>(body) {
            Ok(envelope) if envelope.kind == "Notification" => envelope.message,
            Ok(envelope) => {
                return Err(AppError::validation(format!(
                    "Not an SNS notification but {:?}",
                    envelope.kind
                )));
            }
            Err(_) => body.to_owned(),
        };
        serde_json::from_str(&inner).map_err(malformed)
    }

    /// This completion as SNS delivers it to an SQS queue (raw delivery off).
    pub fn to_sns_message(&self, topic_arn: &str) -> Result<String, AppError> {
        let message = serde_json::to_string(self).map_err(|e| {
            AppError::internal("The OCR completion could not be written").caused_by(e)
        })?;
        Ok(serde_json::json!({
            "Type": "Notification",
            "MessageId": Uuid::new_v4(),
            "TopicArn": topic_arn,
            "Message": message,
            "Timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "SignatureVersion": "1",
        })
        .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXTRACT: &str = r#"{"JobId":"8a1f","Status":"SUCCEEDED","API":"StartDocumentTextDetection","JobTag":"2b0c8b6e-1f49-4c57-9a43-5d0e6f1a2b3c","Timestamp":1718000000000,"DocumentLocation":{"S3ObjectName":"repositories/a/b/scan.pdf","S3Bucket":"docs"}}"#;

    #[test]
    fn sns_wrapped_and_raw_completions_read_the_same() {
        let raw = Completion::from_message(TEXTRACT).unwrap();
        let wrapped =
            Completion::from_message(&raw.to_sns_message("arn:aws:sns:us-east-1:1:t").unwrap())
                .unwrap();
        assert_eq!(raw, wrapped);
        assert!(raw.succeeded());
        assert_eq!(
            raw.document_location.s3_object_name,
            "repositories/a/b/scan.pdf"
        );
    }

    #[test]
    fn other_sns_messages_are_refused_with_a_reason() {
        let error =
            Completion::from_message(r#"{"Type":"SubscriptionConfirmation","Message":"confirm"}"#)
                .unwrap_err();
        assert!(error.message.contains("SubscriptionConfirmation"));
        assert!(Completion::from_message("{}").is_err());
    }
}
