//! The application error every layer converges on, with stable codes for callers.

use serde::{Deserialize, Serialize};

/// Stable, machine-readable error codes. Callers branch on these; messages are for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Validation,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    ProviderError,
    UnsupportedMedia,
    TooLarge,
    Timeout,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// The HTTP status an API response carrying this code gets.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Validation => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::TooLarge => 413,
            Self::UnsupportedMedia => 415,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::ProviderError => 502,
            Self::Unavailable => 503,
            Self::Timeout => 504,
        }
    }

    /// Whether trying the same work again later can succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::RateLimited | Self::Unavailable | Self::Timeout | Self::ProviderError
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validation => "validation",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate_limited",
            Self::ProviderError => "provider_error",
            Self::UnsupportedMedia => "unsupported_media",
            Self::TooLarge => "too_large",
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as the application reports it: a code, a readable message, optional details.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    /// What the caller is told: safe to show, never a database's or a provider's own words.
    pub message: String,
    pub details: Option<serde_json::Value>,
    /// What caused it, for the operator's log ([`AppError::chain`]); never sent to callers.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            source: None,
        }
    }

    /// Keeps `source` as the cause: logged through [`AppError::chain`], never sent.
    pub fn caused_by(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The error and every cause below it, `code: message: cause: cause ...`, for logs.
    pub fn chain(&self) -> Chain<'_> {
        Chain(self)
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    /// `rate_limited`, with the whole seconds until a retry can succeed in
    /// `details.retryAfterSeconds` (HTTP responses send it as `Retry-After`).
    pub fn rate_limited(message: impl Into<String>, retry_after: std::time::Duration) -> Self {
        // Round up: retrying after the floor would still be refused.
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self::new(ErrorCode::RateLimited, message)
            .with_details(serde_json::json!({ RETRY_AFTER_FIELD: seconds.max(1) }))
    }

    /// The seconds a `rate_limited` error asks the caller to wait.
    pub fn retry_after_secs(&self) -> Option<u64> {
        retry_after_of(self.details.as_ref())
    }

    pub fn is_retryable(&self) -> bool {
        self.code.is_retryable()
    }

    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }
}

/// The `details` field of a `rate_limited` error that carries its `Retry-After` seconds.
/// An error with its causes, displayed on one line (see [`AppError::chain`]).
pub struct Chain<'a>(&'a AppError);

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(self.0);
        // Bounded: a cycle of causes cannot make a log line endless.
        for _ in 0..16 {
            let Some(error) = cause else { break };
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

pub const RETRY_AFTER_FIELD: &str = "retryAfterSeconds";

pub(crate) fn retry_after_of(details: Option<&serde_json::Value>) -> Option<u64> {
    details?.get(RETRY_AFTER_FIELD)?.as_u64()
}

/// Lambda reports this `errorType` for failures worth retrying (SQS redelivers them).
pub const RETRYABLE: &str = "Retryable";
/// Lambda reports this `errorType` for failures that no retry can fix.
pub const NON_RETRYABLE: &str = "NonRetryable";

impl From<AppError> for lambda_runtime::Diagnostic {
    fn from(error: AppError) -> Self {
        let error_type = if error.is_retryable() {
            RETRYABLE
        } else {
            NON_RETRYABLE
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

impl From<crate::data_api::DbError> for AppError {
    fn from(error: crate::data_api::DbError) -> Self {
        use crate::data_api::DbError;
        let code = match &error {
            DbError::Transient { .. } => ErrorCode::Unavailable,
            DbError::Timeout(_) => ErrorCode::Timeout,
            DbError::Database { sql_state, .. } if sql_state.as_deref() == Some("23505") => {
                ErrorCode::Conflict
            }
            _ => ErrorCode::Internal,
        };
        // Database messages can carry values from rows; callers get the code, logs get the cause.
        let message = match code {
            ErrorCode::Conflict => "The record already exists".to_owned(),
            ErrorCode::Unavailable => "The database is temporarily unavailable".to_owned(),
            ErrorCode::Timeout => "The database statement timed out".to_owned(),
            _ => "A database error occurred".to_owned(),
        };
        Self::new(code, message).caused_by(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_failure_keeps_its_cause_for_the_log_but_not_for_the_caller() {
        let cause = crate::data_api::DbError::Database {
            message: "duplicate key value (email)=(ada@example.com); SQLState: 23505".into(),
            sql_state: Some("23505".into()),
        };
        let error = AppError::from(cause);
        assert_eq!(error.code, ErrorCode::Conflict);
        assert!(!error.message.contains("ada@example.com"));
        assert!(!error.to_string().contains("ada@example.com"));
        let logged = error.chain().to_string();
        assert!(
            logged
                .starts_with("conflict: The record already exists: database error: duplicate key"),
            "{logged}"
        );
        assert!(logged.contains("ada@example.com"), "{logged}");
    }

    #[test]
    fn causes_chain_in_order() {
        let io = std::io::Error::other("connection reset");
        let error = AppError::internal("Presigning the upload failed").caused_by(io);
        assert_eq!(
            error.chain().to_string(),
            "internal: Presigning the upload failed: connection reset"
        );
        assert_eq!(
            AppError::validation("bad").chain().to_string(),
            "validation: bad"
        );
    }

    #[test]
    fn codes_serialize_as_snake_case_strings() {
        let json = serde_json::to_string(&ErrorCode::UnsupportedMedia).unwrap();
        assert_eq!(json, "\"unsupported_media\"");
        assert_eq!(ErrorCode::UnsupportedMedia.as_str(), "unsupported_media");
    }

    #[test]
    fn retryable_errors_become_retryable_lambda_diagnostics() {
        let diagnostic: lambda_runtime::Diagnostic =
            AppError::new(ErrorCode::RateLimited, "slow down").into();
        assert_eq!(diagnostic.error_type, RETRYABLE);
        assert_eq!(diagnostic.error_message, "rate_limited: slow down");

        let diagnostic: lambda_runtime::Diagnostic = AppError::validation("bad id").into();
        assert_eq!(diagnostic.error_type, NON_RETRYABLE);
    }

    #[test]
    fn a_rate_limited_error_rounds_its_retry_after_up_to_whole_seconds() {
        let error = AppError::rate_limited("slow down", std::time::Duration::from_millis(1500));
        assert_eq!(error.code, ErrorCode::RateLimited);
        assert_eq!(error.retry_after_secs(), Some(2));
        let now = AppError::rate_limited("slow down", std::time::Duration::ZERO);
        assert_eq!(now.retry_after_secs(), Some(1));
        assert_eq!(AppError::validation("x").retry_after_secs(), None);
    }

    #[test]
    fn every_code_maps_to_an_http_error_status() {
        for code in [
            ErrorCode::Validation,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::RateLimited,
            ErrorCode::ProviderError,
            ErrorCode::UnsupportedMedia,
            ErrorCode::TooLarge,
            ErrorCode::Timeout,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
        ] {
            let status = code.http_status();
            assert!((400..600).contains(&status), "{code} -> {status}");
        }
        assert_eq!(ErrorCode::NotFound.http_status(), 404);
        assert_eq!(ErrorCode::Conflict.http_status(), 409);
    }
}
