//! What every HTTP function shares: the caller's claims from the authorizer's context,
//! the request id, and ActionState responses with the status their error code gives.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::auth::Claims;
use crate::{ActionState, AppError, ErrorCode};

/// The Lambda request id (the one in every log line), returned as `X-Request-Id`.
pub fn request_id(request: &Request) -> String {
    request
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default()
}

/// The Cognito claims API Gateway's authorizer placed in the request context. Headers are
/// never read for identity: only the gateway can write the context.
pub fn claims(request: &Request) -> Result<Claims, AppError> {
    let value = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => {
            context.authorizer.fields.get("claims").cloned()
        }
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| serde_json::to_value(&jwt.claims).unwrap_or_default()),
        _ => None,
    };
    let value =
        value.ok_or_else(|| AppError::new(ErrorCode::Unauthorized, "Sign in to use the studio"))?;
    serde_json::from_value(value)
        .map_err(|_| AppError::new(ErrorCode::Unauthorized, "The sign-in token lacks a subject"))
}

/// The ActionState response for an outcome, with `X-Request-Id` and, for rate limits,
/// `Retry-After` (from the error's `details.retryAfterSeconds`).
pub fn respond<T: Serialize>(
    outcome: Result<T, AppError>,
    request_id: &str,
) -> Result<Response<Body>, lambda_http::Error> {
    let state = ActionState::from(outcome);
    let retry_after = state.retry_after_secs();
    let body = serde_json::to_string(&state)?;
    let mut response = Response::builder()
        .status(state.http_status())
        .header("content-type", "application/json")
        .header("x-request-id", request_id);
    if let Some(seconds) = retry_after {
        response = response.header("retry-after", seconds.to_string());
    }
    Ok(response.body(Body::Text(body))?)
}
