//! Lambda's quotas as the service applies them, and the errors it reports when an
//! invocation breaks one or its sandbox dies.

use axum::http::StatusCode;

/// The largest synchronous request or buffered response (6 MB).
pub const SYNC_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// The largest event for an asynchronous invocation (EventBridge, S3 -> Lambda): 256 KB.
pub const ASYNC_PAYLOAD_BYTES: usize = 256 * 1024;
/// The most a streamed response may carry (20 MB).
pub const STREAMED_RESPONSE_BYTES: usize = 20 * 1024 * 1024;
/// How long a new sandbox may take to initialise before Lambda gives up on it.
pub const INIT_TIMEOUT_SECS: u64 = 10;

/// How an invocation was made: synchronous (API, event source mappings) or asynchronous
/// (EventBridge rules), which Lambda bounds differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    RequestResponse,
    Event,
}

/// Why an invocation produced no result, in Lambda's words.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum LambdaError {
    /// The handler returned an error (what it posted to `/invocation/{id}/error`).
    #[error("{error_type}: {error_message}")]
    Function {
        error_type: String,
        error_message: String,
    },
    #[error("RequestId: {request_id} Error: Task timed out after {seconds:.2} seconds")]
    Timeout { request_id: String, seconds: f64 },
    #[error(
        "RequestId: {request_id} Error: Runtime exited with error: signal: killed (Runtime.OutOfMemory: {used_mb} MB used of {limit_mb} MB)"
    )]
    OutOfMemory {
        request_id: String,
        used_mb: u64,
        limit_mb: u32,
    },
    #[error(
        "RequestId: {request_id} Error: Runtime exited with error: {status} (Runtime.ExitError)"
    )]
    Crashed { request_id: String, status: String },
    #[error("Init error: {0}")]
    Init(String),
    #[error("Request must be smaller than {limit} bytes for the {operation} operation")]
    RequestTooLarge {
        limit: usize,
        operation: &'static str,
    },
    #[error("Response payload size exceeded maximum allowed payload size ({limit} bytes).")]
    ResponseTooLarge { limit: usize },
    /// Reserved concurrency is used up (`TooManyRequestsException`).
    #[error("Rate Exceeded.")]
    Throttled,
    #[error("the function's runtime API has stopped")]
    Closed,
}

impl LambdaError {
    /// Lambda's `errorType` for the failure.
    pub fn error_type(&self) -> &str {
        match self {
            Self::Function { error_type, .. } => error_type,
            Self::Timeout { .. } => "Sandbox.Timedout",
            Self::OutOfMemory { .. } => "Runtime.OutOfMemory",
            Self::Crashed { .. } => "Runtime.ExitError",
            Self::Init(_) => "Runtime.InitError",
            Self::RequestTooLarge { .. } => "RequestEntityTooLargeException",
            Self::ResponseTooLarge { .. } => "Function.ResponseSizeTooLarge",
            Self::Throttled => "TooManyRequestsException",
            Self::Closed => "ServiceException",
        }
    }

    /// Whether the sandbox died with the invocation (the next one starts a new process).
    pub fn killed_the_sandbox(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::OutOfMemory { .. } | Self::Crashed { .. }
        )
    }

    /// What API Gateway answers when its Lambda integration fails this way.
    pub fn gateway_status(&self) -> StatusCode {
        match self {
            Self::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        }
    }
}

/// Refuses a payload over the limit of its invocation type, as the Invoke API does.
pub fn check_request(bytes: usize, kind: InvocationType) -> Result<(), LambdaError> {
    let (limit, operation) = match kind {
        InvocationType::RequestResponse => (SYNC_PAYLOAD_BYTES, "Invoke"),
        InvocationType::Event => (ASYNC_PAYLOAD_BYTES, "InvokeAsync"),
    };
    if bytes > limit {
        return Err(LambdaError::RequestTooLarge { limit, operation });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_bounded_by_their_invocation_type() {
        assert!(check_request(SYNC_PAYLOAD_BYTES, InvocationType::RequestResponse).is_ok());
        assert_eq!(
            check_request(SYNC_PAYLOAD_BYTES + 1, InvocationType::RequestResponse)
                .unwrap_err()
                .to_string(),
            "Request must be smaller than 6291456 bytes for the Invoke operation"
        );
        assert!(check_request(300 * 1024, InvocationType::Event).is_err());
        assert!(check_request(200 * 1024, InvocationType::Event).is_ok());
    }

    #[test]
    fn a_timeout_reads_as_lambda_logs_it() {
        let error = LambdaError::Timeout {
            request_id: "r1".into(),
            seconds: 3.0,
        };
        assert_eq!(
            error.to_string(),
            "RequestId: r1 Error: Task timed out after 3.00 seconds"
        );
        assert!(error.killed_the_sandbox());
        assert_eq!(error.gateway_status(), StatusCode::GATEWAY_TIMEOUT);
    }
}
