//! The MIME message both mailers send: multipart/mixed holding multipart/alternative
//! (text, HTML) and the attachments, built by `mail-builder`.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use uuid::Uuid;

use crate::ports::mail::{Email, MailError};

/// SES v2 accepts raw messages up to 40 MB, encoding included.
pub const MAX_MESSAGE_BYTES: usize = 40 * 1024 * 1024;

/// A built message and its `Message-ID` (without angle brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub message_id: String,
    pub bytes: Vec<u8>,
}

/// A mailbox as `NOTIFY_FROM_ADDRESS` spells it: `addr@host` or `Name <addr@host>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

impl Mailbox {
    pub fn parse(text: &str) -> Result<Self, MailError> {
        let text = text.trim();
        let (name, address) = match (text.find('<'), text.strip_suffix('>')) {
            (Some(open), Some(inner)) => {
                let name = text[..open].trim().trim_matches('"').trim();
                (
                    Some(name.to_owned()).filter(|n| !n.is_empty()),
                    &inner[open + 1..],
                )
            }
            _ => (None, text),
        };
        if name
            .as_deref()
            .is_some_and(|n| n.chars().any(char::is_control))
        {
            return Err(MailError::Invalid(format!("{text:?} is not a mailbox")));
        }
        Ok(Self {
            name,
            address: checked_address(address)?.to_owned(),
        })
    }

    /// The domain part, for Message-IDs.
    pub fn domain(&self) -> &str {
        self.address.rsplit('@').next().unwrap_or("localhost")
    }

    fn header(&self) -> Address<'_> {
        match &self.name {
            Some(name) => Address::from((name.as_str(), self.address.as_str())),
            None => Address::from(self.address.as_str()),
        }
    }
}

/// An address we put in a header: one `@`, both sides present, no spaces, controls or
/// characters that would end the header or start another address.
fn checked_address(address: &str) -> Result<&str, MailError> {
    let invalid = || MailError::Invalid(format!("{address:?} is not an e-mail address"));
    let (local, domain) = address.rsplit_once('@').ok_or_else(invalid)?;
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c);
    if local.is_empty()
        || domain.is_empty()
        || address.len() > 254
        || local.contains('@')
        || address.chars().any(bad_char)
    {
        return Err(invalid());
    }
    Ok(address)
}

/// Builds `email` from `from`, refusing bad addresses and oversized messages.
pub fn build(from: &Mailbox, email: &Email) -> Result<Built, MailError> {
    let to = checked_address(email.to.trim())?;
    let subject: String = email
        .subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let message_id = format!("{}@{}", Uuid::new_v4().simple(), from.domain());
    let mut builder = MessageBuilder::new()
        .from(from.header())
        .to(to)
        .subject(subject.trim().to_owned())
        .message_id(message_id.clone())
        .date(chrono::Utc::now().timestamp())
        .text_body(email.text.as_str())
        .html_body(email.html.as_str());
    for attachment in &email.attachments {
        builder = builder.attachment(
            attachment.content_type.as_str(),
            attachment.filename.as_str(),
            attachment.bytes.as_slice(),
        );
    }
    let bytes = builder
        .write_to_vec()
        .map_err(|e| MailError::Invalid(e.to_string()))?;
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(MailError::Invalid(format!(
            "the message is {} bytes; the limit is {MAX_MESSAGE_BYTES}",
            bytes.len()
        )));
    }
    Ok(Built { message_id, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::mail::Attachment;
    use mail_parser::MimeHeaders;

    fn email() -> Email {
        Email {
            to: "ada@example.org".to_owned(),
            subject: "Weekly digest: completed\r\nBcc: evil@example.org".to_owned(),
            html: "<p>Done: <b>3 prompts</b></p>".to_owned(),
            text: "Done: 3 prompts".to_owned(),
            attachments: vec![Attachment {
                filename: "result.md".to_owned(),
                content_type: "text/markdown".to_owned(),
                bytes: "# Result\n\nAll good.\n".repeat(20).into_bytes(),
            }],
        }
    }

    #[test]
    fn a_message_has_text_html_and_the_attachment_and_no_injected_header() {
        let from = Mailbox::parse("AI Studio <notify@studio.example>").unwrap();
        let built = build(&from, &email()).unwrap();
        let parsed = mail_parser::MessageParser::default()
            .parse(&built.bytes)
            .unwrap();
        assert_eq!(
            parsed.subject(),
            Some("Weekly digest: completed  Bcc: evil@example.org")
        );
        assert!(parsed.bcc().is_none());
        assert_eq!(parsed.body_text(0).unwrap().trim(), "Done: 3 prompts");
        assert!(parsed.body_html(0).unwrap().contains("<b>3 prompts</b>"));
        let attachment = parsed.attachment(0).unwrap();
        assert_eq!(attachment.attachment_name(), Some("result.md"));
        assert_eq!(attachment.contents(), email().attachments[0].bytes);
        let sender = parsed.from().unwrap().first().unwrap();
        assert_eq!(sender.name(), Some("AI Studio"));
        assert_eq!(sender.address(), Some("notify@studio.example"));
        assert_eq!(parsed.message_id(), Some(built.message_id.as_str()));
        let raw = String::from_utf8_lossy(&built.bytes);
        assert!(raw.contains("multipart/mixed"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
    }

    #[test]
    fn addresses_that_could_break_the_header_are_refused() {
        let from = Mailbox::parse("notify@studio.example").unwrap();
        assert_eq!(from.name, None);
        for to in [
            "",
            "nobody",
            "a@",
            "@b",
            "a b@c.d",
            "a@b.c\r\nBcc: x@y.z",
            "a@b.c, d@e.f",
        ] {
            let mut e = email();
            e.to = to.to_owned();
            assert!(
                matches!(build(&from, &e), Err(MailError::Invalid(_))),
                "{to:?} accepted"
            );
        }
        assert!(Mailbox::parse("Studio <not an address>").is_err());
    }
}
