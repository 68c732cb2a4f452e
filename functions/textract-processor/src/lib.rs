//! textract-processor: OCR job completions (SNS-wrapped Textract notifications through SQS)
//! in, the OCR'd text chunked and queued for embedding out.

pub mod config;
pub mod handler;
