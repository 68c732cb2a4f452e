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

/// Where an [`Env`] reads a variable: the process environment, or a map in tests.
type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Reads a function's environment once, at cold start: every value it needs, through one
/// lookup (the process environment, or a map in tests), collecting what is missing so one
/// error names it all.
pub struct Env<'a> {
    lookup: Box<Lookup<'a>>,
    missing: Vec<&'static str>,
    invalid: Option<ConfigError>,
}

impl<'a> Env<'a> {
    pub fn new(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            lookup: Box::new(lookup),
            missing: Vec::new(),
            invalid: None,
        }
    }

    /// The process environment.
    pub fn process() -> Env<'static> {
        Env::new(|name| std::env::var(name).ok())
    }

    /// The value of `name`, blank counting as unset.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// The value of `name`; when it is unset, noted for [`Env::finish`].
    pub fn required(&mut self, name: &'static str) -> String {
        self.optional(name).unwrap_or_else(|| {
            self.missing.push(name);
            String::new()
        })
    }

    /// `name` parsed as `T`, `default` when unset; a value that does not parse is noted.
    pub fn parsed<T>(&mut self, name: &'static str, default: T) -> T
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => default,
            Some(text) => text.trim().parse().unwrap_or_else(|e: T::Err| {
                self.invalid.get_or_insert(ConfigError::Invalid {
                    name,
                    reason: format!("{text:?}: {e}"),
                });
                default
            }),
        }
    }

    /// The values read, or the first problem: every missing variable, else the first
    /// invalid one.
    pub fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        if !self.missing.is_empty() {
            return Err(ConfigError::Missing(self.missing));
        }
        match self.invalid {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }
}

/// A configuration read from the environment at cold start: [`FromEnv::read`] takes each
/// value from an [`Env`]; `from_env` and `from_lookup` (tests) check them all at once.
pub trait FromEnv: Sized {
    fn read(env: &mut Env<'_>) -> Self;

    /// Reads the process environment.
    fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup`, reporting every missing variable at once.
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = Env::new(lookup);
        let value = Self::read(&mut env);
        env.finish(value)
    }
}

impl FromEnv for Config {
    /// The shared part of every function's configuration.
    fn read(env: &mut Env<'_>) -> Self {
        let resource_arn = env.required("DATABASE_RESOURCE_ARN");
        let secret_arn = env.required("DATABASE_SECRET_ARN");
        let retry_budget = Duration::from_secs(env.parsed("DATA_API_RETRY_BUDGET_SECS", 60));
        Self {
            environment: env
                .optional("STUDIO_ENV")
                .unwrap_or_else(|| "dev".to_owned()),
            database: DatabaseConfig {
                resource_arn,
                secret_arn,
                name: env
                    .optional("DATABASE_NAME")
                    .unwrap_or_else(|| "studio".to_owned()),
                retry_budget,
            },
        }
    }
}

/// The consumed queue's `maxReceiveCount` (`MAX_RECEIVE_COUNT`, default 3): on that delivery
/// a failing message's item is marked failed before SQS moves it to the DLQ.
pub fn max_receive_count(env: &mut Env<'_>) -> u32 {
    env.parsed("MAX_RECEIVE_COUNT", 3)
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
