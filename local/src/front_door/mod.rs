//! The local API Gateway: HTTP requests become REST API proxy events for a function, after
//! a bearer JWT is verified the way API Gateway's Cognito authorizer does; its claims go in
//! `requestContext.authorizer.claims`, the only identity functions trust.

mod event;
mod routes;
mod token;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

pub use event::proxy_event;
use event::{proxy_response, streamed_response};
pub use routes::{Matched, Route, Routes};
pub use token::{DevKey, ISSUER, TokenClaims};

use crate::lambda::{Invoke, Reply};

struct Door {
    key: DevKey,
    routes: Routes,
}

/// The front door's HTTP service.
pub fn router(key: DevKey, routes: Routes) -> Router {
    Router::new()
        .fallback(proxy)
        .with_state(Arc::new(Door { key, routes }))
}

/// Binds `addr` and serves in the background; returns the bound address.
pub async fn start(
    addr: SocketAddr,
    key: DevKey,
    routes: Routes,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(key, routes);
    let task = tokio::spawn(async move {
        if let Err(error) = crate::net::serve(listener, app).await {
            tracing::error!(%error, "Front door stopped");
        }
    });
    Ok((bound, task))
}

async fn proxy(
    State(door): State<Arc<Door>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let claims = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| door.key.verify(token.trim()));
    // As API Gateway: no valid token, no call to the function.
    let Some(claims) = claims else {
        return (
            StatusCode::UNAUTHORIZED,
            [("content-type", "application/json")],
            r#"{"message":"Unauthorized"}"#,
        )
            .into_response();
    };
    let Ok(matched) = door.routes.find(method.as_str(), uri.path()) else {
        return gateway_error(StatusCode::FORBIDDEN, "Missing Authentication Token");
    };
    let event = proxy_event(&method, &uri, &headers, &body, &claims, &matched);
    match matched.route.function.invoke(&event).await {
        Ok(Reply::Json(result)) => proxy_response(&result),
        Ok(Reply::Stream(stream)) => streamed_response(stream).await,
        Err(error) => {
            tracing::error!(%error, "Function invocation failed");
            match error.gateway_status() {
                StatusCode::GATEWAY_TIMEOUT => {
                    gateway_error(StatusCode::GATEWAY_TIMEOUT, "Endpoint request timed out")
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    gateway_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
                }
                status => gateway_error(status, "Internal server error"),
            }
        }
    }
}

/// API Gateway's own answer, when no function's is to be had.
fn gateway_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        serde_json::json!({ "message": message }).to_string(),
    )
        .into_response()
}
