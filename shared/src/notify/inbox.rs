//! The in-app side: a user's own notifications, newest first, and marking one read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Caller;
use crate::data_api::{DataApi, Params};
use crate::error::AppError;

/// Most notifications one list returns (bodies are capped, so this stays under 1 MiB).
pub const MAX_LIST: i64 = 50;

/// How the e-mail of a notification fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailDelivery {
    /// `pending` (being retried), `sent`, `failed` or `skipped`.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct NotificationView {
    pub id: Uuid,
    pub team_id: Option<Uuid>,
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    pub link: Option<String>,
    pub data: serde_json::Value,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub email: Option<EmailDelivery>,
}

/// A page of the caller's notifications and how many are unread in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    pub notifications: Vec<NotificationView>,
    pub unread: i64,
}

/// The columns of a [`NotificationView`]; `read_at` comes from `{read_at}` (a data-modifying
/// CTE's RETURNING, since the outer query sees the table as it was).
const COLUMNS: &str = "n.id, n.team_id, n.kind, n.title, n.body, n.data->>'link' AS link, n.data,
        {read_at} AS read_at, n.created_at,
        CASE WHEN d.id IS NULL THEN NULL ELSE jsonb_build_object('status', d.status,
            'attempts', d.attempts, 'lastError', d.last_error, 'sentAt', d.sent_at) END AS email";

const DELIVERY: &str =
    "LEFT JOIN notification_deliveries d ON d.notification_id = n.id AND d.channel = 'email'";

/// The caller's notifications, newest first (`unread_only` leaves out read ones).
pub async fn list(
    db: &DataApi,
    caller: &Caller,
    unread_only: bool,
    limit: i64,
    offset: i64,
) -> Result<Inbox, AppError> {
    if !(1..=MAX_LIST).contains(&limit) || offset < 0 {
        return Err(AppError::validation(format!(
            "limit is 1 to {MAX_LIST} and offset at least 0"
        )));
    }
    let sql = format!(
        "SELECT {} FROM notifications n {DELIVERY}
         WHERE n.user_id = :user_id AND (NOT :unread_only OR n.read_at IS NULL)
         ORDER BY n.created_at DESC, n.id LIMIT :limit OFFSET :offset",
        COLUMNS.replace("{read_at}", "n.read_at")
    );
    let notifications = db
        .query(
            &sql,
            Params::new()
                .bind("user_id", caller.user_id)
                .bind("unread_only", unread_only)
                .bind("limit", limit)
                .bind("offset", offset),
        )
        .await?;
    #[derive(Deserialize)]
    struct Count {
        unread: i64,
    }
    let count: Count = db
        .query_one(
            "SELECT count(*) AS unread FROM notifications WHERE user_id = :user_id AND read_at IS NULL",
            Params::new().bind("user_id", caller.user_id),
        )
        .await?;
    Ok(Inbox {
        notifications,
        unread: count.unread,
    })
}

/// Marks the caller's notification read (once: the first time stays); another user's
/// notification reads as absent.
pub async fn mark_read(
    db: &DataApi,
    caller: &Caller,
    id: Uuid,
) -> Result<NotificationView, AppError> {
    let sql = format!(
        "WITH marked AS (
            UPDATE notifications SET read_at = coalesce(read_at, now())
            WHERE id = :id AND user_id = :user_id RETURNING id, read_at)
         SELECT {} FROM marked m JOIN notifications n ON n.id = m.id {DELIVERY}",
        COLUMNS.replace("{read_at}", "m.read_at")
    );
    db.query_opt(
        &sql,
        Params::new().bind("id", id).bind("user_id", caller.user_id),
    )
    .await?
    .ok_or_else(|| AppError::not_found("No such notification"))
}
