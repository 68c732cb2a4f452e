//! Turns an API Gateway request into a caller and a route, and the outcome into an
//! ActionState response with the request id.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use shared::auth::{self, Claims};
use shared::data_api::DataApi;
use shared::embed::Embedder;
use shared::ports::{ObjectStore, Queue};
use shared::settings::Settings;
use shared::{ActionState, AppError, ErrorCode};

use crate::routes;

pub struct Deps {
    pub db: DataApi,
    pub store: Box<dyn ObjectStore>,
    /// The file-processing queue, for reprocessing and URL items.
    pub processing: Box<dyn Queue>,
    pub embedder: Box<dyn Embedder>,
    /// Runtime settings (one per process: clones share the cache).
    pub settings: Settings,
}

pub async fn handle(request: Request, deps: &Deps) -> Result<Response<Body>, lambda_http::Error> {
    let request_id = request
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let outcome = match claims(&request) {
        Ok(claims) => match auth::resolve(&deps.db, &claims).await {
            Ok(caller) => routes::dispatch(&request, &caller, deps).await,
            Err(error) => Err(error),
        },
        Err(error) => Err(error),
    };
    if let Err(error) = &outcome {
        tracing::info!(code = %error.code, method = %request.method(), path = request.uri().path(), "Request refused");
    }
    respond(outcome, &request_id)
}

/// The Cognito claims API Gateway's authorizer placed in the request context. Headers are
/// never read for identity: only the gateway can write the context.
fn claims(request: &Request) -> Result<Claims, AppError> {
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

/// The ActionState response for `outcome`, with `X-Request-Id` and, when rate limited,
/// `Retry-After`.
pub fn respond<T: Serialize>(
    outcome: Result<T, AppError>,
    request_id: &str,
) -> Result<Response<Body>, lambda_http::Error> {
    let state = ActionState::from(outcome);
    let body = serde_json::to_string(&state)?;
    let mut response = Response::builder()
        .status(state.http_status())
        .header("content-type", "application/json")
        .header("x-request-id", request_id);
    if let Some(seconds) = state.retry_after_secs() {
        response = response.header("retry-after", seconds);
    }
    Ok(response.body(Body::Text(body))?)
}
