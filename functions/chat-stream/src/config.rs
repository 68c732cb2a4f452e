//! The chat-stream function's configuration, read and checked at cold start: a missing or bad
//! value stops the function at init with a sentence naming it. The names are the ones the
//! template's `Environment` sets.

use shared::config::{Config, Env, FromEnv};

/// What `main` builds the function from.
#[derive(Debug, Clone)]
pub struct ChatStreamConfig {
    pub common: Config,
    /// The settings key secret (provider keys are encrypted with it) (`SETTINGS_KEY_SECRET_ARN`).
    pub settings_key_secret_arn: String,
}

impl FromEnv for ChatStreamConfig {
    fn read(env: &mut Env<'_>) -> Self {
        Self {
            common: Config::read(env),
            settings_key_secret_arn: env.required("SETTINGS_KEY_SECRET_ARN"),
        }
    }
}
