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

/// Responses up to this size are read whole and sent on in one piece; larger ones stream.
const BUFFERED_RESPONSE_BYTES: u64 = 1024 * 1024;

#[derive(Debug)]
struct Upstream {
    base: String,
    client: reqwest::Client,
    principals: Arc<Principals>,
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
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            // moto answers in several small writes; on a kept-alive connection the kernel
            // delays our acknowledgement of the first (up to 40 ms) and moto's Nagle holds
            // the rest until it comes. A fresh connection acknowledges at once (quick-ack
            // mode), and on loopback costs far less than that wait.
            .pool_max_idle_per_host(0)
            .build()
            .context("cannot build the IAM gateway's HTTP client")?;
        let state = Arc::new(Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            client,
            principals,
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
    if let Err(refusal) = authorize(&upstream.principals, None, call) {
        return *refusal;
    }
    let url = match parts.uri.path_and_query() {
        Some(pq) => format!("{}{pq}", upstream.base),
        None => format!("{}{path}", upstream.base),
    };
    let sent = upstream
        .client
        .request(parts.method.clone(), url)
        .headers(end_to_end(&parts.headers))
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) => relay(response).await,
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

async fn relay(response: reqwest::Response) -> Response {
    let status = response.status();
    let headers = end_to_end(response.headers());
    let small = response
        .content_length()
        .is_some_and(|n| n <= BUFFERED_RESPONSE_BYTES);
    let body = if small {
        match response.bytes().await {
            Ok(bytes) => Body::from(bytes),
            Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
        }
    } else {
        let chunks = futures_util::stream::unfold(Some(response), |response| async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
                Ok(None) => None,
                Err(error) => Some((Err(error), None)),
            }
        });
        Body::from_stream(chunks)
    };
    let mut relayed = Response::new(body);
    *relayed.status_mut() = status;
    *relayed.headers_mut() = headers;
    relayed
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
