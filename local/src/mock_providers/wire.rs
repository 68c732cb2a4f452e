//! What the mock servers write: Server-Sent Events frames, error bodies, recorded headers.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::Value;

/// One SSE frame to send, after `delay`; `None` drops the connection.
pub(super) struct Frame {
    pub(super) delay: Duration,
    pub(super) data: Option<String>,
}

impl Frame {
    pub(super) fn data(data: String) -> Self {
        Self {
            delay: Duration::ZERO,
            data: Some(data),
        }
    }
}

/// Streams `frames` as `text/event-stream`, sleeping before each as told. Before a
/// disconnect it waits a little, so the server flushes what was sent (it does whenever
/// the body is pending) instead of dropping it with the connection.
pub(super) fn sse(frames: Vec<Frame>) -> Response {
    let body = stream::unfold(frames.into_iter(), |mut frames| async move {
        let frame = frames.next()?;
        let delay = match frame.data {
            Some(_) => frame.delay,
            None => frame.delay.max(Duration::from_millis(50)),
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let item = match frame.data {
            Some(data) => Ok(Bytes::from(format!("data: {data}\n\n"))),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "mock provider: disconnect mid-stream",
            )),
        };
        Some((item, frames))
    });
    (
        [
            ("content-type", "text/event-stream; charset=utf-8"),
            ("cache-control", "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// A JSON error response with extra headers.
pub(super) fn error(
    status: StatusCode,
    headers: &[(&'static str, String)],
    body: Value,
) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    for (name, value) in headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

pub(super) fn recorded_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}
