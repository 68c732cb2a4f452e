//! Mock LLM providers for tests and benchmarks: one HTTP server that speaks the OpenAI chat
//! completions API (also at Azure's deployment paths) and Gemini's `streamGenerateContent`
//! with their real SSE chunk shapes, so the real adapters run against it. Scriptable (the
//! reply or an echo, usage, reasoning, faults for the next calls) and recording every
//! request it received.

mod gemini;
mod openai;
mod wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wire::{Frame, error, recorded_headers, sse};

/// Token counts the mock reports. `output` includes `reasoning`, as the chat port counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MockUsage {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub reasoning: u64,
}

impl Default for MockUsage {
    fn default() -> Self {
        Self {
            input: 57,
            output: 23,
            cached: 12,
            reasoning: 5,
        }
    }
}

/// What the mock answers when no fault applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Script {
    /// The answer; `None` echoes the last user message.
    pub reply: Option<String>,
    /// Reasoning sent before the answer (OpenAI: `delta.reasoning_content`; Gemini:
    /// `thought: true` parts).
    pub reasoning: Option<String>,
    pub usage: MockUsage,
    /// OpenAI's name (`stop`, `length`, `content_filter`); Gemini gets its own spelling.
    pub finish_reason: String,
    /// Pause between two deltas, for benchmarks.
    pub delta_delay_ms: u64,
    /// When set, requests without this key get the provider's authentication error.
    pub api_key: Option<String>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            reply: Some("The mock provider answers in several small pieces.".to_owned()),
            reasoning: None,
            usage: MockUsage::default(),
            finish_reason: "stop".to_owned(),
            delta_delay_ms: 0,
            api_key: None,
        }
    }
}

/// A failure to play on a call instead of (or in the middle of) the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Fault {
    /// 429 with this `Retry-After` value (seconds or an HTTP date).
    #[serde(rename_all = "camelCase")]
    RateLimited { retry_after: String },
    /// 500 with the provider's error body.
    ServerError,
    /// Sends this many answer deltas, then drops the connection.
    #[serde(rename_all = "camelCase")]
    Disconnect { after_deltas: usize },
    /// Waits this long before the first chunk, then answers normally.
    #[serde(rename_all = "camelCase")]
    SlowFirstToken { delay_ms: u64 },
}

/// `fault` for the next `times` calls (to `model` only, when given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedFault {
    pub fault: Fault,
    pub times: usize,
    #[serde(default)]
    pub model: Option<String>,
}

/// One request the mock received.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// `openai`, `azure` or `gemini`: which API was called.
    pub api: &'static str,
    pub path: String,
    pub query: Option<String>,
    /// The model asked for (Azure: the deployment).
    pub model: String,
    /// Lower-case header names -> values.
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct Inner {
    script: Script,
    faults: Vec<PlannedFault>,
    requests: Vec<RecordedRequest>,
}

/// The shared, scriptable state of a running mock.
#[derive(Clone, Default)]
pub struct Mock(Arc<Mutex<Inner>>);

impl Mock {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn set_script(&self, script: Script) {
        self.lock().script = script;
    }

    pub fn script(&self) -> Script {
        self.lock().script.clone()
    }

    /// Changes the script in place: `mock.update(|s| s.reply = None)`.
    pub fn update(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.lock().script);
    }

    /// Plays `fault` on the next `times` calls.
    pub fn fail_next(&self, times: usize, fault: Fault) {
        self.plan(PlannedFault {
            fault,
            times,
            model: None,
        });
    }

    /// Plays `fault` on the next `times` calls that ask for `model`.
    pub fn fail_next_for(&self, model: &str, times: usize, fault: Fault) {
        self.plan(PlannedFault {
            fault,
            times,
            model: Some(model.to_owned()),
        });
    }

    pub fn plan(&self, planned: PlannedFault) {
        if planned.times > 0 {
            self.lock().faults.push(planned);
        }
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }

    /// Records the request and decides how to answer it.
    fn take_call(&self, request: RecordedRequest) -> Call {
        let mut inner = self.lock();
        let fault = inner
            .faults
            .iter()
            .position(|f| f.model.as_deref().is_none_or(|m| m == request.model))
            .map(|at| {
                let planned = &mut inner.faults[at];
                planned.times -= 1;
                let fault = planned.fault.clone();
                if planned.times == 0 {
                    inner.faults.remove(at);
                }
                fault
            });
        let script = inner.script.clone();
        inner.requests.push(request);
        Call { script, fault }
    }
}

/// What one call plays: the script, and the fault that applies to it, if any.
struct Call {
    script: Script,
    fault: Option<Fault>,
}

impl Call {
    /// The answer's deltas: the scripted reply, or the echoed user text.
    fn deltas(&self, last_user_text: &str) -> Vec<String> {
        split_deltas(self.script.reply.as_deref().unwrap_or(last_user_text))
    }

    fn authorized(&self, presented: Option<&str>) -> bool {
        match &self.script.api_key {
            None => true,
            Some(key) => presented == Some(key.as_str()),
        }
    }

    fn first_delay(&self) -> Duration {
        match self.fault {
            Some(Fault::SlowFirstToken { delay_ms }) => Duration::from_millis(delay_ms),
            _ => Duration::ZERO,
        }
    }

    fn cut_after(&self) -> Option<usize> {
        match self.fault {
            Some(Fault::Disconnect { after_deltas }) => Some(after_deltas),
            _ => None,
        }
    }
}

/// How the mock splits a text into deltas: one word (with its trailing space) each.
pub fn split_deltas(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_owned).collect()
}

/// A running mock provider server.
pub struct MockProviders {
    pub addr: SocketAddr,
    pub mock: Mock,
    task: tokio::task::JoinHandle<()>,
}

impl MockProviders {
    /// Starts the mock on 127.0.0.1, on a free port.
    pub async fn start() -> std::io::Result<Self> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mock = Mock::default();
        let app = router(mock.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = crate::net::serve(listener, app).await {
                tracing::error!(%error, "Mock provider server stopped");
            }
        });
        Ok(Self { addr, mock, task })
    }

    /// The OpenAI-style base URL (`http://addr/v1`), for `openai` and `openai_compatible`.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The Azure endpoint (`http://addr`), under which `/openai/deployments/...` answer.
    pub fn azure_endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Gemini base URL (`http://addr`), under which `/v1beta/models/...` answer.
    pub fn gemini_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for MockProviders {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The mock's routes; also `PUT /_mock/script`, `POST /_mock/faults` and
/// `GET /_mock/requests` to drive a mock running in another process.
pub fn router(mock: Mock) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai::openai))
        .route(
            "/openai/deployments/{deployment}/chat/completions",
            post(openai::azure),
        )
        .route("/v1beta/models/{*call}", post(gemini::generate))
        .route("/_mock/script", put(put_script).get(get_script))
        .route("/_mock/faults", post(post_fault))
        .route("/_mock/requests", get(get_requests))
        .with_state(mock)
}

async fn put_script(
    State(mock): State<Mock>,
    axum::Json(script): axum::Json<Script>,
) -> StatusCode {
    mock.set_script(script);
    StatusCode::NO_CONTENT
}

async fn get_script(State(mock): State<Mock>) -> axum::Json<Script> {
    axum::Json(mock.script())
}

async fn post_fault(
    State(mock): State<Mock>,
    axum::Json(planned): axum::Json<PlannedFault>,
) -> StatusCode {
    mock.plan(planned);
    StatusCode::NO_CONTENT
}

async fn get_requests(State(mock): State<Mock>) -> axum::Json<Vec<RecordedRequest>> {
    axum::Json(mock.requests())
}
