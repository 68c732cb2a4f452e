//! The IAM gateway: a reverse proxy in front of moto that forwards what the caller's role
//! allows and answers everything else with the service's own refusal; nothing refused
//! reaches moto.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use super::{Call, Principals, authorize};

#[derive(Debug)]
struct Upstream {
    /// moto's `host:port`.
    authority: String,
    principals: Arc<Principals>,
    /// Calls passed on, by service (S3 by method, as it bills them), for benchmarks.
    calls: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

/// A running gateway; it stops when [`Gateway::stop`] is called or it is dropped.
#[derive(Debug)]
pub struct Gateway {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// Listens on `listen` (port 0 picks one) and forwards allowed calls to `upstream`
    /// (`http://127.0.0.1:4566`).
    pub async fn start(
        listen: SocketAddr,
        upstream: String,
        principals: Arc<Principals>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} for the IAM gateway"))?;
        let addr = listener.local_addr()?;
        let authority = upstream
            .trim_end_matches('/')
            .trim_start_matches("http://")
            .to_owned();
        let state = Arc::new(Upstream {
            authority,
            principals,
            calls: std::sync::Mutex::default(),
        });
        let app = Router::new()
            .fallback(forward)
            .layer(DefaultBodyLimit::disable())
            .with_state(state);
        let task = tokio::spawn(async move {
            if let Err(error) = crate::net::serve(listener, app).await {
                tracing::error!(%error, "IAM gateway stopped");
            }
        });
        Ok(Self { addr, task })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(upstream): State<Arc<Upstream>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let call = Call {
        method: &parts.method,
        path,
        query,
        headers: &parts.headers,
        body: &body,
    };
    if parts.method == axum::http::Method::GET && path == "/_local/calls" {
        return axum::Json(upstream.calls()).into_response();
    }
    if let Err(refusal) = authorize(&upstream.principals, None, call) {
        return *refusal;
    }
    upstream.count(&parts.method, &parts.headers, query);
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.to_owned(), |pq| pq.as_str().to_owned());
    match send(
        &upstream.authority,
        parts.method.clone(),
        &target,
        &parts.headers,
        body,
    )
    .await
    {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(%error, "IAM gateway: upstream unreachable");
            (
                StatusCode::BAD_GATEWAY,
                format!("upstream unreachable: {error}"),
            )
                .into_response()
        }
    }
}

impl Upstream {
    fn count(&self, method: &axum::http::Method, headers: &HeaderMap, query: &str) {
        let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
        let service = super::CredentialScope::from_request(authorization, query)
            .map_or_else(|| "unsigned".to_owned(), |scope| scope.service);
        let key = if service == "s3" {
            format!("s3:{method}")
        } else {
            service
        };
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *calls.entry(key).or_default() += 1;
    }

    fn calls(&self) -> std::collections::BTreeMap<String, u64> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Sends the request to moto as it came, byte for byte in its target: an HTTP client that
/// parses URLs would resolve `..` and `%2e%2e` segments, and S3 keys are not paths (a key
/// `a/../b` must stay one). One connection per request: moto answers in several small
/// writes, and on a kept-alive connection the kernel delays our acknowledgement of the
/// first (up to 40 ms) while moto's Nagle holds the rest; a fresh connection acknowledges
/// at once, and on loopback costs far less than that wait.
async fn send(
    authority: &str,
    method: axum::http::Method,
    target: &str,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> anyhow::Result<Response> {
    let stream = tokio::net::TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "IAM gateway: upstream connection ended");
        }
    });
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(target)
        .body(http_body_util::Full::new(body))?;
    *request.headers_mut() = end_to_end(headers);
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    let mut relayed = Response::new(Body::new(body));
    *relayed.status_mut() = parts.status;
    *relayed.headers_mut() = end_to_end(&parts.headers);
    Ok(relayed)
}

/// The headers a proxy passes on: all but the hop-by-hop ones (`Host` is kept, so
/// virtual-host S3 requests still name their bucket).
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    const HOP_BY_HOP: [&str; 8] = [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ];
    headers
        .iter()
        .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
        .map(|(name, value)| (HeaderName::clone(name), value.clone()))
        .collect()
}
