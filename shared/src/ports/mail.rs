//! The mail port: e-mail with attachments, sent by SES v2 on AWS and into a mailbox folder
//! of `.eml` files locally.

use async_trait::async_trait;

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
