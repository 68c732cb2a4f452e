//! Implementations of the ports: AWS services through the official SDK clients (the local
//! stack serves them through moto and its own servers), one file per port, each behind
//! its SDK's cargo feature; the model providers' are in [`crate::providers`].

pub mod aws;
pub mod http;

use std::sync::Arc;

use crate::config::{ConfigError, Env};
use crate::notify::mime::Mailbox;
use crate::ports::mail::Mailer;
use crate::ports::ocr::OcrEngine;

/// The OCR engine `OCR_PROVIDER` names: `textract` (needs `DOCUMENTS_BUCKET`,
/// `TEXTRACT_TOPIC_ARN`, `TEXTRACT_ROLE_ARN`; locally the stack's Textract server), or
/// `none` / unset: no OCR.
pub fn ocr_from(
    env: &Env<'_>,
    sdk: &aws_config::SdkConfig,
) -> Result<Option<Arc<dyn OcrEngine>>, ConfigError> {
    let needed = |name: &'static str| env.optional(name).ok_or(ConfigError::Missing(vec![name]));
    match env.optional("OCR_PROVIDER").as_deref().map(str::trim) {
        None | Some("none") => Ok(None),
        #[cfg(feature = "textract")]
        Some("textract") => Ok(Some(Arc::new(aws::TextractOcr::new(
            aws_sdk_textract::Client::new(sdk),
            &needed("DOCUMENTS_BUCKET")?,
            &needed("TEXTRACT_TOPIC_ARN")?,
            &needed("TEXTRACT_ROLE_ARN")?,
        )))),
        #[cfg(not(feature = "textract"))]
        Some("textract") => {
            let _ = (sdk, needed);
            Err(not_compiled("OCR_PROVIDER", "textract"))
        }
        Some(other) => Err(ConfigError::Invalid {
            name: "OCR_PROVIDER",
            reason: format!("{other:?} is not one of textract, none"),
        }),
    }
}

/// The mailer the environment names. `NOTIFY_MAILER=ses`: SES v2 (locally the stack's SES
/// server, which writes `.eml` files), sending as `NOTIFY_FROM_ADDRESS` (required, a
/// verified identity). `none`, or unset: no mailer (e-mails are recorded as skipped).
pub fn mailer_from(
    env: &Env<'_>,
    sdk: &aws_config::SdkConfig,
) -> Result<Option<Arc<dyn Mailer>>, ConfigError> {
    let value = |name: &str| env.optional(name);
    let from = || -> Result<Mailbox, ConfigError> {
        let text = value("NOTIFY_FROM_ADDRESS")
            .ok_or(ConfigError::Missing(vec!["NOTIFY_FROM_ADDRESS"]))?;
        Mailbox::parse(&text).map_err(|e| ConfigError::Invalid {
            name: "NOTIFY_FROM_ADDRESS",
            reason: e.to_string(),
        })
    };
    let mode = value("NOTIFY_MAILER").map(|m| m.trim().to_owned());
    match mode.as_deref() {
        #[cfg(feature = "ses")]
        Some("ses") => Ok(Some(Arc::new(aws::SesMailer::new(sdk, from()?)))),
        #[cfg(not(feature = "ses"))]
        Some("ses") => {
            let _ = (sdk, from);
            Err(not_compiled("NOTIFY_MAILER", "ses"))
        }
        Some("none") | None => Ok(None),
        Some(other) => Err(ConfigError::Invalid {
            name: "NOTIFY_MAILER",
            reason: format!("{other:?} is not one of ses, none"),
        }),
    }
}

/// A configuration naming an adapter this function was built without.
#[cfg(not(all(feature = "textract", feature = "ses")))]
fn not_compiled(name: &'static str, feature: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: format!(
            "{feature} is not compiled into this function (shared's {feature:?} feature)"
        ),
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
        let env = Env::new(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        });
        mailer_from(&env, &sdk()).map(|m| m.is_some())
    }

    #[test]
    fn the_mailer_is_chosen_by_the_environment_and_misconfiguration_is_named() {
        assert_eq!(mailer(&[]), Ok(false));
        assert_eq!(mailer(&[("NOTIFY_MAILER", "none")]), Ok(false));
        assert_eq!(
            mailer(&[("NOTIFY_MAILER", "ses")]),
            Err(ConfigError::Missing(vec!["NOTIFY_FROM_ADDRESS"]))
        );
        let ses = mailer(&[
            ("NOTIFY_MAILER", "ses"),
            ("NOTIFY_FROM_ADDRESS", "Studio <studio@example.com>"),
        ]);
        if cfg!(feature = "ses") {
            assert_eq!(ses, Ok(true));
        } else {
            // A function built without the SES adapter says so at init.
            assert!(
                matches!(&ses, Err(ConfigError::Invalid { name: "NOTIFY_MAILER", reason }) if reason.contains("not compiled")),
                "{ses:?}"
            );
        }
        // The local stack's mail goes through its SES server, as on AWS.
        assert!(matches!(
            mailer(&[("NOTIFY_MAILER", "mailbox")]),
            Err(ConfigError::Invalid {
                name: "NOTIFY_MAILER",
                ..
            })
        ));
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
