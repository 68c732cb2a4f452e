//! Every port the domain takes, in one place: the narrow interfaces to storage, queues,
//! models, OCR, mail and the ingest pipeline's records. Adapters implement them under [`crate::adapters`] (AWS) and in
//! the provider modules; the local stack serves the same wire protocols.

pub mod chat;
pub mod embed;
pub mod ingest;
pub mod mail;
pub mod ocr;
pub mod storage;

pub use ingest::IngestStore;
pub use storage::{ObjectStore, Queue};
