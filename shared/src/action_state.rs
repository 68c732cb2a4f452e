//! `ActionState<T>`: the one shape in which callers see the outcome of an action.

use serde::{Deserialize, Serialize};

use crate::error::{AppError, ErrorCode};

/// `{ isSuccess, data?, error?: { code, message, details? }, message? }`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionState<T> {
    pub is_success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl<T> ActionState<T> {
    pub fn success(data: T) -> Self {
        Self {
            is_success: true,
            data: Some(data),
            error: None,
            message: None,
        }
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    pub fn failure(error: AppError) -> Self {
        Self {
            is_success: false,
            data: None,
            message: Some(error.message.clone()),
            error: Some(ErrorBody {
                code: error.code,
                message: error.message,
                details: error.details,
            }),
        }
    }

    /// The `Retry-After` seconds an HTTP response of this outcome carries (rate_limited).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.error
            .as_ref()
            .and_then(|e| crate::error::retry_after_of(e.details.as_ref()))
    }

    /// The HTTP status this outcome is sent with.
    pub fn http_status(&self) -> u16 {
        match &self.error {
            Some(error) => error.code.http_status(),
            None => 200,
        }
    }
}

impl<T> From<Result<T, AppError>> for ActionState<T> {
    fn from(result: Result<T, AppError>) -> Self {
        match result {
            Ok(data) => Self::success(data),
            Err(error) => Self::failure(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_serializes_without_error_fields() {
        let state = ActionState::success(json!({"id": 7}));
        let value = serde_json::to_value(&state).unwrap();
        assert_eq!(value, json!({"isSuccess": true, "data": {"id": 7}}));
        assert_eq!(state.http_status(), 200);
    }

    #[test]
    fn failure_carries_code_message_and_details() {
        let error = AppError::new(ErrorCode::TooLarge, "File is over 50 MB")
            .with_details(json!({"limitBytes": 52_428_800}));
        let state: ActionState<()> = Err(error).into();
        let value = serde_json::to_value(&state).unwrap();
        assert_eq!(
            value,
            json!({
                "isSuccess": false,
                "message": "File is over 50 MB",
                "error": {"code": "too_large", "message": "File is over 50 MB", "details": {"limitBytes": 52_428_800}}
            })
        );
        assert_eq!(state.http_status(), 413);
    }

    #[test]
    fn parses_what_it_writes() {
        let state: ActionState<Vec<u32>> = ActionState::success(vec![1, 2]).with_message("ok");
        let text = serde_json::to_string(&state).unwrap();
        let back: ActionState<Vec<u32>> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, state);
    }
}
