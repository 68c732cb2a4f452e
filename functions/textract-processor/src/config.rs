//! The textract-processor function's configuration, read and checked at cold start: a missing or bad
//! value stops the function at init with a sentence naming it. The names are the ones the
//! template's `Environment` sets.

use shared::config::{Config, Env, FromEnv};

/// What `main` builds the function from.
#[derive(Debug, Clone)]
pub struct TextractProcessorConfig {
    pub common: Config,
    /// Where the scanned objects are (`DOCUMENTS_BUCKET`).
    pub documents_bucket: String,
    /// Where chunk ids go to be embedded (`EMBEDDING_QUEUE_URL`).
    pub embedding_queue_url: String,
    /// The consumed queue's `maxReceiveCount` (`MAX_RECEIVE_COUNT`, default 3).
    pub max_receive_count: u32,
}

impl FromEnv for TextractProcessorConfig {
    fn read(env: &mut Env<'_>) -> Self {
        Self {
            common: Config::read(env),
            documents_bucket: env.required("DOCUMENTS_BUCKET"),
            embedding_queue_url: env.required("EMBEDDING_QUEUE_URL"),
            max_receive_count: shared::config::max_receive_count(env),
        }
    }
}
