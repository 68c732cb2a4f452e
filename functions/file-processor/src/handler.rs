//! A message is an S3 notification (one or more ObjectCreated records, or S3's test event)
//! or `{"itemId": ...}` (reprocess, URL items). Each object goes through the pipeline; bad
//! files end as `failed` items, not as retries; scans and images go to OCR. Keys that are
//! not ours are refused.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::Deserialize;
use serde_json::Value;
use shared::AppError;
use shared::ingest::attempt::Attempt;
use shared::ingest::pipeline::{Outcome, Pipeline};
use shared::knowledge::ObjectKey;
use shared::sqs;
use uuid::Uuid;

pub struct Deps<'a> {
    pub pipeline: Pipeline<'a>,
    /// The queue's `maxReceiveCount`: the delivery after which SQS moves a message to the DLQ.
    pub max_receive_count: u32,
}

/// The parts of an S3 event notification this function reads (S3 sends more; moto less).
#[derive(Debug, Deserialize)]
struct Notification {
    #[serde(rename = "Records")]
    records: Vec<NotificationRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationRecord {
    event_name: String,
    s3: NotifiedObject,
}

#[derive(Debug, Deserialize)]
struct NotifiedObject {
    object: NotifiedKey,
}

#[derive(Debug, Deserialize)]
struct NotifiedKey {
    key: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemRequest {
    item_id: Uuid,
}

/// `deadline_ms`: the invocation's deadline (`lambda_runtime::Context::deadline`).
pub async fn handle(
    event: SqsEvent,
    deps: &Deps<'_>,
    deadline_ms: u64,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(sqs::process_batch(event, 2, |message| {
        process_message(message, deps, deadline_ms)
    })
    .await)
}

async fn process_message(
    message: SqsMessage,
    deps: &Deps<'_>,
    deadline_ms: u64,
) -> Result<(), AppError> {
    let body: Value = sqs::parse_body(&message)?;
    if body.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        tracing::info!("S3 test event: the bucket notification is wired");
        return Ok(());
    }
    let work: Vec<Work> = if body.get("Records").is_some() {
        let event: Notification = serde_json::from_value(body)
            .map_err(|e| AppError::validation(format!("Malformed S3 notification: {e}")))?;
        event
            .records
            .into_iter()
            .filter(|r| r.event_name.starts_with("ObjectCreated:"))
            .map(|r| Work::Key(r.s3.object.key))
            .collect()
    } else {
        let request: ItemRequest = serde_json::from_value(body)
            .map_err(|e| AppError::validation(format!("Malformed message: {e}")))?;
        vec![Work::Item(request.item_id)]
    };
    let attempt = Attempt::new(
        deadline_ms,
        sqs::receive_count(&message),
        deps.max_receive_count,
    );
    for work in work {
        process(work, deps, &attempt).await?;
    }
    Ok(())
}

enum Work {
    Key(String),
    Item(Uuid),
}

async fn process(work: Work, deps: &Deps<'_>, attempt: &Attempt) -> Result<(), AppError> {
    let (item, outcome) = match work {
        Work::Key(encoded) => match ObjectKey::parse_event_key(&encoded) {
            Ok(key) => (
                Some(key.item_id),
                deps.pipeline.process_object(&key, attempt).await,
            ),
            Err(error) => {
                // Not a key this system wrote (path tricks, foreign prefixes): never processed.
                tracing::warn!(key = %encoded, reason = %error.message, "Refused an object key");
                return Ok(());
            }
        },
        Work::Item(id) => (Some(id), deps.pipeline.process_item(id, attempt).await),
    };
    match outcome {
        Ok(Outcome::Queued { chunks, unchanged }) => {
            tracing::info!(item_id = ?item, chunks, unchanged, "Item chunked and queued for embedding");
            Ok(())
        }
        Ok(Outcome::OcrStarted { job_id, pages }) => {
            tracing::info!(item_id = ?item, job_id, pages, "Item sent to OCR");
            Ok(())
        }
        Ok(Outcome::Failed(_) | Outcome::Gone) => Ok(()),
        Err(error) => {
            if let (Some(item), true) = (item, !error.is_retryable() || attempt.is_last()) {
                let reason = format!("Processing failed: {}", error.message);
                if let Err(marking) = deps.pipeline.records.fail(item, &reason).await {
                    tracing::error!(error = %marking.chain(), "Could not mark the item failed");
                }
            }
            Err(error)
        }
    }
}
