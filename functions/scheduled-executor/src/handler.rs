//! Tells the three events apart and hands each to the executor.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::chain::execute::{Executor, claim_now};
use shared::schedule::claim::claim_due;
use shared::{AppError, sqs};
use uuid::Uuid;

/// Schedules claimed per tick, and run at once.
pub const CLAIM_LIMIT: i64 = 25;
const CONCURRENT_RUNS: usize = 4;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Queued {
    execution_id: Uuid,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunNow {
    scheduled_execution_id: Uuid,
}

pub async fn handle(
    event: Value,
    executor: &Executor<'_>,
    request_id: &str,
) -> Result<Value, AppError> {
    if event.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(event)
            .map_err(|e| AppError::validation(format!("Not an SQS event: {e}")))?;
        let response: SqsBatchResponse = sqs::process_batch(batch, CONCURRENT_RUNS, |message| {
            run_queued(message, executor, request_id)
        })
        .await;
        return serde_json::to_value(response).map_err(|e| AppError::internal(e.to_string()));
    }
    if let Ok(run) = serde_json::from_value::<RunNow>(event.clone()) {
        let claimed = claim_now(executor.db, run.scheduled_execution_id).await?;
        executor.run_claimed(&claimed, request_id).await?;
        return Ok(json!({ "ran": [claimed.id] }));
    }
    if event.get("detail-type").and_then(Value::as_str) != Some("Scheduled Event") {
        return Err(AppError::validation(
            "Expected an EventBridge Scheduled Event, {\"scheduledExecutionId\"} or an SQS batch",
        ));
    }
    tick(executor, request_id).await
}

/// Claims the due schedules and runs them; one failing run never stops the others.
pub async fn tick(executor: &Executor<'_>, request_id: &str) -> Result<Value, AppError> {
    let claimed = claim_due(executor.db, chrono::Utc::now(), CLAIM_LIMIT, request_id).await?;
    let ran: Vec<Value> = stream::iter(&claimed)
        .map(|schedule| async move {
            let outcome = executor.run_claimed(schedule, request_id).await;
            if let Err(error) = &outcome {
                tracing::error!(schedule_id = %schedule.id, error = %error, "A scheduled run failed to start");
            }
            json!({ "scheduleId": schedule.id, "ok": outcome.is_ok() })
        })
        .buffer_unordered(CONCURRENT_RUNS)
        .collect()
        .await;
    tracing::info!(claimed = ran.len(), "Tick done");
    Ok(json!({ "ran": ran }))
}

async fn run_queued(
    message: SqsMessage,
    executor: &Executor<'_>,
    request_id: &str,
) -> Result<(), AppError> {
    let queued: Queued = sqs::parse_body(&message)?;
    executor.run_queued(queued.execution_id, request_id).await
}
