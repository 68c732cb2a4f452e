//! file-processor: S3 upload notifications (through SQS) and reprocess requests in, items
//! chunked and queued for embedding out.

pub mod config;
pub mod handler;
