//! Writing a notification and delivering its e-mail: each attempt is recorded in
//! `notification_deliveries`; transient failures are retried with capped backoff.

use std::time::Duration;

use serde::Deserialize;
use uuid::Uuid;

use super::Notification;
use crate::data_api::{DataApi, Params};
use crate::ports::mail::{MailError, Mailer};

/// Longest body stored in-app; longer ones are cut (the e-mail keeps the whole result).
const MAX_BODY_CHARS: usize = 16_000;

/// How often and how patiently an e-mail is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            attempts: 3,
            initial_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl Backoff {
    /// The wait after failed attempt `attempt` (1-based): doubling, capped.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }
}

/// What became of the e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailOutcome {
    /// The notification asked for no e-mail.
    NotRequested,
    /// No mailer is configured; the delivery is recorded as skipped.
    Skipped,
    Sent {
        attempts: u32,
        message_id: String,
    },
    Failed {
        attempts: u32,
        error: String,
    },
}

/// What [`notify`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notified {
    /// The in-app notification; `None` when it could not be stored (logged).
    pub id: Option<Uuid>,
    pub email: EmailOutcome,
}

/// [`notify_with`] the default [`Backoff`].
pub async fn notify(
    db: &DataApi,
    mailer: Option<&dyn Mailer>,
    notification: &Notification,
) -> Notified {
    notify_with(db, mailer, notification, Backoff::default()).await
}

/// Stores the in-app notification, then sends its e-mail (if any) through `mailer`,
/// recording every attempt. Never fails: what goes wrong is logged and recorded.
pub async fn notify_with(
    db: &DataApi,
    mailer: Option<&dyn Mailer>,
    notification: &Notification,
    backoff: Backoff,
) -> Notified {
    let id = match store(db, notification).await {
        Ok(id) => Some(id),
        Err(error) => {
            tracing::error!(error = %error, kind = notification.kind.as_str(), "Could not store a notification");
            None
        }
    };
    let Some(email) = &notification.email else {
        return Notified {
            id,
            email: EmailOutcome::NotRequested,
        };
    };
    let Some(mailer) = mailer else {
        if let Some(id) = id {
            record(db, id, "skipped", 0, Some("No mailer is configured")).await;
        }
        return Notified {
            id,
            email: EmailOutcome::Skipped,
        };
    };
    let attempts = backoff.attempts.max(1);
    let mut attempt = 0;
    let email = loop {
        attempt += 1;
        match mailer.send(email).await {
            Ok(message_id) => {
                if let Some(id) = id {
                    record(db, id, "sent", attempt, None).await;
                }
                tracing::info!(notification_id = ?id, attempt, "Notification e-mail sent");
                break EmailOutcome::Sent {
                    attempts: attempt,
                    message_id,
                };
            }
            Err(error) if error.is_transient() && attempt < attempts => {
                let wait = backoff.delay(attempt);
                tracing::warn!(notification_id = ?id, attempt, error = %error, wait_ms = wait.as_millis() as u64, "Notification e-mail failed; retrying");
                if let Some(id) = id {
                    record_retry(db, id, attempt, &error, wait).await;
                }
                tokio::time::sleep(wait).await;
            }
            Err(error) => {
                tracing::error!(notification_id = ?id, attempt, error = %error, "Notification e-mail failed");
                let text = error.to_string();
                if let Some(id) = id {
                    record(db, id, "failed", attempt, Some(&text)).await;
                }
                break EmailOutcome::Failed {
                    attempts: attempt,
                    error: text,
                };
            }
        }
    };
    Notified { id, email }
}

async fn store(db: &DataApi, n: &Notification) -> Result<Uuid, crate::data_api::DbError> {
    #[derive(Deserialize)]
    struct Row {
        id: Uuid,
    }
    let mut data = n.data.clone();
    if let Some(link) = &n.link {
        data.insert("link".to_owned(), serde_json::Value::String(link.clone()));
    }
    let body: String = if n.body.chars().count() > MAX_BODY_CHARS {
        let mut cut: String = n.body.chars().take(MAX_BODY_CHARS).collect();
        cut.push_str("\n\n…");
        cut
    } else {
        n.body.clone()
    };
    let row: Row = db
        .query_one(
            "INSERT INTO notifications (user_id, team_id, kind, title, body, data)
             VALUES (:user_id, :team_id, :kind, :title, :body, :data)
             RETURNING id",
            Params::new()
                .bind("user_id", n.user_id)
                .bind("team_id", n.team_id)
                .bind("kind", n.kind.as_str())
                .bind("title", n.title.as_str())
                .bind("body", body)
                .bind("data", serde_json::Value::Object(data)),
        )
        .await?;
    Ok(row.id)
}

const UPSERT: &str = "INSERT INTO notification_deliveries
        (notification_id, channel, status, attempts, last_error, next_attempt_at, sent_at)
    VALUES (:id, 'email', :status, :attempts, :error,
        CASE WHEN :status = 'pending' THEN now() + make_interval(secs => :wait_ms / 1000.0) END,
        CASE WHEN :status = 'sent' THEN now() END)
    ON CONFLICT (notification_id, channel) DO UPDATE SET
        status = excluded.status, attempts = excluded.attempts, last_error = excluded.last_error,
        next_attempt_at = excluded.next_attempt_at, sent_at = excluded.sent_at";

/// Records the e-mail delivery's state after `attempts`; a failure to record is logged.
async fn record(db: &DataApi, id: Uuid, status: &str, attempts: u32, error: Option<&str>) {
    write(db, id, status, attempts, error, Duration::ZERO).await;
}

async fn record_retry(db: &DataApi, id: Uuid, attempts: u32, error: &MailError, wait: Duration) {
    write(db, id, "pending", attempts, Some(&error.to_string()), wait).await;
}

async fn write(
    db: &DataApi,
    id: Uuid,
    status: &str,
    attempts: u32,
    error: Option<&str>,
    wait: Duration,
) {
    let params = Params::new()
        .bind("id", id)
        .bind("status", status)
        .bind("attempts", attempts)
        .bind("error", error)
        .bind(
            "wait_ms",
            i64::try_from(wait.as_millis()).unwrap_or(i64::MAX),
        );
    if let Err(e) = db.execute(UPSERT, params).await {
        tracing::error!(error = %e, notification_id = %id, status, "Could not record an e-mail delivery");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_stops_at_its_cap() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay(1), Duration::from_secs(2));
        assert_eq!(backoff.delay(2), Duration::from_secs(4));
        assert_eq!(backoff.delay(5), Duration::from_secs(20));
        assert_eq!(backoff.delay(40), Duration::from_secs(20));
    }
}
