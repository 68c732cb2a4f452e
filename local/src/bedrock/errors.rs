//! Errors with Bedrock Runtime's names, statuses and JSON shape (`{"message"}` and the
//! `x-amzn-ErrorType` header the SDK reads the code from).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Validation,
    Throttling,
    InternalServer,
    ServiceUnavailable,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Validation => "ValidationException",
            Self::Throttling => "ThrottlingException",
            Self::InternalServer => "InternalServerException",
            Self::ServiceUnavailable => "ServiceUnavailableException",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Self::Validation => StatusCode::BAD_REQUEST,
            Self::Throttling => StatusCode::TOO_MANY_REQUESTS,
            Self::InternalServer => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedrockError {
    pub kind: Kind,
    pub message: String,
}

impl BedrockError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(Kind::Validation, message)
    }

    /// A body the model's schema refuses, worded as Bedrock words it.
    pub fn malformed(detail: impl std::fmt::Display) -> Self {
        Self::validation(format!(
            "Malformed input request: {detail}, please reformat your input and try again."
        ))
    }

    pub fn throttling() -> Self {
        Self::new(
            Kind::Throttling,
            "Too many requests, please wait before trying again.",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            Kind::InternalServer,
            "The system encountered an unexpected error during processing. Try your request again.",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            Kind::ServiceUnavailable,
            "Bedrock is unable to process your request.",
        )
    }
}

impl IntoResponse for BedrockError {
    fn into_response(self) -> Response {
        let error_type = format!(
            "{}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            self.kind.name()
        );
        (
            self.kind.status(),
            [
                ("content-type", "application/json".to_owned()),
                ("x-amzn-errortype", error_type),
                ("x-amzn-requestid", uuid::Uuid::new_v4().to_string()),
            ],
            json!({ "message": self.message }).to_string(),
        )
            .into_response()
    }
}
