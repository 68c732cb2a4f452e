//! Tells the three events apart and hands each to the executor: the minute tick (sweeps,
//! then due schedules queued as runs), `{"scheduledExecutionId"}` (a schedule queued now),
//! and assistant-runs batches (runs started, continued or resumed until the deadline).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::chain::execute::Executor;
use shared::chain::scheduled::claim_now;
use shared::ingest::attempt::{self, deadline_from_ms};
use shared::schedule::claim::claim_due;
use shared::{AppError, sqs};
use uuid::Uuid;

/// Schedules claimed per tick.
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

/// `deadline_ms`: the invocation's deadline (`lambda_runtime::Context::deadline`).
pub async fn handle(
    event: Value,
    executor: &Executor<'_>,
    request_id: &str,
    deadline_ms: u64,
) -> Result<Value, AppError> {
    if event.get("Records").is_some() {
        let deadline = deadline_from_ms(deadline_ms);
        let batch: SqsEvent = serde_json::from_value(event)
            .map_err(|e| AppError::validation(format!("Not an SQS event: {e}")))?;
        let response: SqsBatchResponse = sqs::process_batch(batch, CONCURRENT_RUNS, |message| {
            run_queued(message, executor, request_id, deadline)
        })
        .await;
        return serde_json::to_value(response).map_err(|e| {
            AppError::internal("The answer could not be written as JSON").caused_by(e)
        });
    }
    if let Ok(run) = serde_json::from_value::<RunNow>(event.clone()) {
        let claimed = claim_now(executor.db, run.scheduled_execution_id).await?;
        let execution = executor.enqueue_scheduled(&claimed, request_id).await?;
        return Ok(json!({ "queued": [{ "scheduleId": claimed.id, "executionId": execution }] }));
    }
    if event.get("detail-type").and_then(Value::as_str) != Some("Scheduled Event") {
        return Err(AppError::validation(
            "Expected an EventBridge Scheduled Event, {\"scheduledExecutionId\"} or an SQS batch",
        ));
    }
    tick(executor, request_id, Utc::now()).await
}

/// The minute tick: fails items whose function died for good, queues again (or gives up)
/// runs nobody works on, then claims the due schedules and queues their runs. A failing
/// step is logged and never stops the others.
pub async fn tick(
    executor: &Executor<'_>,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<Value, AppError> {
    let items_failed = match attempt::sweep(executor.db, now).await {
        Ok(failed) => failed.len(),
        Err(error) => {
            tracing::error!(error = %error.chain(), "The item sweep failed");
            0
        }
    };
    let runs = match executor.sweep(now).await {
        Ok(swept) => json!({ "requeued": swept.requeued.len(), "failed": swept.failed.len() }),
        Err(error) => {
            tracing::error!(error = %error.chain(), "The run sweep failed");
            json!({ "error": error.message })
        }
    };
    let claimed = claim_due(executor.db, now, CLAIM_LIMIT, request_id).await?;
    let ran: Vec<Value> = stream::iter(&claimed)
        .map(|schedule| async move {
            let queued = executor.enqueue_scheduled(schedule, request_id).await;
            if let Err(error) = &queued {
                tracing::error!(schedule_id = %schedule.id, error = %error.chain(), "A scheduled run could not be queued");
            }
            json!({ "scheduleId": schedule.id, "ok": queued.is_ok(),
                    "executionId": queued.ok().flatten() })
        })
        .buffer_unordered(CONCURRENT_RUNS)
        .collect()
        .await;
    tracing::info!(claimed = ran.len(), items_failed, "Tick done");
    Ok(json!({ "ran": ran, "itemsFailed": items_failed, "runs": runs }))
}

async fn run_queued(
    message: SqsMessage,
    executor: &Executor<'_>,
    request_id: &str,
    deadline: DateTime<Utc>,
) -> Result<(), AppError> {
    let queued: Queued = sqs::parse_body(&message)?;
    executor
        .run_queued(queued.execution_id, request_id, deadline)
        .await
}
