//! Local adapters for ports whose AWS service has no local equivalent that works for us:
//! real implementations, same wire shapes.

mod mailer;

pub use mailer::MailboxMailer;
