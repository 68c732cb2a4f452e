//! Leases on executions, so a run carries on across invocations and survives its executor.
//!
//! An invocation claims an execution with a lease until its own deadline: one UPDATE that
//! takes a `pending` execution, a `running` one whose lease was released (it handed the
//! rest of its chain to a continuation message), or a `running` one whose lease expired
//! (its executor died: counted in `resumes`). A stale or duplicate message finds the
//! execution finished or leased and does nothing. The sweep ([`super::sweep`]) on the
//! minute tick re-enqueues a run whose executor died (once per lease) and a run that waits with no
//! live message (bounded), and fails, with a reason, one that died too often or was never
//! taken.

use chrono::{DateTime, Duration as Span, Utc};
use serde_json::json;
use uuid::Uuid;

use super::store::{COLUMNS, Execution};
use crate::data_api::{DataApi, Params};
use crate::error::AppError;

/// A run is taken over after its executor died at most this often; the next death fails it.
pub const MAX_RESUMES: i32 = 2;
/// A run that waits with no executor taking it is re-enqueued at most this often.
pub const MAX_NUDGES: i32 = 3;
/// How long a run may wait unleased before the sweep thinks its message is gone (the
/// assistant-runs queue's visibility timeout is 15 minutes).
pub const IDLE_MINUTES: i64 = 15;
/// A lease outlives its invocation's deadline by this much (clock differences).
const LEASE_GRACE_SECS: i64 = 5;

/// The lease an invocation with this deadline holds.
pub fn lease_for(deadline: DateTime<Utc>) -> DateTime<Utc> {
    deadline + Span::seconds(LEASE_GRACE_SECS)
}

/// The message that (re)starts or continues a run on the assistant-runs queue.
pub fn message(execution_id: Uuid) -> String {
    json!({ "executionId": execution_id }).to_string()
}

/// Claims the execution until `lease` (see the module); `None` when it is finished or
/// another invocation holds it.
pub async fn claim(
    db: &DataApi,
    id: Uuid,
    lease: DateTime<Utc>,
) -> Result<Option<Execution>, AppError> {
    let sql = format!(
        "UPDATE assistant_executions SET status = 'running', started_at = coalesce(started_at, now()),
             lease_until = :lease, invocations = invocations + 1, updated_at = now(),
             resumes = resumes + CASE WHEN status = 'running' AND lease_until IS NOT NULL THEN 1 ELSE 0 END
         WHERE id = :id AND (status = 'pending'
             OR (status = 'running' AND (lease_until IS NULL OR lease_until < now())))
         RETURNING {COLUMNS}"
    );
    Ok(db
        .query_opt(&sql, Params::new().bind("id", id).bind("lease", lease))
        .await?)
}

/// Gives up the lease `lease` so a continuation message can claim the run; `false` when
/// the lease was no longer ours.
pub async fn release(db: &DataApi, id: Uuid, lease: DateTime<Utc>) -> Result<bool, AppError> {
    let released = db
        .execute(
            "UPDATE assistant_executions SET lease_until = NULL, updated_at = now()
             WHERE id = :id AND status = 'running' AND lease_until = :lease",
            Params::new().bind("id", id).bind("lease", lease),
        )
        .await?;
    Ok(released.rows_updated > 0)
}

/// Why a run whose executor kept dying was given up.
pub fn died_reason(deaths: i32, done: i64, last_lease: Option<DateTime<Utc>>) -> String {
    let kept = match done {
        0 => "no prompt had finished".to_owned(),
        1 => "the 1 prompt that finished is kept".to_owned(),
        n => format!("the {n} prompts that finished are kept"),
    };
    let when = last_lease
        .map(|at| {
            format!(
                " The last attempt ran out at {}.",
                at.format("%Y-%m-%d %H:%M:%S UTC")
            )
        })
        .unwrap_or_default();
    format!(
        "The run stopped before it finished {deaths} times (the scheduled-executor ran out of time or memory, \
         or crashed), so it was given up; {kept}.{when}"
    )
}

/// Why a run that no executor took was given up.
pub fn never_taken_reason(nudges: i32) -> String {
    format!(
        "The run waited for an executor to take it and none did, even after it was queued again {nudges} \
         times over {} minutes (its messages may be in the assistant-runs dead-letter queue).",
        (i64::from(nudges) + 1) * IDLE_MINUTES
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_say_what_happened_and_what_is_kept() {
        assert_eq!(
            died_reason(3, 2, None),
            "The run stopped before it finished 3 times (the scheduled-executor ran out of time or memory, \
             or crashed), so it was given up; the 2 prompts that finished are kept."
        );
        assert!(died_reason(3, 0, None).contains("no prompt had finished"));
        assert!(never_taken_reason(3).contains("3 times over 60 minutes"));
        assert_eq!(
            message(Uuid::nil()),
            r#"{"executionId":"00000000-0000-0000-0000-000000000000"}"#
        );
    }
}
