//! Errors with Textract's names and its awsJson1.1 shape: HTTP 400 and
//! `{"__type": "<name>", "Message": "..."}` (the SDK reads the code from `__type`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextractError {
    /// Textract's exception name, e.g. `InvalidParameterException`.
    pub kind: &'static str,
    pub message: String,
}

impl TextractError {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterException", message)
    }

    /// A request field that breaks Textract's model constraints (length, pattern).
    pub fn validation(field: &str, constraint: &str) -> Self {
        Self::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value at '{field}' failed to satisfy constraint: {constraint}"
            ),
        )
    }

    /// A body that is not the operation's JSON.
    pub fn serialization(detail: impl std::fmt::Display) -> Self {
        Self::new(
            "SerializationException",
            format!("Cannot read the request: {detail}"),
        )
    }

    pub fn invalid_job_id() -> Self {
        Self::new("InvalidJobIdException", "Request has invalid Job Id")
    }

    pub fn invalid_s3_object() -> Self {
        Self::new(
            "InvalidS3ObjectException",
            "Unable to get object metadata from S3. Check object key, region and/or access permissions.",
        )
    }

    pub fn too_large(size: u64, limit: u64) -> Self {
        Self::new(
            "DocumentTooLargeException",
            format!("S3 object size {size} is more than the maximum limit {limit}"),
        )
    }

    pub fn idempotent_mismatch() -> Self {
        Self::new(
            "IdempotentParameterMismatchException",
            "The ClientRequestToken was used before with other parameters",
        )
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDeniedException", message)
    }

    pub fn unknown_operation(target: &str) -> Self {
        Self::new(
            "UnknownOperationException",
            format!("Textract has no operation {target:?}"),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalServerError", message)
    }
}

impl IntoResponse for TextractError {
    fn into_response(self) -> Response {
        let status = if self.kind == "InternalServerError" {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        };
        (
            status,
            [
                ("content-type", "application/x-amz-json-1.1".to_owned()),
                ("x-amzn-requestid", uuid::Uuid::new_v4().to_string()),
            ],
            json!({ "__type": self.kind, "Message": self.message }).to_string(),
        )
            .into_response()
    }
}
