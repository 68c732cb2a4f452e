//! SES v2 as the mailer: `SendEmail` with `Content::Raw`, the MIME message built by
//! [`crate::notify::mime`] (so attachments go through).

use async_trait::async_trait;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};

use crate::notify::mime::{self, Mailbox};
use crate::ports::mail::{Email, MailError, Mailer};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: Mailbox,
}

impl SesMailer {
    /// Sends as `from`, an identity verified in SES.
    pub fn new(sdk: &aws_config::SdkConfig, from: Mailbox) -> Self {
        Self {
            client: aws_sdk_sesv2::Client::new(sdk),
            from,
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let built = mime::build(&self.from, email)?;
        let raw = RawMessage::builder()
            .data(Blob::new(built.bytes))
            .build()
            .map_err(|e| MailError::Invalid(e.to_string()))?;
        let output = self
            .client
            .send_email()
            .from_email_address(&self.from.address)
            .destination(Destination::builder().to_addresses(email.to.trim()).build())
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(|e| {
                let text = aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string();
                match e.as_service_error() {
                    Some(
                        SendEmailError::TooManyRequestsException(_)
                        | SendEmailError::LimitExceededException(_),
                    ) => MailError::Throttled(text),
                    Some(
                        SendEmailError::MessageRejected(_)
                        | SendEmailError::MailFromDomainNotVerifiedException(_)
                        | SendEmailError::AccountSuspendedException(_)
                        | SendEmailError::SendingPausedException(_)
                        | SendEmailError::BadRequestException(_)
                        | SendEmailError::NotFoundException(_),
                    ) => MailError::Rejected(text),
                    _ => MailError::Unavailable(text),
                }
            })?;
        Ok(output.message_id.unwrap_or(built.message_id))
    }
}
