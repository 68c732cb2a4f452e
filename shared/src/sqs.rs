//! SQS-triggered functions: each message through one per-message function, concurrently,
//! and one batch response that names only the failures (`ReportBatchItemFailures`), so one
//! bad message never fails its batch.

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Runs `handle` on every message, at most `concurrency` at a time.
pub async fn process_batch<F, Fut>(
    event: SqsEvent,
    concurrency: usize,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), AppError>>,
{
    let outcomes: Vec<(Option<String>, Result<(), AppError>)> =
        futures_util::stream::iter(event.records)
            .map(|message| {
                let id = message.message_id.clone();
                let work = handle(message);
                async move { (id, work.await) }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    let mut response = SqsBatchResponse::default();
    for (id, outcome) in outcomes {
        if let Err(error) = outcome {
            tracing::warn!(message_id = id.as_deref().unwrap_or("?"), error = %error.chain(), "Message failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id.unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// How many times SQS has delivered this message (1 on the first delivery).
pub fn receive_count(message: &SqsMessage) -> u32 {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// Parses a message body, refusing what is not the expected JSON with a readable reason.
pub fn parse_body<T: DeserializeOwned>(message: &SqsMessage) -> Result<T, AppError> {
    let body = message.body.as_deref().unwrap_or_default();
    serde_json::from_str(body)
        .map_err(|e| AppError::validation(format!("Malformed message body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, body: &str) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.to_owned());
        message.body = Some(body.to_owned());
        message
    }

    #[tokio::test]
    async fn only_failed_messages_are_reported() {
        let mut event = SqsEvent::default();
        event.records = vec![message("a", "ok"), message("b", "bad"), message("c", "ok")];
        let response = process_batch(event, 2, |m| async move {
            match m.body.as_deref() {
                Some("ok") => Ok(()),
                _ => Err(AppError::validation("bad body")),
            }
        })
        .await;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, vec!["b"]);
    }

    #[test]
    fn receive_counts_come_from_the_message_attributes() {
        let mut m = message("a", "{}");
        assert_eq!(receive_count(&m), 1);
        m.attributes
            .insert("ApproximateReceiveCount".into(), "3".into());
        assert_eq!(receive_count(&m), 3);
        #[derive(serde::Deserialize, Debug)]
        struct Body {
            #[allow(dead_code)]
            x: u8,
        }
        assert!(parse_body::<Body>(&m).is_err());
    }
}
