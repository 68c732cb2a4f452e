//! Every port the domain takes, in one place: the narrow interfaces to storage, queues,
//! models, OCR, mail, web search, the ingest pipeline's records and the settings' data keys. Adapters
//! implement them under [`crate::adapters`] (AWS) and [`crate::providers`] (models); the
//! local stack serves the same wire protocols.

pub mod chat;
pub mod embed;
pub mod ingest;
pub mod keys;
pub mod mail;
pub mod ocr;
pub mod storage;
pub mod web_search;

pub use ingest::IngestStore;
pub use storage::{ObjectStore, Queue};
