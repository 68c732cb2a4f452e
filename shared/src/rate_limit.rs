//! Per-user prompts per hour (`chat.prompts_per_hour`, default 60), counted in the database
//! in fixed one-hour windows with one atomic UPSERT, so concurrent requests on any number of
//! Lambda instances never exceed the limit.

use std::sync::LazyLock;
use std::time::Duration;

use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{self, Caller, Claims};
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
    let limit = prompts_per_hour(settings).await?;
    take(db, user, PROMPTS, limit).await
}

/// Signs the caller in and counts one prompt, in one statement for a user who has signed
/// in before (a first sign-in takes the longer way through [`auth::resolve`]). Refuses like
/// [`check_prompt`].
pub async fn sign_in_for_prompt(
    db: &DataApi,
    settings: &Settings,
    claims: &Claims,
) -> Result<(Caller, Allowance), AppError> {
    #[derive(Deserialize)]
    struct SignedIn {
        #[serde(flatten)]
        caller: Caller,
        #[serde(flatten)]
        counted: Counted,
    }
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH counted_user AS ({}), {COUNT_ONE}
             SELECT u.*, counted.count, counted.retry_after_ms FROM counted_user u, counted",
            auth::CALLER
        )
    });
    auth::require_subject(claims)?;
    let limit = prompts_per_hour(settings).await?;
    let signed_in: Option<SignedIn> = db
        .query_opt(
            &SQL,
            Params::new()
                .bind("sub", &claims.sub)
                .bind("bucket", PROMPTS),
        )
        .await?;
    let Some(signed_in) = signed_in else {
        let caller = auth::resolve(db, claims).await?;
        let allowance = take(db, caller.user_id, PROMPTS, limit).await?;
        return Ok((caller, allowance));
    };
    let allowance = judge(signed_in.caller.user_id, PROMPTS, limit, &signed_in.counted)?;
    Ok((signed_in.caller, allowance))
}

/// The bucket prompts are counted in.
const PROMPTS: &str = "prompts";

async fn prompts_per_hour(settings: &Settings) -> Result<i64, AppError> {
    Ok(settings
        .parsed(PROMPTS_PER_HOUR, DEFAULT_PROMPTS_PER_HOUR)
        .await?
        .max(0))
}

/// Counts one request in `bucket` for the user of the `counted_user` row (one upsert; the
/// user's past windows go in the same statement, their rows differ from the upserted one).
const COUNT_ONE: &str = "expired AS (
         DELETE FROM rate_limit_counters r USING counted_user u
         WHERE r.user_id = u.user_id AND r.bucket = :bucket AND r.window_start < date_trunc('hour', now())),
     counted AS (
         INSERT INTO rate_limit_counters AS c (user_id, bucket, window_start, count)
         SELECT user_id, :bucket, date_trunc('hour', now()), 1 FROM counted_user
         ON CONFLICT (user_id, bucket, window_start) DO UPDATE SET count = c.count + 1
         RETURNING c.count::bigint AS count,
             ceil(extract(epoch FROM (c.window_start + interval '1 hour' - now())) * 1000)::bigint AS retry_after_ms)";

#[derive(Deserialize)]
struct Counted {
    count: i64,
    retry_after_ms: i64,
}

/// Counts one request in `bucket` for `user` against `limit` per hour.
pub async fn take(
    db: &DataApi,
    user: Uuid,
    bucket: &str,
    limit: i64,
) -> Result<Allowance, AppError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH counted_user AS (SELECT :user::uuid AS user_id), {COUNT_ONE}
             SELECT count, retry_after_ms FROM counted"
        )
    });
    let counted: Counted = db
        .query_one(
            &SQL,
            Params::new().bind("user", user).bind("bucket", bucket),
        )
        .await?;
    judge(user, bucket, limit, &counted)
}

/// Grants the counted request, or refuses it with the wait until the window ends.
fn judge(user: Uuid, bucket: &str, limit: i64, counted: &Counted) -> Result<Allowance, AppError> {
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
