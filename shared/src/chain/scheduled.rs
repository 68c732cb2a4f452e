//! Scheduled runs: the tick claims due schedules and [`Executor::enqueue_scheduled`] gives
//! each a `schedule_results` slot and an execution on the assistant-runs queue (the chain
//! runs there, across invocations, like an on-demand run); when the execution ends, however
//! it ends, [`Executor::conclude`] records the outcome on the slot and the schedule (off
//! after repeated failures) and tells the owner.

use serde::Deserialize;
use serde_json::{Map, json};
use uuid::Uuid;

use super::execute::Executor;
use super::lease;
use super::store;
use crate::assistant;
use crate::auth::{self, Caller};
use crate::data_api::{DataApi, Decimal, Params};
use crate::error::AppError;
use crate::notify::{self, Kind, Notification};
use crate::ports::mail::{Attachment, Email};
use crate::schedule::claim::{Claimed, record_outcome};

/// The schedule a notification is about.
struct ScheduleRef {
    id: Uuid,
    name: String,
    team_id: Uuid,
}

#[derive(Deserialize)]
struct SlotId {
    id: Uuid,
}

#[derive(Deserialize)]
struct Ended {
    slot: Uuid,
    schedule_id: Uuid,
    name: String,
    team_id: Uuid,
    user_id: Uuid,
    status: String,
    error: Option<String>,
    input_tokens: i64,
    output_tokens: i64,
    cost: Decimal,
    output: Option<String>,
}

impl Executor<'_> {
    /// Starts one claimed schedule's run: a slot in `schedule_results` (a slot already
    /// there was started: nothing happens, `None`), an execution as the schedule's owner,
    /// and its message on the assistant-runs queue. A run that cannot start is recorded
    /// as a failure of the schedule, and its owner told.
    pub async fn enqueue_scheduled(
        &self,
        claimed: &Claimed,
        request_id: &str,
    ) -> Result<Option<Uuid>, AppError> {
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
            return Ok(None);
        };
        let caller = auth::caller_by_id(self.db, claimed.user_id).await?;
        let created = async {
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
            self.db
                .execute(
                    "UPDATE schedule_results SET execution_id = :execution WHERE id = :slot",
                    Params::new()
                        .bind("slot", slot.id)
                        .bind("execution", execution.id),
                )
                .await?;
            Ok::<_, AppError>(execution.id)
        };
        let execution = match created.await {
            Ok(execution) => execution,
            Err(error) => {
                self.slot_failed(slot.id, claimed, &caller, &error.message)
                    .await?;
                return Ok(None);
            }
        };
        if let Err(error) = self.runs.send(vec![lease::message(execution)]).await {
            let reason = format!("The run could not be queued: {}", error.message);
            store::fail(self.db, execution, &reason).await?;
            self.conclude(execution).await;
            return Ok(None);
        }
        tracing::info!(schedule_id = %claimed.id, execution_id = %execution, "Scheduled run queued");
        Ok(Some(execution))
    }

    /// A slot whose run could not even be created: failed on the schedule, owner told.
    async fn slot_failed(
        &self,
        slot: Uuid,
        claimed: &Claimed,
        owner: &Caller,
        error: &str,
    ) -> Result<(), AppError> {
        self.db
            .execute(
                "UPDATE schedule_results SET status = 'failed', completed_at = now(), error = :error,
                     duration_ms = 0
                 WHERE id = :slot",
                Params::new().bind("slot", slot).bind("error", error),
            )
            .await?;
        let recorded = record_outcome(self.db, claimed.id, false, Some(error)).await?;
        let schedule = ScheduleRef {
            id: claimed.id,
            name: claimed.name.clone(),
            team_id: claimed.team_id,
        };
        self.tell_owner(
            owner,
            &schedule,
            None,
            false,
            Some(error),
            None,
            recorded.disabled_reason.as_deref(),
        )
        .await;
        Ok(())
    }

    /// After an execution ended (finished, failed, given up): if it is a schedule's run,
    /// its slot gets the outcome and totals (once), the schedule the outcome, and the owner
    /// a notification. Problems are logged: the run's own outcome is already stored.
    pub async fn conclude(&self, execution_id: Uuid) {
        if let Err(error) = self.try_conclude(execution_id).await {
            tracing::error!(%execution_id, error = %error, "The scheduled run's outcome could not be recorded");
        }
    }

    async fn try_conclude(&self, execution_id: Uuid) -> Result<(), AppError> {
        let ended: Option<Ended> = self
            .db
            .query_opt(
                "UPDATE schedule_results s SET completed_at = now(),
                     status = CASE WHEN e.status = 'completed' THEN 'completed' ELSE 'failed' END,
                     duration_ms = LEAST(extract(epoch FROM now() - s.started_at) * 1000, 2147483647)::integer,
                     input_tokens = e.total_input_tokens, output_tokens = e.total_output_tokens,
                     cost = e.total_cost, error = e.error,
                     output = (SELECT r.output FROM prompt_results r
                               WHERE r.execution_id = e.id AND r.status = 'completed'
                               ORDER BY r.position DESC LIMIT 1)
                 FROM assistant_executions e, scheduled_executions se
                 WHERE s.execution_id = :id AND s.status = 'running' AND e.id = s.execution_id
                   AND se.id = s.scheduled_execution_id AND e.status IN ('completed', 'failed', 'cancelled')
                 RETURNING s.id AS slot, se.id AS schedule_id, se.name, se.team_id, se.user_id,
                           e.status, e.error, s.input_tokens, s.output_tokens, s.cost, s.output",
                Params::new().bind("id", execution_id),
            )
            .await?;
        let Some(ended) = ended else {
            return Ok(());
        };
        let success = ended.status == "completed";
        let recorded =
            record_outcome(self.db, ended.schedule_id, success, ended.error.as_deref()).await?;
        let owner = auth::caller_by_id(self.db, ended.user_id).await?;
        let schedule = ScheduleRef {
            id: ended.schedule_id,
            name: ended.name,
            team_id: ended.team_id,
        };
        tracing::info!(slot = %ended.slot, input_tokens = ended.input_tokens, output_tokens = ended.output_tokens,
                       cost = ended.cost.0, "Scheduled run recorded");
        self.tell_owner(
            &owner,
            &schedule,
            Some(execution_id),
            success,
            ended.error.as_deref(),
            ended.output.as_deref(),
            recorded.disabled_reason.as_deref(),
        )
        .await;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn tell_owner(
        &self,
        owner: &Caller,
        schedule: &ScheduleRef,
        execution_id: Option<Uuid>,
        success: bool,
        error: Option<&str>,
        output: Option<&str>,
        disabled: Option<&str>,
    ) {
        let outcome = if success { "completed" } else { "failed" };
        let title = format!("{}: {outcome}", schedule.name);
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
        data.insert("scheduleId".into(), json!(schedule.id));
        if let Some(id) = execution_id {
            data.insert("executionId".into(), json!(id));
        }
        notify::notify(
            self.db,
            self.mailer,
            &Notification {
                user_id: owner.user_id,
                team_id: Some(schedule.team_id),
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
