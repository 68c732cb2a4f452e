//! Lambda, locally: a function is a pool of execution environments that grows on demand up
//! to its concurrency (reserved concurrency throttles past it, as Lambda does), each
//! invocation held to the template's `Timeout`, `MemorySize` and Lambda's payload limits,
//! with a `REPORT` line per invocation in the function's log.

mod build;
pub mod event_sources;
mod instance;
pub mod limits;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

pub use build::{binaries_dir, build_functions};
pub use instance::report_line;
use instance::{Instance, Started};
pub use limits::{InvocationType, LambdaError};

use crate::runtime_api::{Answer, ByteStream};

/// What a function returned for a proxy event: its proxy result, or a streamed HTTP
/// response (a JSON prelude with status and headers, 8 NUL bytes, then the body).
pub enum Reply {
    Json(Value),
    Stream(ByteStream),
}

/// Something that runs a function with an event and returns its result.
#[async_trait]
pub trait Invoke: Send + Sync {
    async fn invoke(&self, payload: &Value) -> Result<Reply, LambdaError>;
}

/// What Lambda knows of a function: its code, configuration and concurrency.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// The function's name, also its log file's (`<log_dir>/<name>.log`).
    pub name: String,
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// At most this many instances run at once.
    pub max_instances: usize,
    /// Whether the cap is the function's reserved concurrency, past which Lambda refuses
    /// invocations (`TooManyRequestsException`) instead of scaling out; otherwise it is the
    /// local machine's limit and an invocation waits for a free instance.
    pub throttles: bool,
    pub log_dir: PathBuf,
}

/// A running function: its idle instances, most recently freed last.
pub struct Function {
    pub config: Arc<FunctionConfig>,
    idle: Arc<Idle>,
    stopping: watch::Sender<bool>,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.config.name)
            .finish()
    }
}

struct Idle {
    instances: Mutex<Vec<Instance>>,
    /// One permit per instance that may still run an invocation.
    free: Semaphore,
}

/// An instance on loan to one invocation; it goes back to the pool when dropped.
struct Lease {
    instance: Option<Instance>,
    idle: Arc<Idle>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(instance) = self.instance.take() {
            lock(&self.idle.instances).push(instance);
        }
        self.idle.free.add_permits(1);
    }
}

impl Function {
    pub fn new(config: FunctionConfig) -> Self {
        let permits = config.max_instances.max(1);
        Self {
            config: Arc::new(config),
            idle: Arc::new(Idle {
                instances: Mutex::new(Vec::new()),
                free: Semaphore::new(permits),
            }),
            stopping: watch::channel(false).0,
        }
    }

    /// Starts `count` instances now (provisioned, so the first requests meet warm ones and
    /// a function that cannot start says so at once).
    pub async fn warm(&self, count: usize) -> Result<(), LambdaError> {
        for _ in 0..count.min(self.config.max_instances) {
            let mut instance = self.new_instance().await?;
            instance.ensure_started().await?;
            lock(&self.idle.instances).push(instance);
        }
        Ok(())
    }

    async fn new_instance(&self) -> Result<Instance, LambdaError> {
        Instance::new(Arc::clone(&self.config), self.stopping.subscribe())
            .await
            .map_err(|e| LambdaError::Init(format!("cannot start a Runtime API: {e}")))
    }

    async fn lease(&self) -> Result<Lease, LambdaError> {
        let permit = if self.config.throttles {
            self.idle
                .free
                .try_acquire()
                .map_err(|_| LambdaError::Throttled)?
        } else {
            self.idle
                .free
                .acquire()
                .await
                .map_err(|_| LambdaError::Closed)?
        };
        permit.forget();
        let mut lease = Lease {
            instance: lock(&self.idle.instances).pop(),
            idle: Arc::clone(&self.idle),
        };
        if lease.instance.is_none() {
            lease.instance = Some(self.new_instance().await?);
        }
        Ok(lease)
    }

    /// Runs one invocation. A streamed answer comes back as soon as it begins; the instance
    /// stays on loan until the function has written all of it.
    pub async fn invoke_as(
        &self,
        payload: &Value,
        kind: InvocationType,
    ) -> Result<Reply, LambdaError> {
        let bytes = Bytes::from(payload.to_string());
        limits::check_request(bytes.len(), kind)?;
        let lease = self.lease().await?;
        let (reply, replied) = oneshot::channel();
        // The invocation runs on its own task, so it is held to its limits (and its
        // instance returned) even when the caller stops waiting.
        tokio::spawn(run(lease, bytes, reply));
        replied.await.map_err(|_| LambdaError::Closed)?
    }

    /// Process ids of the idle instances.
    pub fn pids(&self) -> Vec<u32> {
        lock(&self.idle.instances)
            .iter()
            .filter_map(Instance::pid)
            .collect()
    }

    /// Kills every instance, busy ones included.
    pub async fn stop(&self) {
        self.stopping.send_replace(true);
        self.idle.free.close();
        let idle = std::mem::take(&mut *lock(&self.idle.instances));
        for instance in idle {
            instance.stop().await;
        }
    }
}

async fn run(mut lease: Lease, payload: Bytes, reply: oneshot::Sender<Result<Reply, LambdaError>>) {
    let Some(instance) = lease.instance.as_mut() else {
        let _ = reply.send(Err(LambdaError::Closed));
        return;
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    match instance.start(payload, &request_id).await {
        Err(error) => {
            let _ = reply.send(Err(error));
        }
        Ok(Started {
            answer: Answer::Buffered(bytes),
            began,
            init,
        }) => {
            instance.report(&request_id, began, init);
            let _ = reply.send(buffered(&bytes));
        }
        Ok(Started {
            answer: Answer::Streamed(stream),
            began,
            init,
        }) => {
            let (chunks, received) = mpsc::channel::<Bytes>(64);
            let body = futures_util::stream::unfold(received, |mut received| async move {
                received.recv().await.map(|chunk| (chunk, received))
            });
            let _ = reply.send(Ok(Reply::Stream(Box::pin(body))));
            let outcome = instance.forward(stream, chunks, began, &request_id).await;
            instance.report(&request_id, began, init);
            if let Err(error) = outcome {
                tracing::warn!(function = instance.name(), %error, "A streamed invocation failed");
            }
        }
    }
}

/// A buffered answer as the caller gets it: JSON within Lambda's 6 MB.
fn buffered(bytes: &[u8]) -> Result<Reply, LambdaError> {
    if bytes.len() > limits::SYNC_PAYLOAD_BYTES {
        return Err(LambdaError::ResponseTooLarge {
            limit: limits::SYNC_PAYLOAD_BYTES,
        });
    }
    serde_json::from_slice(bytes)
        .map(Reply::Json)
        .map_err(|e| LambdaError::Function {
            error_type: "Runtime.InvalidResponse".to_owned(),
            error_message: format!("the function answered with something other than JSON: {e}"),
        })
}

#[async_trait]
impl Invoke for Function {
    async fn invoke(&self, payload: &Value) -> Result<Reply, LambdaError> {
        self.invoke_as(payload, InvocationType::RequestResponse)
            .await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
