//! SQS as the queue: `SendMessageBatch`, up to ten messages and 256 KiB per call,
//! failures surfaced.

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::error::{AppError, ErrorCode};
use crate::ports::Queue;

/// What one `SendMessageBatch` may carry: ten messages, 256 KiB of bodies in all.
const BATCH_MESSAGES: usize = 10;
const BATCH_BYTES: usize = 256 * 1024;

/// `bodies` in order, cut into groups one `SendMessageBatch` accepts.
fn batches(bodies: &[String]) -> Vec<&[String]> {
    let (mut groups, mut start, mut bytes) = (Vec::new(), 0, 0);
    for (i, body) in bodies.iter().enumerate() {
        if i > start && (i - start == BATCH_MESSAGES || bytes + body.len() > BATCH_BYTES) {
            groups.push(&bodies[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += body.len();
    }
    if start < bodies.len() {
        groups.push(&bodies[start..]);
    }
    groups
}

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
        for (batch_index, batch) in batches(&bodies).into_iter().enumerate() {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("m{batch_index}-{i}"))
                        .message_body(body)
                        .build()
                        .map_err(|e| {
                            AppError::internal("A queue message could not be built").caused_by(e)
                        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_ten_messages_and_256_kib_at_most() {
        let small: Vec<String> = (0..23).map(|i| i.to_string()).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [10, 10, 3]);
        let large: Vec<String> = (0..3).map(|_| "x".repeat(160 * 1024)).collect();
        let sizes: Vec<usize> = batches(&large).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [1, 1, 1]);
        assert!(batches(&[]).is_empty());
    }
}
