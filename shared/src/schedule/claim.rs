//! How executors take due schedules without running one twice, and what a run's outcome
//! does to its schedule.
//!
//! The claim is optimistic: read the due rows, compute each one's next run in Rust (time
//! zones and cron need it), then move them all in ONE statement that only touches a row
//! whose `next_run_at` is still the value read and that no other claim holds locked
//! (`FOR UPDATE SKIP LOCKED`). A concurrent claimer either skips the locked row or, once
//! the first commits, no longer matches it. The next run is computed from `now`, so a
//! schedule that was due for hours (downtime) runs once and then lies in the future.
//! A claimed run is at most once per slot (`schedule_results`); it is queued as an
//! execution on the assistant-runs queue, which survives an executor that dies mid-run
//! (see `crate::chain::lease`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::recurrence::{DayInput, Frequency, Timing};
use crate::data_api::{DataApi, Params};
use crate::error::AppError;

/// The setting that says after how many consecutive failures a schedule turns off.
pub const MAX_FAILURES_SETTING: &str = "schedule.max_consecutive_failures";
/// Its value when unset.
pub const DEFAULT_MAX_FAILURES: i64 = 3;

/// A schedule an executor now owns for one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claimed {
    pub id: Uuid,
    pub team_id: Uuid,
    pub user_id: Uuid,
    pub assistant_id: Uuid,
    pub name: String,
    pub inputs: Value,
    /// The `next_run_at` this run was claimed for (the `schedule_results` slot).
    pub scheduled_for: DateTime<Utc>,
    /// When it runs again; `None` when it has no future run and was turned off.
    pub next_run_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Due {
    id: Uuid,
    frequency: Frequency,
    time: Option<String>,
    days_of_week: Vec<i64>,
    day_of_month: Option<i64>,
    cron: Option<String>,
    timezone: String,
    next_run_at: DateTime<Utc>,
}

/// Claims up to `limit` schedules due at `now` for `claimer` (a request id, for logs).
/// Rows another claimer took meanwhile are skipped; the read is retried a few times so
/// a claimer that lost every race still gets what is left.
pub async fn claim_due(
    db: &DataApi,
    now: DateTime<Utc>,
    limit: i64,
    claimer: &str,
) -> Result<Vec<Claimed>, AppError> {
    for _ in 0..3 {
        let due: Vec<Due> = db
            .query(
                "SELECT id, frequency, to_char(time_of_day, 'HH24:MI') AS time,
                        to_json(days_of_week) AS \"daysOfWeek\", day_of_month AS \"dayOfMonth\",
                        cron, timezone, next_run_at AS \"nextRunAt\"
                 FROM scheduled_executions WHERE active AND next_run_at <= :now
                 ORDER BY next_run_at, id LIMIT :limit",
                Params::new()
                    .bind("now", now)
                    .bind("limit", limit.clamp(1, 500)),
            )
            .await?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let claims: Vec<Value> = due.iter().map(|d| plan(d, now)).collect();
        let claimed: Vec<Claimed> = db
            .query(
                "UPDATE scheduled_executions s
                 SET next_run_at = c.next, claimed_at = :now, claimed_by = :claimer,
                     active = c.next IS NOT NULL,
                     disabled_reason = CASE WHEN c.next IS NULL THEN c.reason ELSE s.disabled_reason END
                 FROM jsonb_to_recordset(:claims::jsonb) AS c(id uuid, seen timestamptz, next timestamptz, reason text)
                 WHERE s.id = c.id AND s.active AND s.next_run_at = c.seen
                   AND s.id IN (SELECT l.id FROM scheduled_executions l
                                WHERE l.id IN (SELECT (x ->> 'id')::uuid FROM jsonb_array_elements(:claims::jsonb) x)
                                FOR UPDATE SKIP LOCKED)
                 RETURNING s.id, s.team_id AS \"teamId\", s.user_id AS \"userId\", s.assistant_id AS \"assistantId\",
                           s.name, s.inputs, c.seen AS \"scheduledFor\", s.next_run_at AS \"nextRunAt\"",
                Params::new()
                    .bind("now", now)
                    .bind("claimer", claimer)
                    .bind("claims", Value::Array(claims)),
            )
            .await?;
        if !claimed.is_empty() {
            tracing::info!(claimer, claimed = claimed.len(), "Schedules claimed");
            return Ok(claimed);
        }
    }
    Ok(Vec::new())
}

/// The claim of one due row: its next run after `now`, or why it has none.
fn plan(due: &Due, now: DateTime<Utc>) -> Value {
    let timing = Timing {
        frequency: Some(due.frequency),
        time: due.time.clone(),
        days_of_week: due
            .days_of_week
            .iter()
            .map(|d| DayInput::Number(*d))
            .collect(),
        day_of_month: due.day_of_month,
        cron: due.cron.clone(),
        timezone: Some(due.timezone.clone()),
    };
    let (next, reason) = match timing.recurrence() {
        Ok(recurrence) => match recurrence.next_run_after(now) {
            Some(next) => (Some(next), None),
            None => (None, Some("The schedule has no future run".to_owned())),
        },
        Err(e) => (
            None,
            Some(format!(
                "The schedule's timing is no longer valid: {}",
                e.message
            )),
        ),
    };
    json!({
        "id": due.id,
        "seen": due.next_run_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "next": next.map(|n| n.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        "reason": reason,
    })
}

/// What recording an outcome did to the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeRecorded {
    pub active: bool,
    pub consecutive_failures: i64,
    /// Set when this failure turned the schedule off.
    pub disabled_reason: Option<String>,
}

/// Records a finished run: success resets the failure count; a failure counts, and the
/// failure that reaches the `schedule.max_consecutive_failures` setting (default 3) turns
/// the schedule off with a reason. Releases the claim.
pub async fn record_outcome(
    db: &DataApi,
    schedule_id: Uuid,
    success: bool,
    error: Option<&str>,
) -> Result<OutcomeRecorded, AppError> {
    db.query_opt(
        "UPDATE scheduled_executions s SET
             last_run_at = now(), claimed_at = NULL, claimed_by = NULL,
             last_status = CASE WHEN :success THEN 'completed' ELSE 'failed' END,
             consecutive_failures = CASE WHEN :success THEN 0 ELSE s.consecutive_failures + 1 END,
             active = s.active AND (:success OR s.consecutive_failures + 1 < lim.n),
             disabled_reason = CASE WHEN s.active AND NOT :success AND s.consecutive_failures + 1 >= lim.n
                 THEN 'Turned off after ' || (s.consecutive_failures + 1) || ' consecutive failures; the last: '
                      || coalesce(:error, 'no reason given')
                 ELSE s.disabled_reason END
         FROM (SELECT coalesce((SELECT value::integer FROM settings
                                WHERE key = :setting AND value ~ '^[1-9][0-9]{0,3}$'), :default) AS n) lim
         WHERE s.id = :id
         RETURNING s.active, s.consecutive_failures AS \"consecutiveFailures\", s.disabled_reason AS \"disabledReason\"",
        Params::new()
            .bind("id", schedule_id)
            .bind("success", success)
            .bind("error", error)
            .bind("setting", MAX_FAILURES_SETTING)
            .bind("default", DEFAULT_MAX_FAILURES),
    )
    .await?
    .ok_or_else(|| AppError::not_found("No such schedule"))
}
