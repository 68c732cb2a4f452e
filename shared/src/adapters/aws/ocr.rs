//! Textract as the OCR engine: `StartDocumentTextDetection` with an SNS completion
//! channel, then `GetDocumentTextDetection` paged through `NextToken`, LINE blocks kept
//! with their page numbers.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_textract::error::DisplayErrorContext;
use aws_sdk_textract::types::{
    BlockType, DocumentLocation, JobStatus, NotificationChannel, S3Object,
};
use uuid::Uuid;

use crate::error::{AppError, ErrorCode};
use crate::ports::ocr::{Completion, JobResult, OcrEngine, OcrPage};

/// Blocks per `GetDocumentTextDetection` page (Textract's maximum).
const MAX_RESULTS: i32 = 1000;

#[derive(Debug, Clone)]
pub struct TextractOcr {
    client: aws_sdk_textract::Client,
    bucket: String,
    topic_arn: String,
    role_arn: String,
}

impl TextractOcr {
    /// `topic_arn` receives completions; Textract assumes `role_arn` to publish to it.
    pub fn new(
        client: aws_sdk_textract::Client,
        bucket: &str,
        topic_arn: &str,
        role_arn: &str,
    ) -> Self {
        Self {
            client,
            bucket: bucket.to_owned(),
            topic_arn: topic_arn.to_owned(),
            role_arn: role_arn.to_owned(),
        }
    }
}

fn service_error(what: &str, code: Option<&str>, error: impl std::fmt::Display) -> AppError {
    let code = match code {
        Some(
            "ThrottlingException"
            | "ProvisionedThroughputExceededException"
            | "LimitExceededException"
            | "InternalServerError",
        ) => ErrorCode::Unavailable,
        Some(
            "InvalidS3ObjectException"
            | "UnsupportedDocumentException"
            | "DocumentTooLargeException"
            | "BadDocumentException"
            | "InvalidParameterException",
        ) => ErrorCode::UnsupportedMedia,
        Some("InvalidJobIdException") => ErrorCode::NotFound,
        Some("AccessDeniedException" | "InvalidKMSKeyException") => ErrorCode::Internal,
        // No code: the request did not reach Textract (network, timeout).
        _ => ErrorCode::Unavailable,
    };
    AppError::new(code, format!("Textract {what} failed: {error}"))
}

#[async_trait]
impl OcrEngine for TextractOcr {
    async fn start(&self, key: &str, item_id: Uuid) -> Result<String, AppError> {
        let location = DocumentLocation::builder()
            .s3_object(S3Object::builder().bucket(&self.bucket).name(key).build())
            .build();
        let channel = NotificationChannel::builder()
            .sns_topic_arn(&self.topic_arn)
            .role_arn(&self.role_arn)
            .build()
            .map_err(|e| {
                AppError::internal("The Textract request could not be built").caused_by(e)
            })?;
        let started = self
            .client
            .start_document_text_detection()
            .document_location(location)
            .notification_channel(channel)
            .job_tag(item_id.to_string())
            .send()
            .await
            .map_err(|e| {
                let code = e
                    .as_service_error()
                    .and_then(|s| s.meta().code().map(str::to_owned));
                service_error(
                    "StartDocumentTextDetection",
                    code.as_deref(),
                    DisplayErrorContext(e),
                )
            })?;
        started
            .job_id
            .ok_or_else(|| AppError::internal("Textract started a job without a JobId"))
    }

    async fn results(&self, completion: &Completion) -> Result<JobResult, AppError> {
        let mut lines: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        let mut page_count = 0u32;
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_document_text_detection()
                .job_id(&completion.job_id)
                .max_results(MAX_RESULTS)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| {
                    let code = e
                        .as_service_error()
                        .and_then(|s| s.meta().code().map(str::to_owned));
                    service_error(
                        "GetDocumentTextDetection",
                        code.as_deref(),
                        DisplayErrorContext(e),
                    )
                })?;
            match page.job_status() {
                Some(JobStatus::Succeeded | JobStatus::PartialSuccess) => {}
                Some(JobStatus::Failed) => {
                    let reason = page
                        .status_message()
                        .unwrap_or("Textract reported the job as failed without a reason");
                    return Ok(JobResult::Failed(reason.to_owned()));
                }
                other => {
                    return Err(AppError::new(
                        ErrorCode::Unavailable,
                        format!(
                            "Textract job {} is {other:?}, not finished",
                            completion.job_id
                        ),
                    ));
                }
            }
            if let Some(pages) = page.document_metadata().and_then(|m| m.pages()) {
                page_count = page_count.max(u32::try_from(pages).unwrap_or(0));
            }
            for block in page.blocks() {
                if block.block_type() != Some(&BlockType::Line) {
                    continue;
                }
                let (Some(text), Some(number)) = (block.text(), block.page()) else {
                    continue;
                };
                let number = u32::try_from(number).unwrap_or(1).max(1);
                lines.entry(number).or_default().push(text.to_owned());
            }
            next_token = page.next_token().map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
        let last = lines
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
            .max(page_count);
        let pages = (1..=last)
            .map(|number| OcrPage {
                number,
                lines: lines.remove(&number).unwrap_or_default(),
            })
            .collect();
        Ok(JobResult::Text {
            pages,
            page_count: last,
        })
    }
}
