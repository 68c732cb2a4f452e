//! The embedding-generator function's configuration, read and checked at cold start: a missing or bad
//! value stops the function at init with a sentence naming it. The names are the ones the
//! template's `Environment` sets.

use shared::config::{Config, Env, FromEnv};

/// What `main` builds the function from.
#[derive(Debug, Clone)]
pub struct EmbeddingGeneratorConfig {
    pub common: Config,
    /// The consumed queue's `maxReceiveCount` (`MAX_RECEIVE_COUNT`, default 3).
    pub max_receive_count: u32,
}

impl FromEnv for EmbeddingGeneratorConfig {
    fn read(env: &mut Env<'_>) -> Self {
        Self {
            common: Config::read(env),
            max_receive_count: shared::config::max_receive_count(env),
        }
    }
}
