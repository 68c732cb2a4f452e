//! Per-user prompts per hour (`chat.prompts_per_hour`, default 60), counted in the database
//! in fixed one-hour windows with one atomic UPSERT, so concurrent requests on any number of
//! Lambda instances never exceed the limit.

use std::time::Duration;

use serde::Deserialize;
use uuid::Uuid;

use crate::data_api::{DataApi, Params};
use crate::error::AppError;
use crate::settings::Settings;

/// The setting holding the hourly prompt limit.
pub const PROMPTS_PER_HOUR: &str = "chat.prompts_per_hour";
pub const DEFAULT_PROMPTS_PER_HOUR: i64 = 60;

/// What a granted request learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub limit: i64,
    /// Requests left in this window after this one.
    pub remaining: i64,
}

/// Counts one prompt for `user` and refuses it with `rate_limited` (and the seconds until
/// the window ends) when it passes the hourly limit from settings.
pub async fn check_prompt(
    db: &DataApi,
    settings: &Settings,
    user: Uuid,
) -> Result<Allowance, AppError> {
    let limit = settings
        .parsed(PROMPTS_PER_HOUR, DEFAULT_PROMPTS_PER_HOUR)
        .await?
        .max(0);
    take(db, user, "prompts", limit).await
}

/// Counts one request in `bucket` for `user` against `limit` per hour.
pub async fn take(
    db: &DataApi,
    user: Uuid,
    bucket: &str,
    limit: i64,
) -> Result<Allowance, AppError> {
    #[derive(Deserialize)]
    struct Counted {
        count: i64,
        retry_after_ms: i64,
    }
    // Past windows of this user go in the same statement (their rows differ from the upserted one).
    let counted: Counted = db
        .query_one(
            "WITH expired AS (
                 DELETE FROM rate_limit_counters
                 WHERE user_id = :user AND bucket = :bucket AND window_start < date_trunc('hour', now()))
             INSERT INTO rate_limit_counters AS c (user_id, bucket, window_start, count)
             VALUES (:user, :bucket, date_trunc('hour', now()), 1)
             ON CONFLICT (user_id, bucket, window_start) DO UPDATE SET count = c.count + 1
             RETURNING c.count::bigint AS count,
                 ceil(extract(epoch FROM (c.window_start + interval '1 hour' - now())) * 1000)::bigint AS retry_after_ms",
            Params::new().bind("user", user).bind("bucket", bucket),
        )
        .await?;
    if counted.count > limit {
        let wait = Duration::from_millis(u64::try_from(counted.retry_after_ms).unwrap_or(0));
        tracing::info!(user_id = %user, bucket, limit, "Rate limit reached");
        return Err(AppError::rate_limited(
            format!(
                "You have sent {limit} prompts this hour; try again in {} minutes",
                wait.as_secs().div_ceil(60).max(1)
            ),
            wait,
        ));
    }
    Ok(Allowance {
        limit,
        remaining: limit - counted.count,
    })
}
