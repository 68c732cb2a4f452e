//! The Runtime API's HTTP endpoints, as the `lambda_runtime` crate (and every other
//! runtime client) calls them.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde_json::Value;

use axum::body::Body;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{Answer, InvokeError, Outcome, Shared, lock};

pub(super) async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    shared.ready.send_if_modified(|state| {
        let first = state.is_none();
        if first {
            *state = Some(Ok(Instant::now()));
        }
        first
    });
    let Some(pending) = shared.queue.lock().await.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), Bytes::new());
    };
    let deadline_ms = pending
        .deadline
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let trace = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        &uuid::Uuid::new_v4().simple().to_string()[..24],
        &uuid::Uuid::new_v4().simple().to_string()[..16],
    );
    let arn = lock(&shared.function_arn).clone();
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", pending.request_id),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", arn),
        ("lambda-runtime-trace-id", trace),
        ("content-type", "application/json".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    (StatusCode::OK, headers, pending.payload)
}

fn finish(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match lock(&shared.waiting).remove(id) {
        Some(done) => {
            let _ = done.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

pub(super) async fn response(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> StatusCode {
    let streaming = headers
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|mode| mode.as_bytes().eq_ignore_ascii_case(b"streaming"));
    if !streaming {
        return match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => finish(&shared, &id, Ok(Answer::Buffered(bytes))),
            Err(_) => StatusCode::BAD_REQUEST,
        };
    }
    // The caller gets the stream at once; this request stays open until the function has
    // written everything, as Lambda's does, so the process takes no new work meanwhile.
    let (sender, receiver) = mpsc::channel::<Bytes>(64);
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let status = finish(&shared, &id, Ok(Answer::Streamed(Box::pin(stream))));
    let mut data = body.into_data_stream();
    while let Some(chunk) = data.next().await {
        match chunk {
            // A client that went away stops reading; the function still finishes.
            Ok(chunk) => {
                let _ = sender.send(chunk).await;
            }
            Err(_) => break,
        }
    }
    status
}

/// The `errorType` / `errorMessage` a runtime posts, falling back to the error-type header.
fn diagnostic(headers: &HeaderMap, body: &[u8]) -> (String, String) {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_owned);
    let header = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        text("errorType").or(header).unwrap_or_default(),
        text("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
    )
}

pub(super) async fn error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (error_type, error_message) = diagnostic(&headers, &body);
    finish(
        &shared,
        &id,
        Err(InvokeError::Function {
            error_type,
            error_message,
        }),
    )
}

pub(super) async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (error_type, error_message) = diagnostic(&headers, &body);
    shared
        .ready
        .send_replace(Some(Err(format!("{error_type}: {error_message}"))));
    StatusCode::ACCEPTED
}
