//! A message is an SNS-wrapped Textract completion (or Textract's JSON with raw delivery).
//! Each goes through [`shared::ingest::complete_ocr`]; a document OCR cannot read ends as a
//! `failed` item, not as a retry. On the last delivery (or a failure no retry can fix) the
//! item and its job are marked failed with the reason before the message goes to the DLQ.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use shared::data_api::DataApi;
use shared::ingest::attempt::Attempt;
use shared::ingest::pipeline::Pipeline;
use shared::ingest::{Completed, complete_ocr};
use shared::knowledge::items;
use shared::ocr::jobs;
use shared::ports::ocr::{Completion, OcrEngine};
use shared::{AppError, sqs};
use uuid::Uuid;

pub struct Deps<'a> {
    /// OCR job rows and attempts; the item's chunks go through `pipeline`.
    pub db: &'a DataApi,
    pub pipeline: Pipeline<'a>,
    pub engine: &'a dyn OcrEngine,
    /// The queue's `maxReceiveCount`: the delivery after which SQS moves a message to the DLQ.
    pub max_receive_count: u32,
}

/// `deadline_ms`: the invocation's deadline (`lambda_runtime::Context::deadline`).
pub async fn handle(
    event: SqsEvent,
    deps: &Deps<'_>,
    deadline_ms: u64,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(sqs::process_batch(event, 2, |message| {
        complete_message(message, deps, deadline_ms)
    })
    .await)
}

async fn complete_message(
    message: SqsMessage,
    deps: &Deps<'_>,
    deadline_ms: u64,
) -> Result<(), AppError> {
    let completion = Completion::from_message(message.body.as_deref().unwrap_or_default())?;
    let attempt = Attempt::new(
        deadline_ms,
        sqs::receive_count(&message),
        deps.max_receive_count,
    );
    match complete_ocr(deps.db, &deps.pipeline, deps.engine, &completion, &attempt).await {
        Ok(Completed::Item(outcome)) => {
            tracing::info!(
                job_id = completion.job_id,
                ?outcome,
                "OCR completion handled"
            );
            Ok(())
        }
        Ok(Completed::Ignored(why)) => {
            tracing::info!(job_id = completion.job_id, why, "OCR completion ignored");
            Ok(())
        }
        Err(error) => {
            if !error.is_retryable() || attempt.is_last() {
                give_up(deps, &completion, &error).await;
            }
            Err(error)
        }
    }
}

async fn give_up(deps: &Deps<'_>, completion: &Completion, error: &AppError) {
    let db = deps.db;
    let reason = format!("OCR failed: {}", error.message);
    let item = match completion.job_tag.as_deref().map(Uuid::parse_str) {
        Some(Ok(item)) => Some(item),
        _ => jobs::find(db, &completion.job_id)
            .await
            .ok()
            .flatten()
            .map(|job| job.item_id),
    };
    let marked = async {
        jobs::abandon(db, &completion.job_id, &reason).await?;
        if let Some(item) = item {
            items::fail(db, item, &reason).await?;
        }
        Ok::<_, AppError>(())
    };
    if let Err(marking) = marked.await {
        tracing::error!(error = %marking.chain(), "Could not mark the OCR job failed");
    }
}
