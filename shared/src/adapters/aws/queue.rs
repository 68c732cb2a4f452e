//! SQS as the queue: `SendMessageBatch`, ten messages per call, failures surfaced.

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::error::{AppError, ErrorCode};
use crate::ports::Queue;

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(sdk: &aws_config::SdkConfig, url: &str) -> Self {
        Self {
            client: aws_sdk_sqs::Client::new(sdk),
            url: url.to_owned(),
        }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, bodies: Vec<String>) -> Result<(), AppError> {
        for (batch_index, batch) in bodies.chunks(10).enumerate() {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("m{batch_index}-{i}"))
                        .message_body(body)
                        .build()
                        .map_err(|e| AppError::internal(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    AppError::new(
                        ErrorCode::Unavailable,
                        format!(
                            "SQS SendMessageBatch failed: {}",
                            aws_sdk_sqs::error::DisplayErrorContext(e)
                        ),
                    )
                })?;
            if let Some(failed) = output.failed.first() {
                return Err(AppError::new(
                    ErrorCode::Unavailable,
                    format!(
                        "SQS refused {} message(s): {}",
                        output.failed.len(),
                        failed.message.as_deref().unwrap_or(&failed.code)
                    ),
                ));
            }
        }
        Ok(())
    }
}
