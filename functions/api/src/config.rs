//! The api function's configuration, read and checked at cold start: a missing or bad
//! value stops the function at init with a sentence naming it. The names are the ones the
//! template's `Environment` sets.

use shared::config::{Config, Env, FromEnv};

/// What `main` builds the function from.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub common: Config,
    /// The settings key secret (provider keys are encrypted with it) (`SETTINGS_KEY_SECRET_ARN`).
    pub settings_key_secret_arn: String,
    /// Where uploads and pasted text are stored (`DOCUMENTS_BUCKET`).
    pub documents_bucket: String,
    /// Where URL items and reprocessing are queued (`FILE_PROCESSING_QUEUE_URL`).
    pub file_processing_queue_url: String,
    /// Where manual runs are queued (`ASSISTANT_RUNS_QUEUE_URL`).
    pub assistant_runs_queue_url: String,
}

impl FromEnv for ApiConfig {
    fn read(env: &mut Env<'_>) -> Self {
        Self {
            common: Config::read(env),
            settings_key_secret_arn: env.required("SETTINGS_KEY_SECRET_ARN"),
            documents_bucket: env.required("DOCUMENTS_BUCKET"),
            file_processing_queue_url: env.required("FILE_PROCESSING_QUEUE_URL"),
            assistant_runs_queue_url: env.required("ASSISTANT_RUNS_QUEUE_URL"),
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::config::ConfigError;

    use super::*;

    #[test]
    fn every_missing_value_is_named_in_one_sentence() {
        let error = ApiConfig::from_lookup(|_| None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "missing environment variable(s): DATABASE_RESOURCE_ARN, DATABASE_SECRET_ARN, \
             SETTINGS_KEY_SECRET_ARN, DOCUMENTS_BUCKET, FILE_PROCESSING_QUEUE_URL, ASSISTANT_RUNS_QUEUE_URL"
        );
        assert!(matches!(error, ConfigError::Missing(names) if names.len() == 6));
    }
}
