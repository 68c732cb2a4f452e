//! Notifications: an in-app row for the user, and an e-mail through the [`Mailer`] port
//! whose every attempt is recorded. A send that keeps failing is recorded as failed and
//! logged; it never fails the run that asked for the notification.

mod deliver;
pub mod inbox;
pub mod mime;

use async_trait::async_trait;
use serde::Serialize;
use uuid::Uuid;

pub use deliver::{Backoff, EmailOutcome, Notified, notify, notify_with};
pub use inbox::{EmailDelivery, Inbox, NotificationView, list, mark_read};

/// What a notification is about; stored as `notifications.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    #[serde(rename = "schedule.completed")]
    ScheduleCompleted,
    #[serde(rename = "schedule.failed")]
    ScheduleFailed,
    /// A schedule was switched off after repeated failures.
    #[serde(rename = "schedule.disabled")]
    ScheduleDisabled,
    #[serde(rename = "execution.completed")]
    ExecutionCompleted,
    #[serde(rename = "execution.failed")]
    ExecutionFailed,
    #[serde(rename = "assistant.approved")]
    AssistantApproved,
    #[serde(rename = "assistant.rejected")]
    AssistantRejected,
    #[serde(rename = "item.failed")]
    ItemFailed,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScheduleCompleted => "schedule.completed",
            Self::ScheduleFailed => "schedule.failed",
            Self::ScheduleDisabled => "schedule.disabled",
            Self::ExecutionCompleted => "execution.completed",
            Self::ExecutionFailed => "execution.failed",
            Self::AssistantApproved => "assistant.approved",
            Self::AssistantRejected => "assistant.rejected",
            Self::ItemFailed => "item.failed",
        }
    }
}

/// A file sent with an e-mail (e.g. a run's result as Markdown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// One e-mail to one recipient, with a text and an HTML body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub attachments: Vec<Attachment>,
}

/// What to tell a user: always an in-app notification, and an e-mail when `email` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub user_id: Uuid,
    pub team_id: Option<Uuid>,
    pub kind: Kind,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// Where the front end takes the user (a path such as `/executions/<id>`).
    pub link: Option<String>,
    /// Ids the front end links to (`executionId`, `scheduleId`...); a JSON object.
    pub data: serde_json::Map<String, serde_json::Value>,
    pub email: Option<Email>,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The service could not be reached or failed; a later attempt may succeed.
    #[error("the mail service is unavailable: {0}")]
    Unavailable(String),
    /// The service asked us to slow down.
    #[error("the mail service is throttling: {0}")]
    Throttled(String),
    /// The service refused this message (unverified sender, bad address); retrying is useless.
    #[error("the message was refused: {0}")]
    Rejected(String),
    /// The message could not be built (bad address, too large).
    #[error("the message is invalid: {0}")]
    Invalid(String),
}

impl MailError {
    /// Whether another attempt might succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Throttled(_))
    }
}

/// Sends e-mail: SES v2 on AWS, a mailbox folder of `.eml` files locally.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `email`; returns the id the service gave the message.
    async fn send(&self, email: &Email) -> Result<String, MailError>;
}
