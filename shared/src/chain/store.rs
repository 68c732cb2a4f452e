//! Executions in the database: created pending, claimed to run (see [`super::lease`]),
//! every event and prompt result written as it happens (so `GET /executions/{id}` and its
//! event stream show progress, and a run resumed in another invocation skips what is
//! done), finished with totals.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{ChainOutcome, Progress, PromptResult, Status};
use crate::auth::Caller;
use crate::data_api::{DataApi, Decimal, Params, TextArray};
use crate::error::AppError;
use crate::ports::chat::Usage;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct Execution {
    pub id: Uuid,
    pub assistant_id: Uuid,
    pub user_id: Option<Uuid>,
    pub team_id: Uuid,
    pub origin: String,
    pub inputs: Value,
    pub status: String,
    pub error: Option<String>,
    pub total_input_tokens: i64,
    pub total_output_tokens: i64,
    pub total_cost: Decimal,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Times the run was taken over after its executor died.
    pub resumes: i32,
    /// Invocations that worked on the run (it carries on across them).
    pub invocations: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct StoredResult {
    pub position: i32,
    pub prompt_name: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub model: Option<String>,
    pub input_tokens: i32,
    pub output_tokens: i32,
    pub cached_tokens: i32,
    pub reasoning_tokens: i32,
    pub cost: Decimal,
    pub duration_ms: Option<i32>,
    pub status: String,
    pub error: Option<String>,
    pub citations: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct Event {
    pub seq: i64,
    pub event_type: String,
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

pub(super) const COLUMNS: &str =
    "id, assistant_id, user_id, team_id, origin, inputs, status, error, total_input_tokens,
    total_output_tokens, total_cost, started_at, completed_at, created_at, resumes, invocations";

/// A new pending execution of `assistant_id` for `caller` in `team_id`.
pub async fn create(
    db: &DataApi,
    caller: &Caller,
    assistant_id: Uuid,
    team_id: Uuid,
    origin: &str,
    inputs: &Map<String, Value>,
    request_id: &str,
) -> Result<Execution, AppError> {
    let sql = format!(
        "INSERT INTO assistant_executions (assistant_id, user_id, team_id, origin, inputs, request_id)
         VALUES (:assistant_id, :user_id, :team_id, :origin, :inputs, :request_id) RETURNING {COLUMNS}"
    );
    Ok(db
        .query_one(
            &sql,
            Params::new()
                .bind("assistant_id", assistant_id)
                .bind("user_id", caller.user_id)
                .bind("team_id", team_id)
                .bind("origin", origin)
                .bind("inputs", Value::Object(inputs.clone()))
                .bind("request_id", request_id),
        )
        .await?)
}

/// Records the outcome, with totals summed over every stored prompt result (a run that
/// spanned invocations has results from each), and releases the lease.
pub async fn finish(db: &DataApi, id: Uuid, outcome: &ChainOutcome) -> Result<(), AppError> {
    db.execute(
        "UPDATE assistant_executions e SET status = :status, error = :error, completed_at = now(), updated_at = now(),
            lease_until = NULL, total_input_tokens = t.input, total_output_tokens = t.output,
            total_cached_tokens = t.cached, total_reasoning_tokens = t.reasoning, total_cost = t.cost
         FROM (SELECT coalesce(sum(input_tokens), 0) AS input, coalesce(sum(output_tokens), 0) AS output,
                      coalesce(sum(cached_tokens), 0) AS cached, coalesce(sum(reasoning_tokens), 0) AS reasoning,
                      coalesce(sum(cost), 0) AS cost
               FROM prompt_results WHERE execution_id = :id) t
         WHERE e.id = :id AND e.status IN ('pending', 'running')",
        Params::new()
            .bind("id", id)
            .bind("status", if outcome.failed { "failed" } else { "completed" })
            .bind("error", outcome.error.as_deref()),
    )
    .await?;
    tracing::info!(execution_id = %id, failed = outcome.failed, "Execution finished");
    Ok(())
}

/// Marks an execution failed before it could run (no prompts, the assistant gone...).
pub async fn fail(db: &DataApi, id: Uuid, reason: &str) -> Result<(), AppError> {
    db.execute(
        "UPDATE assistant_executions SET status = 'failed', error = :error, completed_at = now(), updated_at = now(),
             lease_until = NULL
         WHERE id = :id AND status IN ('pending', 'running')",
        Params::new().bind("id", id).bind("error", reason),
    )
    .await?;
    Ok(())
}

/// An execution the caller may read: their own, or any of their team's when they are an
/// administrator.
pub async fn get(db: &DataApi, caller: &Caller, id: Uuid) -> Result<Execution, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assistant_executions
         WHERE id = :id AND team_id = ANY(:teams::uuid[]) AND (user_id = :user_id OR :admin)"
    );
    db.query_opt(
        &sql,
        Params::new()
            .bind("id", id)
            .bind(
                "teams",
                TextArray(caller.teams.iter().map(Uuid::to_string).collect()),
            )
            .bind("user_id", caller.user_id)
            .bind("admin", caller.is_administrator()),
    )
    .await?
    .ok_or_else(|| AppError::not_found("No such execution"))
}

pub async fn results(db: &DataApi, id: Uuid) -> Result<Vec<StoredResult>, AppError> {
    Ok(db
        .query(
            "SELECT position, prompt_name, input, output, model, input_tokens, output_tokens, cached_tokens,
                    reasoning_tokens, cost, duration_ms, status, error, citations
             FROM prompt_results WHERE execution_id = :id ORDER BY position",
            Params::new().bind("id", id),
        )
        .await?)
}

/// The results earlier invocations stored, as the chain runner continues from them.
pub async fn done(db: &DataApi, id: Uuid) -> Result<Vec<PromptResult>, AppError> {
    Ok(results(db, id)
        .await?
        .into_iter()
        .map(|stored| {
            let tokens = |n: i32| u64::try_from(n).unwrap_or(0);
            PromptResult {
                prompt_id: None,
                position: stored.position,
                name: stored.prompt_name.unwrap_or_default(),
                input: stored.input.unwrap_or_default(),
                output: stored.output.unwrap_or_default(),
                ai_model_id: None,
                model: stored.model,
                usage: Usage {
                    input_tokens: tokens(stored.input_tokens),
                    output_tokens: tokens(stored.output_tokens),
                    cached_input_tokens: tokens(stored.cached_tokens),
                    reasoning_tokens: tokens(stored.reasoning_tokens),
                },
                cost: stored.cost,
                duration: std::time::Duration::from_millis(
                    u64::try_from(stored.duration_ms.unwrap_or(0)).unwrap_or(0),
                ),
                status: match stored.status.as_str() {
                    "completed" => Status::Completed,
                    "skipped" => Status::Skipped,
                    _ => Status::Failed,
                },
                error: stored.error,
                citations: Vec::new(),
            }
        })
        .collect())
}

/// Events after `after` (a `seq`), in order.
pub async fn events(db: &DataApi, id: Uuid, after: i64) -> Result<Vec<Event>, AppError> {
    Ok(db
        .query(
            "SELECT seq, event_type, data, created_at FROM execution_events
             WHERE execution_id = :id AND seq > :after ORDER BY seq LIMIT 500",
            Params::new().bind("id", id).bind("after", after),
        )
        .await?)
}

/// How often [`follow`] looks for new events.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(300);

/// Sends a run's events to `out` as they are stored, oldest first, from the one after
/// `after`, until the run has finished and its last event is sent, or `out` is closed.
pub async fn follow(
    db: &DataApi,
    id: Uuid,
    mut after: i64,
    out: tokio::sync::mpsc::Sender<Event>,
) -> Result<(), AppError> {
    #[derive(Deserialize)]
    struct Status {
        status: String,
    }
    loop {
        // Read before the events, so the events read after it include the last ones.
        let finished = db
            .query_opt::<Status>(
                "SELECT status FROM assistant_executions WHERE id = :id",
                Params::new().bind("id", id),
            )
            .await?
            .is_none_or(|s| matches!(s.status.as_str(), "completed" | "failed" | "cancelled"));
        let fresh = events(db, id, after).await?;
        let caught_up = fresh.is_empty();
        for event in fresh {
            after = event.seq;
            if out.send(event).await.is_err() {
                return Ok(());
            }
        }
        if finished && caught_up {
            return Ok(());
        }
        tokio::time::sleep(FOLLOW_POLL).await;
    }
}

/// Writes a run's progress into the execution's rows as it happens.
pub struct Recorder<'a> {
    pub db: &'a DataApi,
    pub execution_id: Uuid,
}

#[async_trait]
impl Progress for Recorder<'_> {
    async fn event(&self, kind: &'static str, data: Value) {
        let written = self
            .db
            .execute(
                "INSERT INTO execution_events (execution_id, event_type, data) VALUES (:id, :kind, :data)",
                Params::new()
                    .bind("id", self.execution_id)
                    .bind("kind", kind)
                    .bind("data", data),
            )
            .await;
        if let Err(error) = written {
            tracing::error!(error = %error, kind, "An execution event could not be stored");
        }
    }

    async fn result(&self, result: &PromptResult) {
        let tokens = |n: u64| {
            i64::try_from(n)
                .unwrap_or(i64::MAX)
                .min(i64::from(i32::MAX))
        };
        let written = self
            .db
            .execute(
                "INSERT INTO prompt_results (execution_id, prompt_id, position, prompt_name, input, output, ai_model_id,
                     model, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost, duration_ms, status,
                     error, citations, completed_at)
                 VALUES (:id, :prompt_id, :position, :name, :input, :output, :ai_model_id, :model, :input_tokens,
                     :output_tokens, :cached, :reasoning, :cost, :duration, :status, :error, :citations, now())
                 ON CONFLICT (execution_id, position) DO NOTHING",
                Params::new()
                    .bind("id", self.execution_id)
                    .bind("prompt_id", result.prompt_id)
                    .bind("position", result.position)
                    .bind("name", result.name.as_str())
                    .bind("input", result.input.as_str())
                    .bind("output", result.output.as_str())
                    .bind("ai_model_id", result.ai_model_id)
                    .bind("model", result.model.as_deref())
                    .bind("input_tokens", tokens(result.usage.input_tokens))
                    .bind("output_tokens", tokens(result.usage.output_tokens))
                    .bind("cached", tokens(result.usage.cached_input_tokens))
                    .bind("reasoning", tokens(result.usage.reasoning_tokens))
                    .bind("cost", result.cost.clone())
                    .bind("duration", i64::try_from(result.duration.as_millis()).unwrap_or(i64::MAX))
                    .bind("status", result.status.as_str())
                    .bind("error", result.error.as_deref())
                    .bind(
                        "citations",
                        serde_json::to_value(&result.citations).unwrap_or(Value::Array(vec![])),
                    ),
            )
            .await;
        if let Err(error) = written {
            tracing::error!(error = %error, position = result.position, "A prompt result could not be stored");
        }
    }
}
