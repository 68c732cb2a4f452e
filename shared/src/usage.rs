//! The usage ledger: one `usage_events` row per model call with its exact cost, and the
//! administrators' report of tokens, cost and calls per user, model or team.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Caller;
use crate::chat::relay::Relayed;
use crate::chat::service::{Ledger, Speaker};
use crate::data_api::{self, DataApi, Params};
use crate::error::AppError;
use crate::models::AiModel;
use crate::ports::chat::Usage;

/// Which feature made the call (`usage_events.feature`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    Chat,
    Compare,
    Assistant,
    OpenaiCompat,
}

impl Feature {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Compare => "compare",
            Self::Assistant => "assistant",
            Self::OpenaiCompat => "openai_compat",
        }
    }
}

/// One model call to record.
#[derive(Debug, Clone)]
pub struct UsageRecord<'a> {
    pub user: Option<Uuid>,
    pub team: Option<Uuid>,
    /// The model called (its row gives the id, provider, model id and prices).
    pub model: &'a AiModel,
    pub feature: Feature,
    pub usage: Usage,
    pub latency: Option<Duration>,
    pub request_id: Option<&'a str>,
}

/// Writes the ledger row (one Data API call) and returns the call's exact cost in USD.
pub async fn record(db: &DataApi, record: &UsageRecord<'_>) -> Result<Decimal, AppError> {
    let cost = record.model.prices.cost(&record.usage);
    let tokens = |n: u64| {
        i64::try_from(n)
            .unwrap_or(i64::MAX)
            .min(i64::from(i32::MAX))
    };
    db.execute(
        "INSERT INTO usage_events (user_id, team_id, ai_model_id, provider, model_id, feature, input_tokens,
             output_tokens, cached_tokens, reasoning_tokens, cost, latency_ms, request_id)
         VALUES (:user, :team, :ai_model, :provider, :model_id, :feature, :input, :output, :cached, :reasoning,
             :cost, :latency, :request_id)",
        Params::new()
            .bind("user", record.user)
            .bind("team", record.team)
            .bind("ai_model", record.model.id)
            .bind("provider", record.model.provider.as_str())
            .bind("model_id", record.model.model_id.as_str())
            .bind("feature", record.feature.as_str())
            .bind("input", tokens(record.usage.input_tokens))
            .bind("output", tokens(record.usage.output_tokens))
            .bind("cached", tokens(record.usage.cached_input_tokens))
            .bind("reasoning", tokens(record.usage.reasoning_tokens))
            .bind("cost", data_api::Decimal(cost.to_string()))
            .bind(
                "latency",
                record
                    .latency
                    .map(|l| i64::try_from(l.as_millis()).unwrap_or(i64::MAX).min(i64::from(i32::MAX))),
            )
            .bind("request_id", record.request_id),
    )
    .await?;
    Ok(cost)
}

/// What the report totals by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    User,
    Model,
    Team,
}

impl std::str::FromStr for GroupBy {
    type Err = AppError;

    fn from_str(text: &str) -> Result<Self, AppError> {
        match text {
            "user" => Ok(Self::User),
            "model" => Ok(Self::Model),
            "team" => Ok(Self::Team),
            other => Err(AppError::validation(format!(
                "groupBy {other:?} is not user, model or team"
            ))),
        }
    }
}

/// Totals of one group. `key` is the user's, model's or team's id (absent when the row
/// it named was deleted), `label` its e-mail, `provider/model_id` or name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct UsageTotal {
    pub key: Option<String>,
    pub label: Option<String>,
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub reasoning_tokens: i64,
    pub cost: Decimal,
}

const TOTALS: &str = "count(*) AS calls, coalesce(sum(e.input_tokens), 0)::bigint AS input_tokens,
    coalesce(sum(e.output_tokens), 0)::bigint AS output_tokens, coalesce(sum(e.cached_tokens), 0)::bigint AS cached_tokens,
    coalesce(sum(e.reasoning_tokens), 0)::bigint AS reasoning_tokens, coalesce(sum(e.cost), 0) AS cost";

/// Totals per group of the calls made in `[from, to)`, costliest first; administrators only.
pub async fn report(
    db: &DataApi,
    caller: &Caller,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: GroupBy,
) -> Result<Vec<UsageTotal>, AppError> {
    if !caller.is_administrator() {
        return Err(AppError::forbidden("Only administrators see usage reports"));
    }
    if from >= to {
        return Err(AppError::validation("from must be before to"));
    }
    // One fixed statement per grouping; nothing from the request reaches the SQL text.
    let sql = match group_by {
        GroupBy::User => format!(
            "SELECT e.user_id::text AS key, u.email AS label, {TOTALS}
             FROM usage_events e LEFT JOIN users u ON u.id = e.user_id
             WHERE e.created_at >= :from AND e.created_at < :to
             GROUP BY e.user_id, u.email ORDER BY sum(e.cost) DESC, label"
        ),
        GroupBy::Model => format!(
            "SELECT e.ai_model_id::text AS key, e.provider || '/' || e.model_id AS label, {TOTALS}
             FROM usage_events e
             WHERE e.created_at >= :from AND e.created_at < :to
             GROUP BY e.ai_model_id, e.provider, e.model_id ORDER BY sum(e.cost) DESC, label"
        ),
        GroupBy::Team => format!(
            "SELECT e.team_id::text AS key, t.name AS label, {TOTALS}
             FROM usage_events e LEFT JOIN teams t ON t.id = e.team_id
             WHERE e.created_at >= :from AND e.created_at < :to
             GROUP BY e.team_id, t.name ORDER BY sum(e.cost) DESC, label"
        ),
    };
    Ok(db
        .query(&sql, Params::new().bind("from", from).bind("to", to))
        .await?)
}

/// How far back a report reaches when `from` is not given.
pub const DEFAULT_REPORT_DAYS: i64 = 30;

/// The report period from the query's `from` and `to` (defaults: the last 30 days to now).
pub fn period(
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let to = match to {
        Some(text) => parse_bound("to", text, true)?,
        None => now,
    };
    let from = match from {
        Some(text) => parse_bound("from", text, false)?,
        None => to - chrono::Duration::days(DEFAULT_REPORT_DAYS),
    };
    Ok((from, to))
}

/// Reads a report bound: an RFC 3339 time, or a date (`2025-01-31`). A date `to` includes
/// its whole day.
pub fn parse_bound(name: &str, text: &str, is_end: bool) -> Result<DateTime<Utc>, AppError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        AppError::validation(format!(
            "{name} {text:?} is not a date (2025-01-31) or an RFC 3339 time"
        ))
    })?;
    let date = if is_end {
        date.succ_opt()
            .ok_or_else(|| AppError::validation(format!("{name} is out of range")))?
    } else {
        date
    };
    Ok(date.and_time(chrono::NaiveTime::MIN).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_end_includes_its_whole_day() {
        let from = parse_bound("from", "2025-03-01", false).unwrap();
        let to = parse_bound("to", "2025-03-01", true).unwrap();
        assert_eq!(from.to_rfc3339(), "2025-03-01T00:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2025-03-02T00:00:00+00:00");
        let at = parse_bound("from", "2025-03-01T10:00:00+02:00", false).unwrap();
        assert_eq!(at.to_rfc3339(), "2025-03-01T08:00:00+00:00");
    }

    #[test]
    fn bad_bounds_and_groupings_are_validation_errors() {
        let error = parse_bound("from", "yesterday", false).unwrap_err();
        assert_eq!(error.code, crate::ErrorCode::Validation);
        assert!(error.message.contains("yesterday"));
        let error = "day".parse::<GroupBy>().unwrap_err();
        assert_eq!(error.code, crate::ErrorCode::Validation);
    }
}

/// The usage ledger behind chat, compare, assistants and the OpenAI-compatible endpoint:
/// one row per model call, priced with the model that actually answered.
#[derive(Clone)]
pub struct UsageLedger {
    pub db: DataApi,
}

#[async_trait::async_trait]
impl Ledger for UsageLedger {
    async fn record(
        &self,
        feature: &'static str,
        caller: &Caller,
        team_id: Uuid,
        speaker: &Speaker,
        relayed: &Relayed,
        request_id: &str,
    ) -> Result<data_api::Decimal, AppError> {
        let feature = match feature {
            "chat" => Feature::Chat,
            "compare" => Feature::Compare,
            "assistant" => Feature::Assistant,
            _ => Feature::OpenaiCompat,
        };
        let Some(model) = speaker
            .models
            .get(relayed.answered_by)
            .or(speaker.models.first())
        else {
            return Err(AppError::internal(
                "A model call has no model row to price it",
            ));
        };
        let cost = record(
            &self.db,
            &UsageRecord {
                user: Some(caller.user_id),
                team: Some(team_id),
                model,
                feature,
                usage: relayed.usage,
                latency: Some(relayed.latency),
                request_id: Some(request_id),
            },
        )
        .await?;
        Ok(data_api::Decimal(cost.to_string()))
    }
}
