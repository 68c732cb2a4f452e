//! A local RDS Data API server over a real PostgreSQL: the rest-json operations the SDKs
//! call (`/Execute`, `/BatchExecute`, `/BeginTransaction`, `/CommitTransaction`,
//! `/RollbackTransaction`), with the real service's shapes, limits and error names.

mod errors;
mod operations;
mod params;
mod pool;
mod statement;
mod values;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub use errors::{ApiError, Kind as ErrorKind};
use pool::{Pool, Transactions};

/// The Data API's request size limit, headers and JSON notation included.
const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// How the server behaves; the defaults are the real service's limits.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where PostgreSQL is; the request's `database` picks the database on it.
    pub postgres: tokio_postgres::Config,
    /// The database used when a request names none.
    pub default_database: String,
    pub statement_timeout: Duration,
    pub transaction_idle_timeout: Duration,
    pub max_response_bytes: usize,
    /// Fraction of calls (0.0..=1.0) that fail with a transient error before touching the database.
    pub fault_rate: f64,
    /// When set, every call is checked against the caller's role (cluster and secret, as
    /// the real service does) before anything else; `None` lets any caller in.
    pub iam: Option<Arc<crate::iam::Principals>>,
}

impl ServerConfig {
    pub fn new(postgres: tokio_postgres::Config, default_database: impl Into<String>) -> Self {
        Self {
            postgres,
            default_database: default_database.into(),
            statement_timeout: Duration::from_secs(45),
            transaction_idle_timeout: Duration::from_secs(180),
            max_response_bytes: 1024 * 1024,
            fault_rate: 0.0,
            iam: None,
        }
    }
}

#[derive(Debug)]
struct AppState {
    config: ServerConfig,
    pool: Arc<Pool>,
    transactions: Arc<Transactions>,
    fault_rate: AtomicU64,
    /// Operation calls received, for tests that check what was (not) retried.
    requests: AtomicU64,
    /// Calls failed on purpose by the fault switch.
    faults: AtomicU64,
    /// Calls per operation and statement shape, for benchmarks that show where calls go.
    tally: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    /// Requests as the Data API bills them: one per 32 KB of request and response payload.
    metered: AtomicU64,
}

/// A running server; it stops when this is dropped.
#[derive(Debug)]
pub struct DataApiServer {
    pub addr: SocketAddr,
    state: Arc<AppState>,
    task: tokio::task::JoinHandle<()>,
}

impl DataApiServer {
    /// Binds `addr` (port 0 picks a free one) and serves in the background.
    pub async fn start(config: ServerConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let transactions = Transactions::new(config.transaction_idle_timeout);
        let state = Arc::new(AppState {
            pool: Pool::new(config.postgres.clone()),
            fault_rate: AtomicU64::new(config.fault_rate.to_bits()),
            requests: AtomicU64::new(0),
            metered: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            tally: std::sync::Mutex::default(),
            transactions: Arc::clone(&transactions),
            config,
        });
        let reaper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                transactions.expire_idle().await;
            }
        });
        let app = router(Arc::clone(&state));
        let task = tokio::spawn(async move {
            if let Err(error) = crate::net::serve(listener, app).await {
                tracing::error!(%error, "Data API server stopped");
            }
            reaper.abort();
        });
        Ok(Self { addr, state, task })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The calls so far as the Data API bills them: each counts once per 32 KB of request
    /// plus response payload.
    pub fn metered_requests(&self) -> u64 {
        self.state.metered.load(Ordering::Relaxed)
    }

    /// How many operation calls (Execute, BatchExecute, Begin/Commit/Rollback) arrived.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Calls so far by operation and statement shape (`Execute UPDATE repository_items`),
    /// most frequent first.
    pub fn requests_by_statement(&self) -> Vec<(String, u64)> {
        let mut tally: Vec<(String, u64)> = self
            .state
            .tally
            .lock()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        tally.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        tally
    }

    /// How many calls the fault switch has failed.
    pub fn faults(&self) -> u64 {
        self.state.faults.load(Ordering::Relaxed)
    }

    /// Makes `rate` (0.0..=1.0) of the calls fail with transient errors.
    pub fn set_fault_rate(&self, rate: f64) {
        self.state
            .fault_rate
            .store(rate.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
    }
}

impl Drop for DataApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn router(state: Arc<AppState>) -> Router {
    let mut operations = Router::new()
        .route("/Execute", post(operations::execute))
        .route("/BatchExecute", post(operations::batch_execute))
        .route("/BeginTransaction", post(operations::begin_transaction))
        .route("/CommitTransaction", post(operations::commit_transaction))
        .route(
            "/RollbackTransaction",
            post(operations::rollback_transaction),
        );
    if let Some(principals) = &state.config.iam {
        let guard = crate::iam::Guard {
            principals: Arc::clone(principals),
            service: "rds-data",
            max_body_bytes: MAX_REQUEST_BYTES,
        };
        operations = operations.route_layer(axum::middleware::from_fn_with_state(
            guard,
            crate::iam::enforce,
        ));
    }
    operations
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            meter,
        ))
        .route("/_local/faults", post(set_faults))
        .route(
            "/_local/metering",
            get(|State(state): State<Arc<AppState>>| async move {
                axum::Json(serde_json::json!({
                    "calls": state.requests.load(Ordering::Relaxed),
                    "meteredRequests": state.metered.load(Ordering::Relaxed),
                }))
            }),
        )
        .route("/_local/health", get(|| async { "ok" }))
        .fallback(|| async {
            ApiError::new(ErrorKind::BadRequest, "Unknown operation").into_response()
        })
        // The service takes requests up to 4 MiB (axum's default stops at 2 MB).
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state)
}

/// Counts a call in the Data API's billing unit: 32 KB of request plus response payload.
async fn meter(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let sent = axum::body::HttpBody::size_hint(request.body()).exact();
    let response = next.run(request).await;
    let answered = axum::body::HttpBody::size_hint(response.body()).exact();
    let bytes = sent.unwrap_or(0) + answered.unwrap_or(0);
    state
        .metered
        .fetch_add(bytes.div_ceil(32 * 1024).max(1), Ordering::Relaxed);
    response
}

fn respond(result: Result<Value, ApiError>) -> Response {
    respond_text(result.map(|body| body.to_string()))
}

/// Like [`respond`], for a body already written out as JSON text.
fn respond_text(result: Result<String, ApiError>) -> Response {
    match result {
        Ok(body) => ([("content-type", "application/json")], body).into_response(),
        Err(error) => {
            tracing::debug!(error = error.name(), message = %error.message, "Data API call failed");
            error.into_response()
        }
    }
}

/// Counts the call and parses its body.
fn parse<T: DeserializeOwned>(state: &AppState, body: &Bytes) -> Result<T, ApiError> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Malformed request body: {e}")))
}

/// Adds a call to the tally under `operation` and the statement's shape.
fn tally(state: &AppState, operation: &str, sql: Option<&str>) {
    let key = match sql {
        Some(sql) => format!("{operation} {}", statement_shape(sql)),
        None => operation.to_owned(),
    };
    if let Ok(mut tally) = state.tally.lock() {
        *tally.entry(key).or_default() += 1;
    }
}

/// The leading keyword and the first table a statement names (`UPDATE repository_items`).
fn statement_shape(sql: &str) -> String {
    let keyword = shared::sql::leading_keyword(sql);
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let table = words
        .windows(2)
        .find(|w| {
            ["FROM", "INTO", "UPDATE", "JOIN"]
                .iter()
                .any(|k| w[0].eq_ignore_ascii_case(k))
                && w[1]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
        .map_or("", |w| w[1]);
    format!("{keyword} {table}").trim_end().to_owned()
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, ApiError> {
    match value.as_deref() {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ApiError::bad_request(format!(
            "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
        ))),
    }
}

impl AppState {
    fn database<'a>(&'a self, requested: &'a Option<String>) -> &'a str {
        requested
            .as_deref()
            .filter(|d| !d.is_empty())
            .unwrap_or(&self.config.default_database)
    }

    /// Fails the call with a transient error at the configured rate, before any work is done.
    fn maybe_fault(&self) -> Result<(), ApiError> {
        let rate = f64::from_bits(self.fault_rate.load(Ordering::Relaxed));
        if rate <= 0.0 || fastrand::f64() >= rate {
            return Ok(());
        }
        self.faults.fetch_add(1, Ordering::Relaxed);
        Err(match fastrand::u8(0..4) {
            0 => ApiError::new(
                ErrorKind::DatabaseResuming,
                "The Aurora DB instance local-cluster-instance-1 is resuming after being auto-paused. Please wait a few seconds and try again.",
            ),
            1 => ApiError::new(
                ErrorKind::ServiceUnavailable,
                "The service is unavailable. Try again later.",
            ),
            2 => ApiError::new(ErrorKind::Throttling, "Rate exceeded"),
            _ => ApiError::new(
                ErrorKind::InternalServerError,
                "An internal error occurred.",
            ),
        })
    }
}

async fn set_faults(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let result = serde_json::from_slice::<Value>(&body)
        .map_err(|e| ApiError::bad_request(format!("Malformed request body: {e}")))
        .and_then(|v| {
            let rate = v["rate"]
                .as_f64()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| ApiError::bad_request("rate must be a number between 0 and 1"))?;
            state.fault_rate.store(rate.to_bits(), Ordering::Relaxed);
            Ok(json!({ "rate": rate }))
        });
    respond(result)
}

#[cfg(test)]
mod tests {
    use super::statement_shape;

    #[test]
    fn statements_are_tallied_by_keyword_and_first_table() {
        assert_eq!(
            statement_shape("UPDATE repository_items SET status = 'failed' WHERE id = :id"),
            "UPDATE repository_items"
        );
        assert_eq!(
            statement_shape("SELECT c.id FROM chunks c WHERE c.id = ANY(:ids::uuid[])"),
            "SELECT chunks"
        );
        assert_eq!(
            statement_shape("INSERT INTO embeddings (chunk_id) VALUES (:c)"),
            "INSERT embeddings"
        );
        assert_eq!(statement_shape("SELECT 1"), "SELECT");
    }
}
