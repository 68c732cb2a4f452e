//! A mailbox folder as the mailer: each message is written as an `.eml` file, the same
//! MIME bytes SES would get, so a person (or a test) can open what was sent.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::notify::mime::{self, Mailbox};
use crate::notify::{Email, MailError, Mailer};

#[derive(Debug, Clone)]
pub struct MailboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl MailboxMailer {
    /// Writes into `dir` (created when missing) as sender `from`.
    pub fn new(dir: impl Into<PathBuf>, from: Mailbox) -> Self {
        Self {
            dir: dir.into(),
            from,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for MailboxMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let built = mime::build(&self.from, email)?;
        let name = format!(
            "{}-{}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            built.message_id.split('@').next().unwrap_or("message")
        );
        let unavailable = |e: std::io::Error| {
            MailError::Unavailable(format!("cannot write to {}: {e}", self.dir.display()))
        };
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(unavailable)?;
        // Written aside, then renamed: a reader never sees half a message.
        let partial = self.dir.join(format!(".{name}.partial"));
        tokio::fs::write(&partial, &built.bytes)
            .await
            .map_err(unavailable)?;
        tokio::fs::rename(&partial, self.dir.join(&name))
            .await
            .map_err(unavailable)?;
        tracing::info!(file = %name, "E-mail written to the local mailbox");
        Ok(built.message_id)
    }
}
