//! What can go wrong talking to Aurora through the Data API, sorted by what a caller does next.

use aws_sdk_rdsdata::error::{ProvideErrorMetadata, SdkError};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Throttling, 5xx, dropped connections, Aurora resuming from auto-pause: worth retrying.
    #[error("transient Data API failure ({kind}): {message}")]
    Transient { kind: Transient, message: String },
    /// The statement ran past the Data API's limit; a write may or may not have happened.
    #[error("statement timed out: {0}")]
    Timeout(String),
    /// PostgreSQL refused the statement (syntax, constraint, type mismatch...).
    #[error("database error: {message}")]
    Database {
        message: String,
        sql_state: Option<String>,
    },
    #[error("transaction not found: {0}")]
    TransactionNotFound(String),
    /// The result passed the Data API's 1 MiB response limit: page the read.
    #[error("result exceeds the Data API response size limit: {0}")]
    ResponseTooLarge(String),
    #[error("bad Data API request: {0}")]
    BadRequest(String),
    #[error("Data API error {code}: {message}")]
    Service { code: String, message: String },
    #[error("cannot decode result: {0}")]
    Decode(String),
    #[error("expected one row, found {0}")]
    RowCount(usize),
}

/// Why a Data API call failed in a way another attempt may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// The request never got an answer (connection refused or dropped, bad response).
    Connection,
    /// The client gave up waiting on a read.
    ClientTimeout,
    /// Aurora Serverless is resuming from auto-pause.
    Resuming,
    /// The database or the service is unavailable for now.
    Unavailable,
    /// The service asked us to slow down.
    Throttled,
    /// A read ran past the statement timeout.
    StatementTimeout,
    /// Another 5xx (or 429) the service named some other way; its HTTP status.
    Status(u16),
}

impl std::fmt::Display for Transient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connection => f.write_str("connection failure"),
            Self::ClientTimeout => f.write_str("client timeout"),
            Self::Resuming => f.write_str("database resuming"),
            Self::Unavailable => f.write_str("unavailable"),
            Self::Throttled => f.write_str("throttled"),
            Self::StatementTimeout => f.write_str("statement timeout"),
            Self::Status(status) => write!(f, "HTTP {status}"),
        }
    }
}

impl DbError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// The SQLSTATE of a database error (e.g. `23505` for a unique violation).
    pub fn sql_state(&self) -> Option<&str> {
        match self {
            Self::Database { sql_state, .. } => sql_state.as_deref(),
            _ => None,
        }
    }

    /// Sorts an SDK failure. `read_only` statements may be retried after a timeout; writes may not.
    pub(crate) fn from_sdk<E>(error: SdkError<E>, read_only: bool) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let text = || aws_smithy_types::error::display::DisplayErrorContext(&error).to_string();
        match &error {
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => Self::Transient {
                kind: Transient::Connection,
                message: text(),
            },
            SdkError::TimeoutError(_) if read_only => Self::Transient {
                kind: Transient::ClientTimeout,
                message: text(),
            },
            SdkError::TimeoutError(_) => Self::Timeout(text()),
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = error.code().unwrap_or("Unknown").to_owned();
                let message = error.message().unwrap_or_default().to_owned();
                Self::from_service(code, message, status, read_only)
            }
            _ => Self::Service {
                code: "Unknown".to_owned(),
                message: text(),
            },
        }
    }

    fn from_service(code: String, message: String, status: u16, read_only: bool) -> Self {
        let transient = |kind| Self::Transient {
            kind,
            message: message.clone(),
        };
        match code.as_str() {
            "DatabaseResumingException" => transient(Transient::Resuming),
            "DatabaseUnavailableException"
            | "ServiceUnavailableError"
            | "InternalServerErrorException" => transient(Transient::Unavailable),
            "ThrottlingException" | "TooManyRequestsException" => transient(Transient::Throttled),
            "StatementTimeoutException" if read_only => transient(Transient::StatementTimeout),
            "StatementTimeoutException" => Self::Timeout(message),
            "DatabaseErrorException" => Self::Database {
                sql_state: sql_state_of(&message),
                message,
            },
            "TransactionNotFoundException" => Self::TransactionNotFound(message),
            "BadRequestException" if message.contains("response size limit") => {
                Self::ResponseTooLarge(message)
            }
            "BadRequestException" => Self::BadRequest(message),
            _ if status >= 500 || status == 429 => Self::Transient {
                kind: Transient::Status(status),
                message: format!("{code}: {message}"),
            },
            _ => Self::Service { code, message },
        }
    }
}

/// The Data API appends `; SQLState: 23505` to PostgreSQL's message.
fn sql_state_of(message: &str) -> Option<String> {
    let (_, tail) = message.rsplit_once("SQLState: ")?;
    let state: String = tail
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    (state.len() == 5).then_some(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resuming_and_throttling_are_retryable_sql_errors_are_not() {
        let resuming = DbError::from_service(
            "DatabaseResumingException".into(),
            "resuming".into(),
            400,
            false,
        );
        assert!(resuming.is_retryable());
        assert!(matches!(
            resuming,
            DbError::Transient {
                kind: Transient::Resuming,
                ..
            }
        ));
        let throttled =
            DbError::from_service("SomethingNew".into(), "slow down".into(), 429, false);
        assert!(throttled.is_retryable());
        assert_eq!(
            throttled.to_string(),
            "transient Data API failure (HTTP 429): SomethingNew: slow down"
        );
        let sql = DbError::from_service(
            "DatabaseErrorException".into(),
            "ERROR: duplicate key value violates unique constraint \"t_pkey\"; SQLState: 23505"
                .into(),
            400,
            false,
        );
        assert!(!sql.is_retryable());
        assert_eq!(sql.sql_state(), Some("23505"));
    }

    #[test]
    fn a_timed_out_read_is_retried_a_timed_out_write_is_not() {
        let read = DbError::from_service("StatementTimeoutException".into(), "t".into(), 400, true);
        let write =
            DbError::from_service("StatementTimeoutException".into(), "t".into(), 400, false);
        assert!(read.is_retryable());
        assert!(!write.is_retryable());
    }

    #[test]
    fn the_response_size_limit_is_its_own_error() {
        let error = DbError::from_service(
            "BadRequestException".into(),
            "Database returned more than the allowed response size limit".into(),
            400,
            true,
        );
        assert!(matches!(error, DbError::ResponseTooLarge(_)));
    }
}
