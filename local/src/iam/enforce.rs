//! The IAM check as an axum middleware, for the servers that stand for one service (the
//! Data API, Bedrock): the same [`authorize`] the gateway asks, before any handler runs.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Call, Principals, authorize};

/// Who may call, for which service, and the largest body read to classify a call.
#[derive(Debug, Clone)]
pub struct Guard {
    pub principals: Arc<Principals>,
    /// The credential scope's name for the service: `rds-data`, `bedrock`.
    pub service: &'static str,
    pub max_body_bytes: usize,
}

/// Refuses what the caller's role does not allow; passes the rest on with its body intact.
pub async fn enforce(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, guard.max_body_bytes).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large").into_response();
    };
    let call = Call {
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    if let Err(refusal) = authorize(&guard.principals, Some(guard.service), call) {
        return *refusal;
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}
