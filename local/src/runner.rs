//! The local runner: each function's own binary behind its own Runtime API (one warm
//! process, as a Lambda sandbox), SQS event source mappings that poll moto and honour
//! partial batch responses, and the front door for the api function.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use serde_json::{Value, json};

use crate::front_door::{Invoke, Reply};
use crate::runtime_api::{Answer, FunctionProcess, RuntimeApi};

/// A function running under the runner.
#[derive(Debug)]
pub struct Function {
    pub name: String,
    pub api: Arc<RuntimeApi>,
    process: FunctionProcess,
}

impl Function {
    /// Starts `binary` and waits for it to ask for work.
    pub async fn start(
        name: &str,
        binary: &Path,
        env: &[(String, String)],
        log_dir: &Path,
    ) -> anyhow::Result<Self> {
        let mut api = RuntimeApi::start().await?;
        api.timeout = Duration::from_secs(300);
        api.log_dir = Some(log_dir.to_owned());
        let mut env = env.to_vec();
        env.push(("AWS_LAMBDA_FUNCTION_NAME".to_owned(), name.to_owned()));
        let mut process = api
            .spawn_function(binary, &env)
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let init = api
            .wait_ready(&mut process, Duration::from_secs(30))
            .await
            .map_err(|e| anyhow::anyhow!("{name} did not start: {e}"))?;
        tracing::info!(
            function = name,
            init_ms = init.as_millis() as u64,
            "Function ready"
        );
        Ok(Self {
            name: name.to_owned(),
            api: Arc::new(api),
            process,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    pub async fn stop(mut self) {
        self.process.kill().await;
    }
}

#[async_trait]
impl Invoke for RuntimeApi {
    async fn invoke(&self, payload: &Value) -> Result<Reply, String> {
        let answer = self
            .invoke_answer(bytes::Bytes::from(payload.to_string()))
            .await
            .map_err(|e| e.to_string())?;
        Ok(match answer {
            Answer::Buffered(bytes) => {
                Reply::Json(serde_json::from_slice(&bytes).map_err(|e| {
                    format!("the function answered with something other than JSON: {e}")
                })?)
            }
            Answer::Streamed(stream) => Reply::Stream(stream),
        })
    }
}

/// Several warm instances of one function, as Lambda scales a function out: each request
/// goes to a free instance (one invocation per instance at a time) or waits for one. The
/// most recently freed instance goes first, as Lambda hands the next invocation to the
/// sandbox that just finished: a quiet function keeps running on one warm instance (its
/// connections open, its caches and the CPU's warm) instead of cycling through all of them.
pub struct Pool {
    idle: Arc<Idle>,
}

/// The free instances, most recently freed last, and a permit for each of them.
struct Idle {
    instances: std::sync::Mutex<Vec<Arc<RuntimeApi>>>,
    free: tokio::sync::Semaphore,
}

/// An instance on loan; it goes back to the pool when dropped, so an invocation whose
/// caller went away mid-way does not shrink the pool (the instance queues its next event
/// behind the one it is still running).
struct Lease {
    instance: Option<Arc<RuntimeApi>>,
    idle: Arc<Idle>,
}

impl Lease {
    async fn take(idle: &Arc<Idle>) -> Result<Self, String> {
        idle.free
            .acquire()
            .await
            .map_err(|_| "the function's instances have stopped")?
            .forget();
        let instance = idle
            .instances
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        Ok(Self {
            instance,
            idle: Arc::clone(idle),
        })
    }

    fn instance(&self) -> Result<&RuntimeApi, String> {
        self.instance
            .as_deref()
            .ok_or_else(|| "the function's pool lost an instance".to_owned())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(instance) = self.instance.take() {
            self.idle
                .instances
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(instance);
            self.idle.free.add_permits(1);
        }
    }
}

impl Pool {
    pub fn new(instances: &[Arc<RuntimeApi>]) -> Self {
        Self {
            idle: Arc::new(Idle {
                instances: std::sync::Mutex::new(instances.to_vec()),
                free: tokio::sync::Semaphore::new(instances.len()),
            }),
        }
    }
}

/// A streamed body that keeps its instance until it ends or is dropped.
struct Returning {
    stream: crate::runtime_api::ByteStream,
    _lease: Lease,
}

impl futures_util::Stream for Returning {
    type Item = bytes::Bytes;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.stream.as_mut().poll_next(cx)
    }
}

#[async_trait]
impl Invoke for Pool {
    async fn invoke(&self, payload: &Value) -> Result<Reply, String> {
        let lease = Lease::take(&self.idle).await?;
        match Invoke::invoke(lease.instance()?, payload).await {
            Ok(Reply::Stream(stream)) => Ok(Reply::Stream(Box::pin(Returning {
                stream,
                _lease: lease,
            }))),
            other => other,
        }
    }
}

/// Where the function binaries are: next to the running `studio` binary (same profile).
pub fn binaries_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe
        .parent()
        .context("the studio binary has no folder")?
        .to_owned())
}

/// Builds the workspace's binaries with the profile `studio` itself was built with, when
/// run from a checkout (a no-op when they are up to date). The whole workspace, not just
/// the functions: building a subset resolves other features and rebuilds dependencies.
pub async fn build_functions(root: &Path) -> anyhow::Result<()> {
    // Tests run the stack from inside `cargo test`, which holds the build lock.
    if !root.join("Cargo.toml").exists() || std::env::var_os("STUDIO_SKIP_BUILD").is_some() {
        return Ok(());
    }
    let release = binaries_dir()?.ends_with("release");
    let mut command =
        tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command
        .current_dir(root)
        .args(["build", "--quiet", "--workspace", "--bins"]);
    if release {
        command.arg("--release");
    }
    let status = command
        .status()
        .await
        .context("cannot run cargo build for the functions")?;
    anyhow::ensure!(status.success(), "building the functions failed");
    Ok(())
}

/// Polls a queue like a Lambda event source mapping: batches of up to `batch_size`
/// messages go to the function as an `SqsEvent`; what it does not report as failed is
/// deleted, the failures reappear after the visibility timeout (and moto's redrive moves
/// them to the DLQ after maxReceiveCount).
pub fn map_queue(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    batch_size: i32,
    function: Arc<RuntimeApi>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let arn = queue_arn(&queue_url);
        loop {
            if let Err(error) = poll_once(&sqs, &queue_url, &arn, batch_size, &function).await {
                tracing::warn!(queue = %queue_url, error = %error, "Polling failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    })
}

/// Sends `function` an EventBridge Scheduled Event every `every`, as a `rate()` rule does.
pub fn tick(every: Duration, function: Arc<RuntimeApi>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        loop {
            interval.tick().await;
            let event = json!({
                "version": "0", "id": uuid::Uuid::new_v4().to_string(),
                "detail-type": "Scheduled Event", "source": "aws.events",
                "account": "123456789012", "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/studio-schedule-tick"],
                "detail": {},
            });
            if let Err(error) = function.invoke(&event).await {
                tracing::warn!(%error, "The schedule tick failed");
            }
        }
    })
}

/// `arn:aws:sqs:us-east-1:123456789012:name` for moto's `http://host/123456789012/name`.
fn queue_arn(url: &str) -> String {
    let mut parts = url.rsplit('/');
    let name = parts.next().unwrap_or_default();
    let account = parts.next().unwrap_or("123456789012");
    format!("arn:aws:sqs:us-east-1:{account}:{name}")
}

async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    arn: &str,
    batch_size: i32,
    function: &RuntimeApi,
) -> anyhow::Result<()> {
    let received = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(batch_size.clamp(1, 10))
        // Long polls of 20 s, as an event source mapping's: a message that arrives wakes
        // the poll at once (moto re-checks each second for one made visible again), and an
        // idle queue costs one request per 20 s instead of one per second.
        .wait_time_seconds(20)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(());
    }
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .attributes
                .iter()
                .flatten()
                .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                .collect();
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body,
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    let failed: Vec<String> = match function.invoke(&json!({ "Records": records })).await {
        Ok(response) => response["batchItemFailures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
            .collect(),
        // The whole invocation failed: every message comes back, as on Lambda.
        Err(error) => {
            tracing::warn!(queue = %url, error = %error, "Batch failed");
            messages
                .iter()
                .filter_map(|m| m.message_id.clone())
                .collect()
        }
    };
    let done: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.message_id.as_ref().is_none_or(|id| !failed.contains(id)))
        .filter_map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .set_receipt_handle(m.receipt_handle.clone())
                .build()
                .ok()
        })
        .collect();
    if !done.is_empty() {
        sqs.delete_message_batch()
            .queue_url(url)
            .set_entries(Some(done))
            .send()
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moto_queue_urls_map_to_arns() {
        assert_eq!(
            queue_arn("http://127.0.0.1:4566/123456789012/studio-embedding"),
            "arn:aws:sqs:us-east-1:123456789012:studio-embedding"
        );
    }

    async fn instances(n: usize) -> Vec<Arc<RuntimeApi>> {
        let mut instances = Vec::new();
        for _ in 0..n {
            instances.push(Arc::new(RuntimeApi::start().await.expect("runtime API")));
        }
        instances
    }

    #[tokio::test]
    async fn the_most_recently_freed_instance_takes_the_next_invocation() {
        let pool = Pool::new(&instances(3).await);
        let first = Lease::take(&pool.idle).await.unwrap();
        let second = Lease::take(&pool.idle).await.unwrap();
        let (first_at, second_at) = (
            first.instance().unwrap().address(),
            second.instance().unwrap().address(),
        );
        assert_ne!(first_at, second_at, "two leases, two instances");
        drop(second);
        drop(first);
        // Freed last, taken first: sequential invocations stay on one warm instance.
        for _ in 0..3 {
            let lease = Lease::take(&pool.idle).await.unwrap();
            assert_eq!(lease.instance().unwrap().address(), first_at);
        }
    }

    #[tokio::test]
    async fn an_invocation_whose_caller_went_away_gives_its_instance_back() {
        // No function process answers, so the invocation waits until its caller (a client
        // that hung up, here a timeout) drops it.
        let pool = Pool::new(&instances(1).await);
        let event = json!({"path": "/chat"});
        let abandoned =
            tokio::time::timeout(Duration::from_millis(50), Invoke::invoke(&pool, &event));
        assert!(abandoned.await.is_err(), "nothing answers the invocation");
        let next = tokio::time::timeout(Duration::from_secs(5), Lease::take(&pool.idle))
            .await
            .expect("the only instance is free again, not lost with the dropped call")
            .unwrap();
        assert!(next.instance().is_ok());
        // A caller that gave up while waiting for an instance took none with it.
        let waiting = tokio::time::timeout(Duration::from_millis(50), Lease::take(&pool.idle));
        assert!(waiting.await.is_err(), "the instance is leased");
        drop(next);
        assert!(Lease::take(&pool.idle).await.unwrap().instance().is_ok());
    }
}
