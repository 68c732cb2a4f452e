//! Running executions end to end: an on-demand run (queued by the API) and a claimed
//! schedule's run, each recorded, totalled and, for schedules, notified to the owner.

use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::store::{self, Recorder};
use super::{ChainOutcome, ChainPrompt, ChainRun, Services, Tools};
use crate::assistant::{self, Assistant};
use crate::auth::{self, Caller};
use crate::chat::service::{Ledger, Models};
use crate::data_api::{DataApi, Params};
use crate::embed::Embedder;
use crate::error::AppError;
use crate::notify::{self, Attachment, Email, Kind, Mailer, Notification};
use crate::schedule::claim::{Claimed, record_outcome};

/// What an executor runs chains with.
pub struct Executor<'a> {
    pub db: &'a DataApi,
    pub models: &'a dyn Models,
    pub ledger: &'a dyn Ledger,
    pub embedder: &'a dyn Embedder,
    pub tools: &'a dyn Tools,
    pub mailer: Option<&'a dyn Mailer>,
}

/// The tools of `shared::tools`, by name, for the chain runner.
#[async_trait]
impl Tools for crate::tools::Tools {
    async fn call(&self, name: &str, input: Value) -> Result<Value, String> {
        self.run(name, input).await.map_err(|e| e.to_string())
    }
}

fn prompts(assistant: &Assistant) -> Vec<ChainPrompt> {
    assistant
        .prompts
        .iter()
        .enumerate()
        .map(|(position, p)| ChainPrompt {
            id: p.id,
            position: i32::try_from(position).unwrap_or(i32::MAX),
            name: p.name.clone(),
            content: p.content.clone(),
            model: p.model_id.map(|m| m.to_string()).unwrap_or_default(),
            system_context: p.system_context.clone(),
            repository_ids: p.repository_ids.clone(),
            enabled_tools: p.enabled_tools.clone(),
            timeout: std::time::Duration::from_secs(
                u64::try_from(p.timeout_seconds).unwrap_or(120),
            ),
            parallel_group: p.parallel_group,
        })
        .collect()
}

impl Executor<'_> {
    async fn run_chain(
        &self,
        caller: &Caller,
        assistant: &Assistant,
        execution: &store::Execution,
        request_id: &str,
    ) -> ChainOutcome {
        let recorder = Recorder {
            db: self.db,
            execution_id: execution.id,
        };
        let services = Services {
            db: self.db,
            models: self.models,
            ledger: self.ledger,
            embedder: self.embedder,
            tools: self.tools,
            progress: &recorder,
        };
        let inputs: Map<String, Value> = execution.inputs.as_object().cloned().unwrap_or_default();
        let prompts = prompts(assistant);
        let outcome = super::run(
            &services,
            &ChainRun {
                execution_id: execution.id,
                caller,
                team_id: execution.team_id,
                prompts: &prompts,
                inputs: &inputs,
                request_id,
            },
        )
        .await;
        if let Err(error) = store::finish(self.db, execution.id, &outcome).await {
            tracing::error!(error = %error, "The execution's outcome could not be stored");
        }
        outcome
    }

    /// Runs a queued execution once: a redelivered message finds it taken and does
    /// nothing.
    pub async fn run_queued(&self, execution_id: Uuid, request_id: &str) -> Result<(), AppError> {
        let Some(execution) = store::claim(self.db, execution_id).await? else {
            tracing::info!(%execution_id, "Execution already taken");
            return Ok(());
        };
        let prepared = async {
            let owner = execution
                .user_id
                .ok_or_else(|| AppError::not_found("The execution's user no longer exists"))?;
            let caller = auth::caller_by_id(self.db, owner).await?;
            let assistant =
                assistant::get_runnable(self.db, &caller, execution.assistant_id).await?;
            Ok::<_, AppError>((caller, assistant))
        };
        match prepared.await {
            Ok((caller, assistant)) => {
                self.run_chain(&caller, &assistant, &execution, request_id)
                    .await;
                Ok(())
            }
            Err(error) => store::fail(self.db, execution.id, &error.message).await,
        }
    }

    /// Runs one claimed schedule: a slot in `schedule_results` (a slot already there was
    /// run: nothing happens), the chain as the schedule's owner, the outcome on the
    /// schedule (turned off after repeated failures), and a notification with the result.
    pub async fn run_claimed(&self, claimed: &Claimed, request_id: &str) -> Result<(), AppError> {
        let started = Instant::now();
        let slot: Option<SlotId> = self
            .db
            .query_opt(
                "INSERT INTO schedule_results (scheduled_execution_id, scheduled_for) VALUES (:id, :at)
                 ON CONFLICT (scheduled_execution_id, scheduled_for) DO NOTHING RETURNING id",
                Params::new().bind("id", claimed.id).bind("at", claimed.scheduled_for),
            )
            .await?;
        let Some(slot) = slot else {
            tracing::info!(schedule_id = %claimed.id, "This slot already ran");
            return Ok(());
        };
        let caller = auth::caller_by_id(self.db, claimed.user_id).await?;
        let run = async {
            let assistant = assistant::get_runnable(self.db, &caller, claimed.assistant_id).await?;
            let inputs = claimed.inputs.as_object().cloned().unwrap_or_default();
            let execution = store::create(
                self.db,
                &caller,
                assistant.id,
                claimed.team_id,
                "schedule",
                &inputs,
                request_id,
            )
            .await?;
            let execution = store::claim(self.db, execution.id)
                .await?
                .ok_or_else(|| AppError::internal("A new execution was taken by someone else"))?;
            let outcome = self
                .run_chain(&caller, &assistant, &execution, request_id)
                .await;
            Ok::<_, AppError>((execution.id, outcome))
        };
        let (execution_id, success, error, output, usage) = match run.await {
            Ok((id, outcome)) => (
                Some(id),
                !outcome.failed,
                outcome.error.clone(),
                outcome.output.clone(),
                outcome.usage,
            ),
            Err(error) => (None, false, Some(error.message), None, Default::default()),
        };
        let tokens = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.db
            .execute(
                "UPDATE schedule_results SET execution_id = :execution, completed_at = now(),
                    status = CASE WHEN :success THEN 'completed' ELSE 'failed' END,
                    duration_ms = :duration, input_tokens = :input, output_tokens = :output_tokens,
                    cost = coalesce((SELECT total_cost FROM assistant_executions WHERE id = :execution), 0),
                    output = :output, error = :error
                 WHERE id = :slot",
                Params::new()
                    .bind("slot", slot.id)
                    .bind("execution", execution_id)
                    .bind("success", success)
                    .bind("duration", i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX))
                    .bind("input", tokens(usage.input_tokens))
                    .bind("output_tokens", tokens(usage.output_tokens))
                    .bind("output", output.as_deref())
                    .bind("error", error.as_deref()),
            )
            .await?;
        let recorded = record_outcome(self.db, claimed.id, success, error.as_deref()).await?;
        self.tell_owner(
            &caller,
            claimed,
            execution_id,
            success,
            error.as_deref(),
            output.as_deref(),
            recorded.disabled_reason.as_deref(),
        )
        .await;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn tell_owner(
        &self,
        owner: &Caller,
        claimed: &Claimed,
        execution_id: Option<Uuid>,
        success: bool,
        error: Option<&str>,
        output: Option<&str>,
        disabled: Option<&str>,
    ) {
        let outcome = if success { "completed" } else { "failed" };
        let title = format!("{}: {outcome}", claimed.name);
        let mut body = match (success, output, error) {
            (true, Some(output), _) => output.to_owned(),
            (_, _, Some(error)) => format!("The run failed: {error}"),
            _ => "The run produced no output.".to_owned(),
        };
        if let Some(reason) = disabled {
            body.push_str(&format!("\n\n**The schedule is now off.** {reason}"));
        }
        let markdown = format!("# {title}\n\n{body}\n");
        let html = format!(
            "<h1>{}</h1><pre style=\"white-space: pre-wrap\">{}</pre>",
            escape(&title),
            escape(&body)
        );
        let mut data = Map::new();
        data.insert("scheduleId".into(), json!(claimed.id));
        if let Some(id) = execution_id {
            data.insert("executionId".into(), json!(id));
        }
        notify::notify(
            self.db,
            self.mailer,
            &Notification {
                user_id: owner.user_id,
                team_id: Some(claimed.team_id),
                kind: match (success, disabled) {
                    (_, Some(_)) => Kind::ScheduleDisabled,
                    (true, None) => Kind::ScheduleCompleted,
                    (false, None) => Kind::ScheduleFailed,
                },
                title: title.clone(),
                body: body.clone(),
                link: execution_id.map(|id| format!("/executions/{id}")),
                data,
                email: Some(Email {
                    to: owner.email.clone(),
                    subject: format!("[AI Studio] {title}"),
                    html,
                    text: markdown.clone(),
                    attachments: vec![Attachment {
                        filename: "result.md".to_owned(),
                        content_type: "text/markdown; charset=utf-8".to_owned(),
                        bytes: markdown.into_bytes(),
                    }],
                }),
            },
        )
        .await;
    }
}

#[derive(serde::Deserialize)]
struct SlotId {
    id: Uuid,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A schedule to run now, outside its timing (`{"scheduledExecutionId"}`): its next run
/// stays as it is; the slot is now.
pub async fn claim_now(db: &DataApi, schedule_id: Uuid) -> Result<Claimed, AppError> {
    db.query_opt(
        "SELECT id, team_id AS \"teamId\", user_id AS \"userId\", assistant_id AS \"assistantId\", name, inputs,
                now() AS \"scheduledFor\", next_run_at AS \"nextRunAt\"
         FROM scheduled_executions WHERE id = :id",
        Params::new().bind("id", schedule_id),
    )
    .await?
    .ok_or_else(|| AppError::not_found("No such schedule"))
}
