//! The minute tick's sweep over runs nobody is working on (see [`super::lease`]).

use chrono::{DateTime, Duration as Span, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::execute::Executor;
use super::lease::{
    IDLE_MINUTES, MAX_NUDGES, MAX_RESUMES, died_reason, message, never_taken_reason,
};
use crate::data_api::Params;
use crate::error::AppError;

/// Executions looked at per sweep.
const SWEEP_LIMIT: i64 = 100;

#[derive(Debug, Deserialize)]
struct Stalled {
    id: Uuid,
    lease_until: Option<DateTime<Utc>>,
    resumes: i32,
    nudges: i32,
    done: i64,
}

/// What the sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    /// Runs queued again (their executor died, or they waited with no live message).
    pub requeued: Vec<Uuid>,
    /// Runs given up, with their reasons.
    pub failed: Vec<(Uuid, String)>,
}

impl Executor<'_> {
    /// Looks after the runs nobody is working on, as of `now`: a `running` execution whose
    /// lease expired (its executor died) is queued again once per lease, or failed after
    /// [`MAX_RESUMES`] resumes; one that waits unleased (`pending`, or released) for
    /// [`IDLE_MINUTES`] is queued again, or failed after [`MAX_NUDGES`] reminders. A
    /// scheduled run that fails here is recorded on its schedule and its owner told.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<Swept, AppError> {
        let idle = now - Span::minutes(IDLE_MINUTES);
        let stalled: Vec<Stalled> = self
            .db
            .query(
                "SELECT e.id, e.lease_until, e.resumes, e.nudges,
                        (SELECT count(*) FROM prompt_results r WHERE r.execution_id = e.id) AS done
                 FROM assistant_executions e
                 WHERE (e.status = 'running' AND e.lease_until < :now
                        AND (e.nudged_at IS NULL OR e.nudged_at < e.lease_until))
                    OR ((e.status = 'pending' OR (e.status = 'running' AND e.lease_until IS NULL))
                        AND e.updated_at < :idle)
                 ORDER BY e.updated_at LIMIT :limit",
                Params::new()
                    .bind("now", now)
                    .bind("idle", idle)
                    .bind("limit", SWEEP_LIMIT),
            )
            .await?;
        let mut swept = Swept::default();
        for run in stalled {
            // Each change re-checks, in its WHERE, that the run is still as it was read.
            let (give_up, reason, still, nudge, at) = match run.lease_until {
                Some(lease) => (
                    run.resumes >= MAX_RESUMES,
                    died_reason(run.resumes + 1, run.done, Some(lease)),
                    "status = 'running' AND lease_until < :at AND (nudged_at IS NULL OR nudged_at < lease_until)",
                    "nudged_at = now()",
                    now,
                ),
                None => (
                    run.nudges >= MAX_NUDGES,
                    never_taken_reason(run.nudges),
                    "(status = 'pending' OR (status = 'running' AND lease_until IS NULL)) AND updated_at < :at",
                    "nudged_at = now(), nudges = nudges + 1",
                    idle,
                ),
            };
            let params = Params::new().bind("id", run.id).bind("at", at);
            if give_up {
                let sql = format!(
                    "UPDATE assistant_executions SET status = 'failed', error = :reason, completed_at = now(),
                         lease_until = NULL
                     WHERE id = :id AND {still}"
                );
                let params = params.bind("reason", reason.as_str());
                if self.db.execute(&sql, params).await?.rows_updated > 0 {
                    tracing::warn!(execution_id = %run.id, reason, "Stalled run given up");
                    self.conclude(run.id).await;
                    swept.failed.push((run.id, reason));
                }
                continue;
            }
            let sql = format!("UPDATE assistant_executions SET {nudge} WHERE id = :id AND {still}");
            if self.db.execute(&sql, params).await?.rows_updated > 0 {
                self.runs.send(vec![message(run.id)]).await?;
                tracing::info!(execution_id = %run.id, died = run.lease_until.is_some(), "Stalled run queued again");
                swept.requeued.push(run.id);
            }
        }
        Ok(swept)
    }
}
