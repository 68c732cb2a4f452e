//! Implementations of the ports: AWS services through the official SDK clients (which the
//! local stack serves through moto), local tools where moto falls short; one file per port.

pub mod aws;
pub mod local;

use std::sync::Arc;

use crate::config::{self, ConfigError};
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
