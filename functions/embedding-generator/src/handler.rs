//! One message = the ids of a document's chunks (up to a few thousand). Failures are reported
//! per message; on the last delivery (or a failure no retry can fix) the items are marked
//! `failed` with the reason before the message goes to the DLQ.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::Deserialize;
use shared::AppError;
use shared::data_api::DataApi;
use shared::embed::{EmbedReport, Embedder, embed_chunks};
use shared::{ingest, sqs};
use uuid::Uuid;

pub struct Deps {
    pub db: DataApi,
    pub embedder: Box<dyn Embedder>,
    /// The queue's `maxReceiveCount`: the delivery after which SQS moves a message to the DLQ.
    pub max_receive_count: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedRequest {
    pub chunk_ids: Vec<Uuid>,
}

/// The messages of a batch are embedded together (their chunks share reads and writes);
/// if that fails, each message is tried on its own so only the bad one fails.
pub async fn handle(
    event: SqsEvent,
    deps: &Deps,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    if event.records.len() > 1 {
        let (readable, unreadable): (Vec<SqsMessage>, Vec<SqsMessage>) = event
            .records
            .iter()
            .cloned()
            .partition(|m| sqs::parse_body::<EmbedRequest>(m).is_ok());
        let ids: Vec<Uuid> = readable
            .iter()
            .filter_map(|m| sqs::parse_body::<EmbedRequest>(m).ok())
            .flat_map(|r| r.chunk_ids)
            .collect();
        match embed_chunks(&deps.db, deps.embedder.as_ref(), &ids).await {
            Ok(report) => {
                log(&report, readable.len());
                let mut rest = SqsEvent::default();
                rest.records = unreadable;
                return Ok(
                    sqs::process_batch(rest, 4, |message| embed_message(message, deps)).await,
                );
            }
            Err(error) => {
                tracing::warn!(code = %error.code, error = %error.message, "The batch failed together; trying each message");
            }
        }
    }
    Ok(sqs::process_batch(event, 4, |message| embed_message(message, deps)).await)
}

fn log(report: &EmbedReport, messages: usize) {
    tracing::info!(
        messages,
        embedded = report.embedded,
        skipped = report.skipped,
        completed = report.items_completed.len(),
        "Chunks embedded"
    );
}

async fn embed_message(message: SqsMessage, deps: &Deps) -> Result<(), AppError> {
    let request: EmbedRequest = sqs::parse_body(&message)?;
    match embed_chunks(&deps.db, deps.embedder.as_ref(), &request.chunk_ids).await {
        Ok(report) => {
            log(&report, 1);
            Ok(())
        }
        Err(error) => {
            let last_try = sqs::receive_count(&message) >= deps.max_receive_count;
            if !error.is_retryable() || last_try {
                let reason = format!("Embedding failed: {}", error.message);
                if let Err(marking) =
                    ingest::fail_items_of_chunks(&deps.db, &request.chunk_ids, &reason).await
                {
                    tracing::error!(error = %marking, "Could not mark the items failed");
                }
            }
            Err(error)
        }
    }
}
