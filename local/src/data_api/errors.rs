//! Errors with the Data API's names and statuses, sent in `x-amzn-ErrorType`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    DatabaseError,
    TransactionNotFound,
    StatementTimeout,
    UnsupportedResult,
    DatabaseResuming,
    Throttling,
    ServiceUnavailable,
    InternalServerError,
}

impl Kind {
    fn name_and_status(self) -> (&'static str, StatusCode) {
        match self {
            Self::BadRequest => ("BadRequestException", StatusCode::BAD_REQUEST),
            Self::DatabaseError => ("DatabaseErrorException", StatusCode::BAD_REQUEST),
            Self::TransactionNotFound => ("TransactionNotFoundException", StatusCode::NOT_FOUND),
            Self::StatementTimeout => ("StatementTimeoutException", StatusCode::BAD_REQUEST),
            Self::UnsupportedResult => ("UnsupportedResultException", StatusCode::BAD_REQUEST),
            Self::DatabaseResuming => ("DatabaseResumingException", StatusCode::BAD_REQUEST),
            Self::Throttling => ("ThrottlingException", StatusCode::BAD_REQUEST),
            Self::ServiceUnavailable => {
                ("ServiceUnavailableError", StatusCode::SERVICE_UNAVAILABLE)
            }
            Self::InternalServerError => (
                "InternalServerErrorException",
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: Kind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, message)
    }

    pub fn name(&self) -> &'static str {
        self.kind.name_and_status().0
    }

    /// PostgreSQL's error as the Data API words it: `ERROR: ...; SQLState: XXXXX`.
    pub fn from_postgres(error: &tokio_postgres::Error) -> Self {
        match error.as_db_error() {
            Some(db) => {
                let mut message = format!("ERROR: {}", db.message());
                if let Some(detail) = db.detail() {
                    message.push_str(&format!("\n  Detail: {detail}"));
                }
                if let Some(tokio_postgres::error::ErrorPosition::Original(position)) =
                    db.position()
                {
                    message.push_str(&format!("\n  Position: {position}"));
                }
                message.push_str(&format!("; SQLState: {}", db.code().code()));
                Self::new(Kind::DatabaseError, message)
            }
            None if error.is_closed() => Self::new(
                Kind::ServiceUnavailable,
                "The database connection was closed",
            ),
            None => Self::new(Kind::DatabaseError, error.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (name, status) = self.kind.name_and_status();
        let body = serde_json::json!({ "message": self.message });
        (
            status,
            [
                ("x-amzn-ErrorType", name),
                ("content-type", "application/json"),
            ],
            body.to_string(),
        )
            .into_response()
    }
}
