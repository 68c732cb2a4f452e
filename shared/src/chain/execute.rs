//! Running executions: every run (on demand, queued by the API; or scheduled, queued by
//! the tick) goes through the assistant-runs queue and [`Executor::run_queued`], which
//! carries it on across invocations. The continuation protocol: an invocation claims the
//! execution with a lease until its deadline ([`lease::claim`]), skips the prompts whose
//! results are stored, and before a stage that does not fit in its remaining time (less
//! [`Executor::margin`]) releases the lease and sends `{"executionId": ...}` to the queue,
//! which the next invocation takes from there.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::lease::{self, MAX_RESUMES, died_reason};
use super::store::Execution;
use super::store::{self, Recorder};
use super::{Budget, ChainPrompt, ChainRun, Services, Step, Tools};
use crate::assistant::{self, Assistant};
use crate::auth::{self, Caller};
use crate::chat::service::{Ledger, Models};
use crate::data_api::DataApi;
use crate::error::AppError;
use crate::ports::Queue;
use crate::ports::embed::Embedder;
use crate::ports::mail::Mailer;

/// Time kept back from an invocation's deadline to store results and hand on the run.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(10);

/// What an executor runs chains with.
pub struct Executor<'a> {
    pub db: &'a DataApi,
    pub models: &'a dyn Models,
    pub ledger: &'a dyn Ledger,
    pub embedder: &'a dyn Embedder,
    pub tools: &'a dyn Tools,
    pub mailer: Option<&'a dyn Mailer>,
    /// The assistant-runs queue: runs to start, continue or resume.
    pub runs: &'a dyn Queue,
    /// Kept back from each invocation's deadline (see [`DEFAULT_MARGIN`]).
    pub margin: Duration,
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
    /// Runs a queued execution for as long as the invocation (ending at `deadline`) allows:
    /// a stale or duplicate message finds it finished or leased and does nothing; a run
    /// taken over after its executor died more than [`MAX_RESUMES`] times is failed; one
    /// that does not finish in this invocation is continued by a message to the queue.
    pub async fn run_queued(
        &self,
        execution_id: Uuid,
        request_id: &str,
        deadline: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let lease = lease::lease_for(deadline);
        let Some(execution) = lease::claim(self.db, execution_id, lease).await? else {
            tracing::info!(%execution_id, "Execution finished or taken");
            return Ok(());
        };
        if execution.resumes > MAX_RESUMES {
            return self.give_up_died(&execution).await;
        }
        let prepared = async {
            let owner = execution
                .user_id
                .ok_or_else(|| AppError::not_found("The execution's user no longer exists"))?;
            let caller = auth::caller_by_id(self.db, owner).await?;
            let assistant =
                assistant::get_runnable(self.db, &caller, execution.assistant_id).await?;
            Ok::<_, AppError>((caller, assistant))
        };
        let (caller, assistant) = match prepared.await {
            Ok(prepared) => prepared,
            Err(error) if error.is_retryable() => return Err(error),
            Err(error) => {
                store::fail(self.db, execution.id, &error.message).await?;
                self.conclude(execution.id).await;
                return Ok(());
            }
        };
        let done = store::done(self.db, execution.id).await?;
        let budget = Budget {
            deadline,
            margin: self.margin,
        };
        match self
            .run_chain(&caller, &assistant, &execution, done, &budget, request_id)
            .await
        {
            Step::Finished(outcome) => {
                store::finish(self.db, execution.id, &outcome).await?;
                tracing::info!(%execution_id, failed = outcome.failed, invocations = execution.invocations, "Execution finished");
                self.conclude(execution.id).await;
            }
            Step::Paused { done } => {
                // Released first: the continuation must find the run free. A death between
                // the two leaves it released; this message comes back, or the sweep
                // queues it again.
                lease::release(self.db, execution.id, lease).await?;
                self.runs.send(vec![lease::message(execution.id)]).await?;
                tracing::info!(%execution_id, done, "Execution continues in another invocation");
            }
        }
        Ok(())
    }

    async fn run_chain(
        &self,
        caller: &Caller,
        assistant: &Assistant,
        execution: &store::Execution,
        done: Vec<super::PromptResult>,
        budget: &Budget,
        request_id: &str,
    ) -> Step {
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
        super::run_from(
            &services,
            &ChainRun {
                execution_id: execution.id,
                caller,
                team_id: execution.team_id,
                prompts: &prompts,
                inputs: &inputs,
                request_id,
            },
            done,
            budget,
        )
        .await
    }
}

impl Executor<'_> {
    /// Fails a run just taken over after more deaths than [`MAX_RESUMES`] allows.
    pub(super) async fn give_up_died(&self, execution: &Execution) -> Result<(), AppError> {
        let done = store::results(self.db, execution.id).await?.len();
        let reason = died_reason(
            execution.resumes,
            i64::try_from(done).unwrap_or(i64::MAX),
            None,
        );
        tracing::warn!(execution_id = %execution.id, reason, "Run given up");
        store::fail(self.db, execution.id, &reason).await?;
        self.conclude(execution.id).await;
        Ok(())
    }
}
