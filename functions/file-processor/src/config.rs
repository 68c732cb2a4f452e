//! The file-processor function's configuration, read and checked at cold start: a missing or bad
//! value stops the function at init with a sentence naming it. The names are the ones the
//! template's `Environment` sets.

use shared::config::{Config, Env, FromEnv};

/// What `main` builds the function from.
#[derive(Debug, Clone)]
pub struct FileProcessorConfig {
    pub common: Config,
    /// Where uploads are read from (`DOCUMENTS_BUCKET`).
    pub documents_bucket: String,
    /// Where chunk ids go to be embedded (`EMBEDDING_QUEUE_URL`).
    pub embedding_queue_url: String,
    /// The consumed queue's `maxReceiveCount` (`MAX_RECEIVE_COUNT`, default 3).
    pub max_receive_count: u32,
    /// Pages OCR may read a month (`OCR_MONTHLY_PAGE_BUDGET`, default 1000).
    pub ocr_monthly_pages: i32,
}

impl FromEnv for FileProcessorConfig {
    fn read(env: &mut Env<'_>) -> Self {
        Self {
            common: Config::read(env),
            documents_bucket: env.required("DOCUMENTS_BUCKET"),
            embedding_queue_url: env.required("EMBEDDING_QUEUE_URL"),
            max_receive_count: shared::config::max_receive_count(env),
            ocr_monthly_pages: shared::ocr::budget::monthly_limit(env),
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::config::ConfigError;

    use super::*;

    fn read(extra: &[(&str, &str)]) -> Result<FileProcessorConfig, ConfigError> {
        let base = [
            ("DATABASE_RESOURCE_ARN", "arn:aws:rds:us-east-1:1:cluster:c"),
            (
                "DATABASE_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:s",
            ),
            ("DOCUMENTS_BUCKET", "docs"),
            ("EMBEDDING_QUEUE_URL", "http://sqs/1/embedding"),
        ];
        FileProcessorConfig::from_lookup(|name| {
            extra
                .iter()
                .chain(&base)
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn defaults_apply_and_a_bad_number_stops_the_function_naming_it() {
        let config = read(&[]).unwrap();
        assert_eq!(config.max_receive_count, 3);
        assert_eq!(config.ocr_monthly_pages, 1000);
        assert_eq!(
            read(&[("OCR_MONTHLY_PAGE_BUDGET", "250")])
                .unwrap()
                .ocr_monthly_pages,
            250
        );
        for bad in ["-5", "lots"] {
            let error = read(&[("OCR_MONTHLY_PAGE_BUDGET", bad)]).unwrap_err();
            assert!(
                matches!(&error, ConfigError::Invalid { name: "OCR_MONTHLY_PAGE_BUDGET", reason } if reason.contains(bad)),
                "{error}"
            );
        }
        let error = read(&[("MAX_RECEIVE_COUNT", "three")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable MAX_RECEIVE_COUNT is invalid: \"three\": invalid digit found in string"
        );
    }
}
