//! A minimal Lambda Runtime API: runs a function's real binary (`bootstrap`) as Lambda
//! does, hands it invocations through `GET /next`, and collects what it answers.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use studio_local::runtime_api::RuntimeApi;
//! let api = RuntimeApi::start().await?;
//! let mut function = api.spawn_function("target/release/db-init".as_ref(), &[])?;
//! let init = api.wait_ready(&mut function, std::time::Duration::from_secs(5)).await?;
//! let answer = api.invoke(&serde_json::json!({"action": "status"})).await;
//! # Ok(()) }
//! ```

mod handlers;
mod process;

use crate::account::ACCOUNT_ID;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::io::BufReader;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot, watch};

use handlers::{error, init_error, next, response};
pub use process::FunctionProcess;
use process::collect;

const PREFIX: &str = "/2018-06-01/runtime";

/// Why an invocation produced no response.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InvokeError {
    /// The handler failed: what it posted to `/invocation/{id}/error`.
    #[error("{error_type}: {error_message}")]
    Function {
        error_type: String,
        error_message: String,
    },
    /// The runtime failed before serving (`/init/error`).
    #[error("init failed: {0}")]
    Init(String),
    #[error("no answer before the deadline")]
    Timeout,
    #[error("the Runtime API has stopped")]
    Closed,
}

/// What a function answered: a whole payload, or (response streaming,
/// `Lambda-Runtime-Function-Response-Mode: streaming`) the bytes as the function sends them.
pub enum Answer {
    Buffered(Bytes),
    Streamed(ByteStream),
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Buffered(bytes) => f.debug_tuple("Buffered").field(bytes).finish(),
            Self::Streamed(_) => f.write_str("Streamed(..)"),
        }
    }
}

/// The body of a streamed answer, chunk by chunk as the function wrote them.
pub type ByteStream = std::pin::Pin<Box<dyn futures_util::Stream<Item = Bytes> + Send>>;

/// An invocation waiting for `GET /next`.
struct Pending {
    request_id: String,
    payload: Bytes,
    deadline: SystemTime,
}

type Outcome = Result<Answer, InvokeError>;

struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// When the runtime first asked for work (its init is over), or why it never will.
    ready: watch::Sender<Option<Result<Instant, String>>>,
    function_arn: Mutex<String>,
}

/// The Runtime API server, serving one function process at a time as a Lambda sandbox does.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    sender: mpsc::UnboundedSender<Pending>,
    server: tokio::task::JoinHandle<()>,
    /// How long an invocation may run (sent as `Lambda-Runtime-Deadline-Ms`).
    pub timeout: Duration,
    /// Where each function's output goes, as `<name>.log`, besides the recent lines kept.
    pub log_dir: Option<std::path::PathBuf>,
    /// The function's `MemorySize` (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    pub memory_mb: u32,
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("address", &self.address)
            .finish()
    }
}

impl RuntimeApi {
    /// Listens on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            ready: watch::channel(None).0,
            function_arn: Mutex::new(String::new()),
        });
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = crate::net::serve(listener, app).await {
                tracing::error!(%error, "The Runtime API server stopped");
            }
        });
        Ok(Self {
            address,
            shared,
            sender,
            server,
            timeout: Duration::from_secs(60),
            log_dir: None,
            memory_mb: 128,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Starts `binary` with the variables Lambda sets, then `env` (which may override them).
    /// The function is named after the binary, or its folder for a `bootstrap`.
    pub fn spawn_function(
        &self,
        binary: &Path,
        env: &[(String, String)],
    ) -> std::io::Result<FunctionProcess> {
        let stem = binary
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("function");
        let name = match (stem, binary.parent().and_then(Path::file_name)) {
            ("bootstrap", Some(folder)) => folder.to_string_lossy().into_owned(),
            _ => stem.to_owned(),
        };
        let name = env
            .iter()
            .find(|(k, _)| k == "AWS_LAMBDA_FUNCTION_NAME")
            .map_or(name, |(_, v)| v.clone());
        *lock(&self.shared.function_arn) =
            format!("arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{name}");
        // A new process has a new init to wait for.
        self.shared.ready.send_replace(None);
        let mut command = Command::new(binary);
        command
            .env("AWS_LAMBDA_RUNTIME_API", self.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let spawned_at = Instant::now();
        let mut child = command.spawn()?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let file = match &self.log_dir {
            Some(dir) => Some(Arc::new(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join(format!("{name}.log")))?,
            ))),
            None => None,
        };
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(tokio::spawn(collect(
                BufReader::new(out),
                Arc::clone(&logs),
                file.clone(),
            )));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(tokio::spawn(collect(
                BufReader::new(err),
                Arc::clone(&logs),
                file,
            )));
        }
        Ok(FunctionProcess {
            child,
            name,
            spawned_at,
            logs,
            readers,
        })
    }

    /// Waits until `function` first asks for work, and returns how long its init took
    /// (process spawn to the first `GET /next`).
    pub async fn wait_ready(
        &self,
        function: &mut FunctionProcess,
        timeout: Duration,
    ) -> Result<Duration, InvokeError> {
        let mut ready = self.shared.ready.subscribe();
        let spawned_at = function.spawned_at;
        let child = &mut function.child;
        let outcome = tokio::time::timeout(timeout, async move {
            tokio::select! {
                state = ready.wait_for(Option::is_some) => match state.as_deref() {
                    Ok(Some(Ok(at))) => Ok(Ok(at.duration_since(spawned_at))),
                    Ok(Some(Err(reason))) => Ok(Err(InvokeError::Init(reason.clone()))),
                    _ => Ok(Err(InvokeError::Closed)),
                },
                status = child.wait() => Err(status),
            }
        })
        .await;
        let Ok(outcome) = outcome else {
            return Err(InvokeError::Timeout);
        };
        match outcome {
            Ok(ready) => ready,
            Err(status) => {
                // The process is gone: let the readers reach the end of its output first.
                for reader in function.readers.drain(..) {
                    let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
                }
                Err(InvokeError::Init(format!(
                    "the process exited ({}) before asking for work: {}",
                    status.map_or_else(|e| e.to_string(), |s| s.to_string()),
                    function.logs().join("\n")
                )))
            }
        }
    }

    /// Sends `payload` to the function and waits for its answer.
    pub async fn invoke(&self, payload: &Value) -> Result<Value, InvokeError> {
        let bytes = self.invoke_raw(Bytes::from(payload.to_string())).await?;
        Ok(serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())))
    }

    /// Sends raw bytes (e.g. a malformed event) and returns the raw response body, a
    /// streamed one gathered whole.
    pub async fn invoke_raw(&self, payload: Bytes) -> Result<Bytes, InvokeError> {
        match self.invoke_answer(payload).await? {
            Answer::Buffered(bytes) => Ok(bytes),
            Answer::Streamed(stream) => {
                let chunks: Vec<Bytes> = stream.collect().await;
                Ok(Bytes::from(chunks.concat()))
            }
        }
    }

    /// Sends `payload` and returns the answer as soon as it starts: a streamed response
    /// comes back while the function still writes it.
    pub async fn invoke_answer(&self, payload: Bytes) -> Result<Answer, InvokeError> {
        self.invoke_with(uuid::Uuid::new_v4().to_string(), payload, self.timeout)
            .await
    }

    /// [`Self::invoke_answer`] under a request id of the caller's, with `timeout` as the
    /// invocation's deadline (`Lambda-Runtime-Deadline-Ms`).
    pub async fn invoke_with(
        &self,
        request_id: String,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Answer, InvokeError> {
        let (done, answer) = oneshot::channel();
        lock(&self.shared.waiting).insert(request_id.clone(), done);
        let pending = Pending {
            request_id: request_id.clone(),
            payload,
            deadline: SystemTime::now() + timeout,
        };
        self.sender.send(pending).map_err(|_| InvokeError::Closed)?;
        let outcome = tokio::time::timeout(timeout, answer).await;
        lock(&self.shared.waiting).remove(&request_id);
        match outcome {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(InvokeError::Closed),
            Err(_) => Err(InvokeError::Timeout),
        }
    }
}

impl RuntimeApi {
    /// Drops invocations no process took (after the process was killed), so a new one
    /// starts with none of them.
    pub async fn discard_pending(&self) {
        let mut queue = self.shared.queue.lock().await;
        while queue.try_recv().is_ok() {}
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
