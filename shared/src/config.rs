//! Typed configuration, read once at cold start from the environment.

use std::time::Duration;

/// Where and how functions reach Aurora through the RDS Data API.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// ARN of the Aurora cluster (`DATABASE_RESOURCE_ARN`).
    pub resource_arn: String,
    /// ARN of the Secrets Manager secret holding the cluster credentials (`DATABASE_SECRET_ARN`).
    pub secret_arn: String,
    /// Database name inside the cluster (`DATABASE_NAME`, default `studio`).
    pub name: String,
    /// How long transient failures are retried before giving up (`DATA_API_RETRY_BUDGET_SECS`,
    /// default 60: Aurora Serverless v2 resuming from auto-pause takes tens of seconds).
    pub retry_budget: Duration,
}

/// The configuration every function shares.
#[derive(Debug, Clone)]
pub struct Config {
    /// Deployment stage, e.g. `dev` or `prod` (`STUDIO_ENV`, default `dev`).
    pub environment: String,
    pub database: DatabaseConfig,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable(s): {}", .0.join(", "))]
    Missing(Vec<&'static str>),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, reporting every missing variable at once.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut missing = Vec::new();
        let mut required = |name: &'static str| {
            value(name).unwrap_or_else(|| {
                missing.push(name);
                String::new()
            })
        };
        let resource_arn = required("DATABASE_RESOURCE_ARN");
        let secret_arn = required("DATABASE_SECRET_ARN");
        if !missing.is_empty() {
            return Err(ConfigError::Missing(missing));
        }
        let retry_budget =
            match value("DATA_API_RETRY_BUDGET_SECS") {
                None => Duration::from_secs(60),
                Some(text) => text.parse::<u64>().map(Duration::from_secs).map_err(|e| {
                    ConfigError::Invalid {
                        name: "DATA_API_RETRY_BUDGET_SECS",
                        reason: e.to_string(),
                    }
                })?,
            };
        Ok(Self {
            environment: value("STUDIO_ENV").unwrap_or_else(|| "dev".to_owned()),
            database: DatabaseConfig {
                resource_arn,
                secret_arn,
                name: value("DATABASE_NAME").unwrap_or_else(|| "studio".to_owned()),
                retry_budget,
            },
        })
    }
}

/// A variable a function cannot start without (a bucket, a queue URL).
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(vec![name]))
}

/// The consumed queue's `maxReceiveCount` (`MAX_RECEIVE_COUNT`, default 3): on that delivery
/// a failing message's item is marked failed before SQS moves it to the DLQ.
pub fn max_receive_count() -> u32 {
    std::env::var("MAX_RECEIVE_COUNT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn every_missing_variable_is_named_in_one_error() {
        let error = Config::from_lookup(lookup(&[("DATABASE_SECRET_ARN", " ")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "missing environment variable(s): DATABASE_RESOURCE_ARN, DATABASE_SECRET_ARN"
        );
    }

    #[test]
    fn defaults_fill_optional_values() {
        let config = Config::from_lookup(lookup(&[
            ("DATABASE_RESOURCE_ARN", "arn:aws:rds:us-east-1:1:cluster:c"),
            (
                "DATABASE_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:s",
            ),
        ]))
        .unwrap();
        assert_eq!(config.database.name, "studio");
        assert_eq!(config.environment, "dev");
        assert_eq!(config.database.retry_budget, Duration::from_secs(60));
    }

    #[test]
    fn a_non_numeric_retry_budget_is_rejected() {
        let error = Config::from_lookup(lookup(&[
            ("DATABASE_RESOURCE_ARN", "a"),
            ("DATABASE_SECRET_ARN", "b"),
            ("DATA_API_RETRY_BUDGET_SECS", "soon"),
        ]))
        .unwrap_err();
        assert!(matches!(
            error,
            ConfigError::Invalid {
                name: "DATA_API_RETRY_BUDGET_SECS",
                ..
            }
        ));
    }
}
