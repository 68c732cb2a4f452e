//! Schedules as their owners manage them: create for an assistant they may run, with
//! inputs its fields accept; read, change and delete only their own (administrators any).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::recurrence::{DayInput, Frequency, Recurrence, Rule, Timing};
use crate::assistant::{self, validate_inputs};
use crate::auth::Caller;
use crate::data_api::{DataApi, Params, TextArray};
use crate::error::AppError;

/// A schedule as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub id: Uuid,
    pub assistant_id: Uuid,
    pub team_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub inputs: Value,
    pub frequency: Frequency,
    /// Local `HH:MM`, for daily, weekly and monthly.
    pub time: Option<String>,
    /// 0 = Sunday ... 6 = Saturday.
    pub days_of_week: Vec<i64>,
    pub day_of_month: Option<i64>,
    pub cron: Option<String>,
    pub timezone: String,
    pub active: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_status: Option<String>,
    pub consecutive_failures: i64,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Schedule {
    /// The stored timing, as a caller would have written it.
    pub fn timing(&self) -> Timing {
        Timing {
            frequency: Some(self.frequency),
            time: self.time.clone(),
            days_of_week: self
                .days_of_week
                .iter()
                .map(|d| DayInput::Number(*d))
                .collect(),
            day_of_month: self.day_of_month,
            cron: self.cron.clone(),
            timezone: Some(self.timezone.clone()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSchedule {
    pub assistant_id: Uuid,
    pub name: String,
    #[serde(default = "empty_object")]
    pub inputs: Value,
    #[serde(flatten)]
    pub timing: Timing,
    pub active: Option<bool>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// A partial update; timing fields given override the stored ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulePatch {
    pub name: Option<String>,
    pub inputs: Option<Value>,
    pub active: Option<bool>,
    pub frequency: Option<Frequency>,
    pub time: Option<String>,
    pub days_of_week: Option<Vec<DayInput>>,
    pub day_of_month: Option<i64>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
}

/// The columns of [`Schedule`], usable after SELECT and RETURNING.
macro_rules! schedule_columns {
    () => {
        "id, assistant_id AS \"assistantId\", team_id AS \"teamId\", user_id AS \"userId\", name, inputs,
         frequency, to_char(time_of_day, 'HH24:MI') AS time, to_json(days_of_week) AS \"daysOfWeek\",
         day_of_month AS \"dayOfMonth\", cron, timezone, active, next_run_at AS \"nextRunAt\",
         last_run_at AS \"lastRunAt\", last_status AS \"lastStatus\",
         consecutive_failures AS \"consecutiveFailures\", disabled_reason AS \"disabledReason\",
         created_at AS \"createdAt\", updated_at AS \"updatedAt\""
    };
}

fn check_name(name: &str) -> Result<(), AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::validation(
            "A schedule name is 1 to 200 characters, without control characters",
        ));
    }
    Ok(())
}

/// The timing columns of a recurrence, bound for INSERT or UPDATE.
fn bind_timing(params: Params, recurrence: &Recurrence) -> Params {
    let days = TextArray(
        recurrence
            .days_of_week()
            .iter()
            .map(i64::to_string)
            .collect(),
    );
    let (day_of_month, cron) = match &recurrence.rule {
        Rule::Monthly(_, day) => (Some(i64::from(*day)), None),
        Rule::Custom(cron) => (None, Some(cron.source.clone())),
        _ => (None, None),
    };
    params
        .bind("frequency", recurrence.frequency().as_str())
        .bind("time", recurrence.time_of_day())
        .bind("days", days)
        .bind("day_of_month", day_of_month)
        .bind("cron", cron)
        .bind("timezone", recurrence.timezone.name())
}

/// Schedules an assistant the caller may run, with inputs its fields accept.
pub async fn create(
    db: &DataApi,
    caller: &Caller,
    new: &NewSchedule,
) -> Result<Schedule, AppError> {
    check_name(&new.name)?;
    let recurrence = new.timing.parse()?;
    let assistant = assistant::get_runnable(db, caller, new.assistant_id).await?;
    validate_inputs(&assistant.input_fields, &new.inputs)?;
    let params = Params::new()
        .bind("team", assistant.team_id)
        .bind("user", caller.user_id)
        .bind("assistant", assistant.id)
        .bind("name", new.name.trim())
        .bind("inputs", &new.inputs)
        .bind("active", new.active.unwrap_or(true))
        .bind("next", recurrence.next_run_after(Utc::now()));
    Ok(db
        .query_one(
            concat!(
                "INSERT INTO scheduled_executions (team_id, user_id, assistant_id, name, inputs, frequency,
                     time_of_day, days_of_week, day_of_month, cron, timezone, active, next_run_at)
                 VALUES (:team, :user, :assistant, :name, :inputs, :frequency, :time, :days::integer[],
                     :day_of_month, :cron, :timezone, :active, :next)
                 RETURNING ",
                schedule_columns!()
            ),
            bind_timing(params, &recurrence),
        )
        .await?)
}

/// The caller's schedules, newest first.
pub async fn list(db: &DataApi, caller: &Caller) -> Result<Vec<Schedule>, AppError> {
    Ok(db
        .query(
            concat!(
                "SELECT ",
                schedule_columns!(),
                " FROM scheduled_executions WHERE user_id = :user ORDER BY created_at DESC, id"
            ),
            Params::new().bind("user", caller.user_id),
        )
        .await?)
}

/// One schedule, for its owner or an administrator.
pub async fn get(db: &DataApi, caller: &Caller, id: Uuid) -> Result<Schedule, AppError> {
    let schedule: Schedule = db
        .query_opt(
            concat!(
                "SELECT ",
                schedule_columns!(),
                " FROM scheduled_executions WHERE id = :id"
            ),
            Params::new().bind("id", id),
        )
        .await?
        .ok_or_else(|| AppError::not_found("No such schedule"))?;
    if schedule.user_id != caller.user_id && !caller.is_administrator() {
        return Err(AppError::forbidden(
            "Only the schedule's owner or an administrator sees or changes it",
        ));
    }
    Ok(schedule)
}

/// Changes a schedule. New timing or turning it on again computes the next run from now;
/// turning it on also forgets past failures.
pub async fn update(
    db: &DataApi,
    caller: &Caller,
    id: Uuid,
    patch: &SchedulePatch,
) -> Result<Schedule, AppError> {
    let current = get(db, caller, id).await?;
    if let Some(name) = &patch.name {
        check_name(name)?;
    }
    let mut timing = current.timing();
    let retimed = patch.frequency.is_some()
        || patch.time.is_some()
        || patch.days_of_week.is_some()
        || patch.day_of_month.is_some()
        || patch.cron.is_some()
        || patch.timezone.is_some();
    timing.frequency = patch.frequency.or(timing.frequency);
    timing.time = patch.time.clone().or(timing.time);
    timing.days_of_week = patch.days_of_week.clone().unwrap_or(timing.days_of_week);
    timing.day_of_month = patch.day_of_month.or(timing.day_of_month);
    timing.cron = patch.cron.clone().or(timing.cron);
    timing.timezone = patch.timezone.clone().or(timing.timezone);
    let recurrence = timing.parse()?;
    let reactivated = patch.active == Some(true) && !current.active;
    let inputs = patch.inputs.clone().unwrap_or(current.inputs.clone());
    if patch.inputs.is_some() || reactivated {
        // The owner must still be allowed to run it; an administrator only needs its fields.
        let assistant = if current.user_id == caller.user_id {
            assistant::get_runnable(db, caller, current.assistant_id).await?
        } else {
            assistant::get(db, caller, current.assistant_id).await?
        };
        validate_inputs(&assistant.input_fields, &inputs)?;
    }
    let next = if retimed || reactivated {
        recurrence.next_run_after(Utc::now())
    } else {
        current.next_run_at
    };
    let params = Params::new()
        .bind("id", id)
        .bind(
            "name",
            patch.name.as_deref().unwrap_or(&current.name).trim(),
        )
        .bind("inputs", &inputs)
        .bind("active", patch.active.unwrap_or(current.active))
        .bind("reactivated", reactivated)
        .bind("next", next);
    Ok(db
        .query_one(
            concat!(
                "UPDATE scheduled_executions SET name = :name, inputs = :inputs, active = :active,
                     frequency = :frequency, time_of_day = :time, days_of_week = :days::integer[],
                     day_of_month = :day_of_month, cron = :cron, timezone = :timezone, next_run_at = :next,
                     consecutive_failures = CASE WHEN :reactivated THEN 0 ELSE consecutive_failures END,
                     disabled_reason = CASE WHEN :reactivated THEN NULL ELSE disabled_reason END
                 WHERE id = :id RETURNING ",
                schedule_columns!()
            ),
            bind_timing(params, &recurrence),
        )
        .await?)
}

/// Deletes a schedule and its run history.
pub async fn delete(db: &DataApi, caller: &Caller, id: Uuid) -> Result<Schedule, AppError> {
    let schedule = get(db, caller, id).await?;
    db.execute(
        "DELETE FROM scheduled_executions WHERE id = :id",
        Params::new().bind("id", id),
    )
    .await?;
    Ok(schedule)
}
