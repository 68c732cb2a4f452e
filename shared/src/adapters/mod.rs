//! Implementations of the ports: AWS services through the official SDK clients (which the
//! local stack serves through moto), local tools where moto falls short; one file per port.

pub mod aws;
pub mod local;

use std::sync::Arc;

use crate::config::{self, ConfigError};
use crate::notify::Mailer;
use crate::notify::mime::Mailbox;
use crate::ocr::OcrEngine;
use crate::ports::ObjectStore;

/// The OCR engine `OCR_PROVIDER` names: `textract` (needs `DOCUMENTS_BUCKET`,
/// `TEXTRACT_TOPIC_ARN`, `TEXTRACT_ROLE_ARN`), `tesseract` (needs `DOCUMENTS_BUCKET`,
/// `OCR_COMPLETION_QUEUE_URL`), or `none` / unset: no OCR.
pub fn ocr_from_env(
    sdk: &aws_config::SdkConfig,
    store: Arc<dyn ObjectStore>,
) -> Result<Option<Arc<dyn OcrEngine>>, ConfigError> {
    let provider = std::env::var("OCR_PROVIDER").unwrap_or_default();
    match provider.trim() {
        "" | "none" => Ok(None),
        "textract" => Ok(Some(Arc::new(aws::TextractOcr::new(
            aws_sdk_textract::Client::new(sdk),
            &config::required("DOCUMENTS_BUCKET")?,
            &config::required("TEXTRACT_TOPIC_ARN")?,
            &config::required("TEXTRACT_ROLE_ARN")?,
        )))),
        "tesseract" => Ok(Some(Arc::new(local::TesseractOcr::new(
            store,
            aws_sdk_sqs::Client::new(sdk),
            &config::required("DOCUMENTS_BUCKET")?,
            &config::required("OCR_COMPLETION_QUEUE_URL")?,
        )))),
        other => Err(ConfigError::Invalid {
            name: "OCR_PROVIDER",
            reason: format!("{other:?} is not one of textract, tesseract, none"),
        }),
    }
}

/// The sender local mail shows when `NOTIFY_FROM_ADDRESS` is unset.
pub const LOCAL_FROM_ADDRESS: &str = "AI Studio <notifications@studio.local>";

/// The mailer the environment names. `NOTIFY_MAILER=ses`: SES v2, sending as
/// `NOTIFY_FROM_ADDRESS` (required, a verified identity). `NOTIFY_MAILER=mailbox`, or unset
/// with `STUDIO_MAILBOX_DIR` set: `.eml` files in `STUDIO_MAILBOX_DIR`. `none`, or nothing
/// set: no mailer (e-mails are recorded as skipped).
pub fn mailer_from_env(
    sdk: &aws_config::SdkConfig,
) -> Result<Option<Arc<dyn Mailer>>, ConfigError> {
    mailer_from_lookup(sdk, |name| std::env::var(name).ok())
}

/// [`mailer_from_env`] reading variables through `lookup`.
pub fn mailer_from_lookup(
    sdk: &aws_config::SdkConfig,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<Arc<dyn Mailer>>, ConfigError> {
    let value = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let from = |fallback: Option<&str>| -> Result<Mailbox, ConfigError> {
        let text = value("NOTIFY_FROM_ADDRESS")
            .or(fallback.map(str::to_owned))
            .ok_or(ConfigError::Missing(vec!["NOTIFY_FROM_ADDRESS"]))?;
        Mailbox::parse(&text).map_err(|e| ConfigError::Invalid {
            name: "NOTIFY_FROM_ADDRESS",
            reason: e.to_string(),
        })
    };
    let mode = value("NOTIFY_MAILER").map(|m| m.trim().to_owned());
    match (mode.as_deref(), value("STUDIO_MAILBOX_DIR")) {
        (Some("ses"), _) => Ok(Some(Arc::new(aws::SesMailer::new(sdk, from(None)?)))),
        (Some("mailbox") | None, Some(dir)) => Ok(Some(Arc::new(local::MailboxMailer::new(
            dir,
            from(Some(LOCAL_FROM_ADDRESS))?,
        )))),
        (Some("mailbox"), None) => Err(ConfigError::Missing(vec!["STUDIO_MAILBOX_DIR"])),
        (Some("none") | None, _) => Ok(None),
        (Some(other), _) => Err(ConfigError::Invalid {
            name: "NOTIFY_MAILER",
            reason: format!("{other:?} is not one of ses, mailbox, none"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk() -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build()
    }

    fn mailer(pairs: &[(&str, &str)]) -> Result<bool, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        mailer_from_lookup(&sdk(), |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
        .map(|m| m.is_some())
    }

    #[test]
    fn the_mailer_is_chosen_by_the_environment_and_misconfiguration_is_named() {
        assert_eq!(mailer(&[]), Ok(false));
        assert_eq!(mailer(&[("STUDIO_MAILBOX_DIR", "/tmp/mail")]), Ok(true));
        assert_eq!(
            mailer(&[
                ("NOTIFY_MAILER", "none"),
                ("STUDIO_MAILBOX_DIR", "/tmp/mail")
            ]),
            Ok(false)
        );
        assert_eq!(
            mailer(&[("NOTIFY_MAILER", "ses")]),
            Err(ConfigError::Missing(vec!["NOTIFY_FROM_ADDRESS"]))
        );
        assert_eq!(
            mailer(&[
                ("NOTIFY_MAILER", "ses"),
                ("NOTIFY_FROM_ADDRESS", "Studio <studio@example.com>")
            ]),
            Ok(true)
        );
        assert_eq!(
            mailer(&[("NOTIFY_MAILER", "mailbox")]),
            Err(ConfigError::Missing(vec!["STUDIO_MAILBOX_DIR"]))
        );
        assert!(matches!(
            mailer(&[("NOTIFY_MAILER", "smtp")]),
            Err(ConfigError::Invalid {
                name: "NOTIFY_MAILER",
                ..
            })
        ));
        assert!(matches!(
            mailer(&[
                ("NOTIFY_MAILER", "ses"),
                ("NOTIFY_FROM_ADDRESS", "not an address")
            ]),
            Err(ConfigError::Invalid {
                name: "NOTIFY_FROM_ADDRESS",
                ..
            })
        ));
    }
}
