//! What invokes a function besides the front door: SQS event source mappings (batch size,
//! batching window, partial batch responses, maximum concurrency) and EventBridge
//! schedules, as the template configures them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::{Value, json};

use super::Reply;
use super::{Function, InvocationType};

/// An `AWS::Lambda::EventSourceMapping` from an SQS queue.
#[derive(Debug, Clone)]
pub struct QueueMapping {
    pub queue_url: String,
    pub queue_arn: String,
    /// Messages per invocation (SQS returns at most 10 per receive; larger batches gather
    /// several receives within the batching window).
    pub batch_size: u32,
    pub batching_window: Duration,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`: only the messages the function
    /// names come back; otherwise a failed invocation returns the whole batch.
    pub report_batch_item_failures: bool,
    /// Batches in flight at once (`ScalingConfig.MaximumConcurrency`).
    pub concurrency: usize,
}

/// Polls the queue like the mapping's pollers: `concurrency` of them, each receiving a
/// batch, invoking the function and deleting what succeeded; failures reappear after the
/// queue's visibility timeout, and its redrive policy moves them to the DLQ after
/// maxReceiveCount.
pub fn map_queue(
    sqs: aws_sdk_sqs::Client,
    mapping: QueueMapping,
    function: Arc<Function>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mapping = Arc::new(mapping);
    (0..mapping.concurrency.max(1))
        .map(|_| {
            let (sqs, mapping, function) = (sqs.clone(), Arc::clone(&mapping), Arc::clone(&function));
            tokio::spawn(async move {
                loop {
                    if let Err(error) = poll_once(&sqs, &mapping, &function).await {
                        tracing::warn!(queue = %mapping.queue_url, error = %error, "Polling failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            })
        })
        .collect()
}

/// Sends `function` an EventBridge Scheduled Event every `every`, asynchronously, as a
/// `rate()` rule does.
pub fn schedule(
    every: Duration,
    rule_arn: String,
    function: Arc<Function>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        loop {
            interval.tick().await;
            let event = json!({
                "version": "0", "id": uuid::Uuid::new_v4().to_string(),
                "detail-type": "Scheduled Event", "source": "aws.events",
                "account": "123456789012", "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "region": "us-east-1", "resources": [rule_arn],
                "detail": {},
            });
            if let Err(error) = function.invoke_as(&event, InvocationType::Event).await {
                tracing::warn!(%error, "The scheduled invocation failed");
            }
        }
    })
}

/// One batch: up to `batch_size` messages, gathered for at most the batching window.
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    mapping: &QueueMapping,
) -> anyhow::Result<Vec<Message>> {
    let wanted = mapping.batch_size.max(1) as usize;
    let mut messages: Vec<Message> = Vec::new();
    let window_ends = Instant::now() + mapping.batching_window;
    loop {
        // Long polls of 20 s while nothing is gathered, as a mapping's: a message that
        // arrives wakes the poll at once, and an idle queue costs one request per 20 s.
        let wait = if messages.is_empty() {
            20
        } else {
            let left = window_ends.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            i32::try_from(left.as_secs().clamp(1, 20)).unwrap_or(20)
        };
        let received = sqs
            .receive_message()
            .queue_url(&mapping.queue_url)
            .max_number_of_messages(i32::try_from((wanted - messages.len()).min(10)).unwrap_or(10))
            .wait_time_seconds(wait)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await?;
        messages.extend(received.messages.unwrap_or_default());
        if messages.len() >= wanted || mapping.batching_window.is_zero() && !messages.is_empty() {
            break;
        }
    }
    Ok(messages)
}

async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    mapping: &QueueMapping,
    function: &Function,
) -> anyhow::Result<()> {
    let messages = receive(sqs, mapping).await?;
    if messages.is_empty() {
        return Ok(());
    }
    let records: Vec<Value> = messages
        .iter()
        .map(|m| record(m, &mapping.queue_arn))
        .collect();
    let all: Vec<&str> = messages
        .iter()
        .filter_map(|m| m.message_id.as_deref())
        .collect();
    let failed: Vec<&str> = match function
        .invoke_as(
            &json!({ "Records": records }),
            InvocationType::RequestResponse,
        )
        .await
    {
        Ok(Reply::Json(response)) if mapping.report_batch_item_failures => {
            reported_failures(&response, &all)
        }
        Ok(_) => Vec::new(),
        // The invocation failed (an error, a timeout, a killed sandbox): the whole batch
        // comes back after the visibility timeout, as on Lambda.
        Err(error) => {
            tracing::warn!(queue = %mapping.queue_url, error = %error, "Batch failed");
            all.clone()
        }
    };
    let done: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            m.message_id
                .as_deref()
                .is_none_or(|id| !failed.contains(&id))
        })
        .filter_map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .set_receipt_handle(m.receipt_handle.clone())
                .build()
                .ok()
        })
        .collect();
    if !done.is_empty() {
        sqs.delete_message_batch()
            .queue_url(&mapping.queue_url)
            .set_entries(Some(done))
            .send()
            .await?;
    }
    Ok(())
}

/// The messages a partial batch response names. As Lambda: a response naming a message
/// that is not in the batch, or an empty identifier, fails the whole batch.
fn reported_failures<'a>(response: &Value, batch: &[&'a str]) -> Vec<&'a str> {
    let mut failed = Vec::new();
    for failure in response["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
    {
        match failure["itemIdentifier"]
            .as_str()
            .and_then(|id| batch.iter().find(|m| **m == id))
        {
            Some(id) => failed.push(*id),
            None => return batch.to_vec(),
        }
    }
    failed
}

/// An SQS record of the event Lambda sends.
fn record(m: &Message, queue_arn: &str) -> Value {
    let attributes: serde_json::Map<String, Value> = m
        .attributes
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
        .collect();
    json!({
        "messageId": m.message_id,
        "receiptHandle": m.receipt_handle,
        "body": m.body,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": m.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_batch_response_returns_only_the_messages_it_names() {
        let batch = ["a", "b", "c"];
        let response = json!({"batchItemFailures": [{"itemIdentifier": "b"}]});
        assert_eq!(reported_failures(&response, &batch), vec!["b"]);
        assert!(reported_failures(&json!({"batchItemFailures": []}), &batch).is_empty());
        assert!(reported_failures(&json!({}), &batch).is_empty());
    }

    #[test]
    fn a_response_naming_an_unknown_message_fails_the_whole_batch() {
        let batch = ["a", "b"];
        let unknown = json!({"batchItemFailures": [{"itemIdentifier": "zzz"}]});
        assert_eq!(reported_failures(&unknown, &batch), vec!["a", "b"]);
        let empty = json!({"batchItemFailures": [{"itemIdentifier": ""}]});
        assert_eq!(reported_failures(&empty, &batch), vec!["a", "b"]);
    }
}
