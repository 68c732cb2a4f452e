//! A local Amazon Bedrock Runtime: InvokeModel for Titan v2 and Cohere embeddings, Converse,
//! and ConverseStream as a real `application/vnd.amazon.eventstream` binary stream, so the
//! real SDK client runs unchanged. Tests script it (throttling, 5xx, a cut stream, a slow
//! first token) through `/_local/script` and read what it received from `/_local/requests`.

mod converse;
mod errors;
mod invoke;
mod stream;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub use errors::{BedrockError, Kind as ErrorKind};

/// What the next call does instead of (or on top of) answering normally; each call takes
/// the first scripted fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Fault {
    /// HTTP 429 ThrottlingException.
    Throttle,
    /// HTTP 500 InternalServerException.
    ServerError,
    /// HTTP 503 ServiceUnavailableException.
    Unavailable,
    /// ConverseStream: the connection drops after this many contentBlockDelta events.
    Disconnect { after_deltas: usize },
    /// The first event (ConverseStream) or the answer (other calls) waits this long.
    SlowFirstToken { delay_ms: u64 },
}

/// One call the server received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    /// `invoke`, `converse` or `converse-stream`.
    pub operation: String,
    pub model_id: String,
    /// Texts embedded (invoke) or messages sent (converse).
    pub texts: usize,
}

/// The body of `POST /_local/script`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Script {
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Every later InvokeModel call takes this long (so concurrency shows in `maxInFlight`).
    #[serde(default)]
    pub latency_ms: Option<u64>,
}

#[derive(Debug, Default)]
struct Recorded {
    faults: VecDeque<Fault>,
    calls: Vec<Call>,
    latency: Duration,
    max_in_flight: usize,
}

#[derive(Debug, Default)]
struct AppState {
    recorded: Mutex<Recorded>,
    in_flight: AtomicUsize,
}

impl AppState {
    fn recorded(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the call and hands it the next scripted fault.
    fn begin(&self, operation: &str, model_id: &str, texts: usize) -> (Option<Fault>, Duration) {
        let mut recorded = self.recorded();
        recorded.calls.push(Call {
            operation: operation.to_owned(),
            model_id: model_id.to_owned(),
            texts,
        });
        (recorded.faults.pop_front(), recorded.latency)
    }

    /// Queues the script's faults and sets its latency; returns the faults now queued.
    fn apply(&self, script: Script) -> usize {
        let mut recorded = self.recorded();
        recorded.faults.extend(script.faults);
        if let Some(ms) = script.latency_ms {
            recorded.latency = Duration::from_millis(ms);
        }
        recorded.faults.len()
    }
}

/// Counts a call in flight until dropped.
struct InFlight(Arc<AppState>);

impl InFlight {
    fn new(state: &Arc<AppState>) -> Self {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let mut recorded = state.recorded();
        recorded.max_in_flight = recorded.max_in_flight.max(now);
        Self(Arc::clone(state))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running server; it stops when this is dropped.
#[derive(Debug)]
pub struct BedrockServer {
    pub addr: SocketAddr,
    state: Arc<AppState>,
    task: tokio::task::JoinHandle<()>,
}

impl BedrockServer {
    /// Binds `addr` (port 0 picks a free one) and serves in the background.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Self> {
        Self::start_with_iam(addr, None).await
    }

    /// [`BedrockServer::start`], checking every model call against the caller's role when
    /// `iam` is set.
    pub async fn start_with_iam(
        addr: SocketAddr,
        iam: Option<Arc<crate::iam::Principals>>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(AppState::default());
        let app = router(Arc::clone(&state), iam);
        let task = tokio::spawn(async move {
            if let Err(error) = crate::net::serve(listener, app).await {
                tracing::error!(%error, "Bedrock server stopped");
            }
        });
        Ok(Self { addr, state, task })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues faults for the next calls and sets the InvokeModel latency.
    pub fn script(&self, script: Script) {
        self.state.apply(script);
    }

    /// Every call received so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.recorded().calls.clone()
    }

    /// The most calls that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.recorded().max_in_flight
    }
}

impl Drop for BedrockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn router(state: Arc<AppState>, iam: Option<Arc<crate::iam::Principals>>) -> Router {
    let mut models = Router::new()
        .route("/model/{model_id}/invoke", post(invoke_model))
        .route("/model/{model_id}/converse", post(converse))
        .route("/model/{model_id}/converse-stream", post(converse_stream));
    if let Some(principals) = iam {
        let guard = crate::iam::Guard {
            principals,
            service: "bedrock",
            max_body_bytes: 25 * 1024 * 1024,
        };
        models = models.route_layer(axum::middleware::from_fn_with_state(
            guard,
            crate::iam::enforce,
        ));
    }
    models
        .route("/_local/script", post(set_script))
        .route("/_local/requests", get(requests))
        .route("/_local/reset", post(reset))
        .route("/_local/health", get(|| async { "ok" }))
        .fallback(|| async {
            BedrockError::validation("Unknown operation or path").into_response()
        })
        .with_state(state)
}

fn json_response(body: &Value) -> Response {
    (
        [
            ("content-type", "application/json".to_owned()),
            ("x-amzn-requestid", uuid::Uuid::new_v4().to_string()),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The faults that answer with an error; the others shape a successful answer.
fn fault_error(fault: Option<&Fault>) -> Option<BedrockError> {
    match fault? {
        Fault::Throttle => Some(BedrockError::throttling()),
        Fault::ServerError => Some(BedrockError::internal()),
        Fault::Unavailable => Some(BedrockError::unavailable()),
        Fault::Disconnect { .. } | Fault::SlowFirstToken { .. } => None,
    }
}

fn first_token_delay(fault: Option<&Fault>) -> Duration {
    match fault {
        Some(Fault::SlowFirstToken { delay_ms }) => Duration::from_millis(*delay_ms),
        _ => Duration::ZERO,
    }
}

async fn invoke_model(
    State(state): State<Arc<AppState>>,
    Path(model_id): Path<String>,
    body: Bytes,
) -> Response {
    let _in_flight = InFlight::new(&state);
    let texts = serde_json::from_slice::<Value>(&body)
        .ok()
        .map_or(0, |b| b["texts"].as_array().map_or(1, Vec::len));
    let (fault, latency) = state.begin("invoke", &model_id, texts);
    tokio::time::sleep(latency + first_token_delay(fault.as_ref())).await;
    if let Some(error) = fault_error(fault.as_ref()) {
        return error.into_response();
    }
    match invoke::invoke(&model_id, &body) {
        Ok(body) => json_response(&body),
        Err(error) => error.into_response(),
    }
}

fn messages_in(body: &[u8]) -> usize {
    serde_json::from_slice::<Value>(body)
        .ok()
        .map_or(0, |b| b["messages"].as_array().map_or(0, Vec::len))
}

async fn converse(
    State(state): State<Arc<AppState>>,
    Path(model_id): Path<String>,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let _in_flight = InFlight::new(&state);
    let (fault, _) = state.begin("converse", &model_id, messages_in(&body));
    tokio::time::sleep(first_token_delay(fault.as_ref())).await;
    if let Some(error) = fault_error(fault.as_ref()) {
        return error.into_response();
    }
    match converse::answer(&model_id, &body) {
        Ok(answer) => json_response(&converse::response(
            &answer,
            started.elapsed().as_millis() as u64,
        )),
        Err(error) => error.into_response(),
    }
}

async fn converse_stream(
    State(state): State<Arc<AppState>>,
    Path(model_id): Path<String>,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let (fault, _) = state.begin("converse-stream", &model_id, messages_in(&body));
    if let Some(error) = fault_error(fault.as_ref()) {
        return error.into_response();
    }
    match converse::answer(&model_id, &body) {
        Ok(answer) => stream::respond(answer, fault, started),
        Err(error) => error.into_response(),
    }
}

async fn set_script(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Script>(&body) {
        Ok(script) => json_response(&json!({ "queuedFaults": state.apply(script) })),
        Err(error) => BedrockError::validation(format!("Bad script: {error}")).into_response(),
    }
}

async fn requests(State(state): State<Arc<AppState>>) -> Response {
    let recorded = state.recorded();
    json_response(&json!({
        "calls": recorded.calls,
        "maxInFlight": recorded.max_in_flight,
        "queuedFaults": recorded.faults.len(),
    }))
}

async fn reset(State(state): State<Arc<AppState>>) -> Response {
    *state.recorded() = Recorded::default();
    json_response(&json!({ "reset": true }))
}
