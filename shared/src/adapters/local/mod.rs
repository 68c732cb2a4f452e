//! Local adapters for ports whose AWS service has no local equivalent that works for us
//! (moto's Textract returns canned text): real implementations, same wire shapes.

mod mailer;
mod ocr;

pub use mailer::MailboxMailer;
pub use ocr::{TesseractLimits, TesseractOcr};
