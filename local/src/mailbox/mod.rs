//! The local mailbox: the SES v2 server that writes each accepted message as an `.eml`
//! file ([`ses`]), and the reader `studio mailbox` lists them with (`mail-parser`).

mod ses;
mod ses_error;

pub use ses::{SesServer, write_eml};

use std::path::{Path, PathBuf};

use anyhow::Context;
use mail_parser::{MessageParser, MimeHeaders};

/// What the listing shows of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub file: PathBuf,
    pub date: String,
    pub to: String,
    pub subject: String,
    pub attachments: Vec<String>,
}

/// The messages in `dir`, oldest first (file names start with the send time).
pub fn messages(dir: &Path) -> anyhow::Result<Vec<Summary>> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", dir.display()));
        }
    };
    files.sort();
    files.into_iter().map(|file| summary(&file)).collect()
}

fn summary(file: &Path) -> anyhow::Result<Summary> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let message = MessageParser::default()
        .parse(&bytes)
        .with_context(|| format!("{} is not an e-mail", file.display()))?;
    let to = message
        .to()
        .map(|to| {
            to.iter()
                .filter_map(|a| a.address())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    Ok(Summary {
        file: file.to_owned(),
        date: message.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        to,
        subject: message.subject().unwrap_or_default().to_owned(),
        attachments: message
            .attachments()
            .map(|a| a.attachment_name().unwrap_or("(unnamed)").to_owned())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::adapters::aws::SesMailer;
    use shared::notify::mime::Mailbox;
    use shared::ports::mail::{Attachment, Email, Mailer};

    #[tokio::test]
    async fn the_listing_shows_what_the_local_ses_wrote() {
        let dir = std::env::temp_dir().join(format!("mailbox-{}", uuid::Uuid::new_v4()));
        assert!(
            messages(&dir).unwrap().is_empty(),
            "a missing folder is empty"
        );
        let ses = SesServer::start(
            "127.0.0.1:0".parse().unwrap(),
            &dir,
            vec!["studio.local".to_owned()],
        )
        .await
        .unwrap();
        let sdk = crate::account::local_sdk_config(&ses.endpoint());
        let mailer = SesMailer::new(&sdk, Mailbox::parse("studio@studio.local").unwrap());
        for subject in ["First run: completed", "Second run: failed"] {
            mailer
                .send(&Email {
                    to: "staff@example.com".to_owned(),
                    subject: subject.to_owned(),
                    html: "<p>hi</p>".to_owned(),
                    text: "hi".to_owned(),
                    attachments: vec![Attachment {
                        filename: "result.md".to_owned(),
                        content_type: "text/markdown".to_owned(),
                        bytes: b"# r".to_vec(),
                    }],
                })
                .await
                .unwrap();
        }
        let listed = messages(&dir).unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|m| m.subject.as_str())
                .collect::<Vec<_>>(),
            ["First run: completed", "Second run: failed"]
        );
        assert_eq!(listed[0].to, "staff@example.com");
        assert_eq!(listed[0].attachments, ["result.md"]);
        assert!(!listed[0].date.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
