//! SES v2 errors as the REST-JSON protocol carries them: the HTTP status, the code in
//! `x-amzn-ErrorType` (where the SDK reads it), and `{"message"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An SES error: the status, the code in `x-amzn-ErrorType`, `{"message"}`.
#[derive(Debug)]
pub struct SesError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl SesError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequestException", message)
    }

    pub fn rejected(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MessageRejected", message)
    }
}

impl IntoResponse for SesError {
    fn into_response(self) -> Response {
        (
            self.status,
            [
                ("content-type", "application/json".to_owned()),
                ("x-amzn-errortype", self.code.to_owned()),
                ("x-amzn-requestid", uuid::Uuid::new_v4().to_string()),
            ],
            json!({ "message": self.message }).to_string(),
        )
            .into_response()
    }
}
