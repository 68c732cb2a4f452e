//! One message = the ids of a document's chunks (up to a few thousand). Failures are reported
//! per message; on the last delivery (or a failure no retry can fix) the items are marked
//! `failed` with the reason before the message goes to the DLQ. The attempt is recorded on
//! the items first, so a death on the last delivery (time, memory, crash) fails them too
//! (see `shared::ingest::attempt`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::AppError;
use shared::data_api::DataApi;
use shared::embed::{EmbedReport, embed_chunks};
use shared::ingest::attempt::{self, deadline_from_ms};
use shared::ports::embed::Embedder;
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
/// `deadline_ms`: the invocation's deadline (`lambda_runtime::Context::deadline`).
pub async fn handle(
    event: SqsEvent,
    deps: &Deps,
    deadline_ms: u64,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let deadline = deadline_from_ms(deadline_ms);
    begin(&event, deps, deadline).await;
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
                end(deps, &report, &ids, deadline).await;
                let mut rest = SqsEvent::default();
                rest.records = unreadable;
                return Ok(sqs::process_batch(rest, 4, |message| {
                    embed_message(message, deps, deadline)
                })
                .await);
            }
            Err(error) => {
                tracing::warn!(error = %error.chain(), "The batch failed together; trying each message");
            }
        }
    }
    Ok(sqs::process_batch(event, 4, |message| embed_message(message, deps, deadline)).await)
}

/// Records this invocation's attempt on the items of the batch's chunks.
async fn begin(event: &SqsEvent, deps: &Deps, deadline: DateTime<Utc>) {
    let requests: Vec<(EmbedRequest, u32)> = event
        .records
        .iter()
        .filter_map(|m| Some((sqs::parse_body(m).ok()?, sqs::receive_count(m))))
        .collect();
    let messages: Vec<(&[Uuid], u32)> = requests
        .iter()
        .map(|(r, delivery)| (r.chunk_ids.as_slice(), *delivery))
        .collect();
    if let Err(error) =
        attempt::begin_embedding(&deps.db, &messages, deps.max_receive_count, deadline).await
    {
        tracing::warn!(error = %error.chain(), "The attempt could not be recorded on the items");
    }
}

/// The chunks are embedded: their items no longer depend on this invocation. Nothing to
/// clear when every item they touched is complete (the usual case: one message per
/// document), which saves a Data API call per batch.
async fn end(deps: &Deps, report: &EmbedReport, chunk_ids: &[Uuid], deadline: DateTime<Utc>) {
    if report.skipped == 0 && report.items_waiting.is_empty() {
        return;
    }
    if let Err(error) = attempt::end_embedding(&deps.db, chunk_ids, deadline).await {
        tracing::warn!(error = %error.chain(), "The attempt could not be cleared on the items");
    }
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

async fn embed_message(
    message: SqsMessage,
    deps: &Deps,
    deadline: DateTime<Utc>,
) -> Result<(), AppError> {
    let request: EmbedRequest = sqs::parse_body(&message)?;
    match embed_chunks(&deps.db, deps.embedder.as_ref(), &request.chunk_ids).await {
        Ok(report) => {
            log(&report, 1);
            end(deps, &report, &request.chunk_ids, deadline).await;
            Ok(())
        }
        Err(error) => {
            let last_try = sqs::receive_count(&message) >= deps.max_receive_count;
            if !error.is_retryable() || last_try {
                let reason = format!("Embedding failed: {}", error.message);
                if let Err(marking) =
                    ingest::fail_items_of_chunks(&deps.db, &request.chunk_ids, &reason).await
                {
                    tracing::error!(error = %marking.chain(), "Could not mark the items failed");
                }
            }
            Err(error)
        }
    }
}
