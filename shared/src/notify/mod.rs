//! Notifications: an in-app row for the user, and an e-mail through the [`Mailer`] port
//! whose every attempt is recorded. A send that keeps failing is recorded as failed and
//! logged; it never fails the run that asked for the notification.

mod deliver;
pub mod inbox;
pub mod mime;

use serde::Serialize;
use uuid::Uuid;

use crate::ports::mail::Email;

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
