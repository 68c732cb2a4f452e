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
/// goes to a free instance (one invocation per instance at a time) or waits for one.
pub struct Pool {
    idle: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Arc<RuntimeApi>>>,
    release: tokio::sync::mpsc::Sender<Arc<RuntimeApi>>,
}

impl Pool {
    pub fn new(instances: &[Arc<RuntimeApi>]) -> Self {
        let (release, idle) = tokio::sync::mpsc::channel(instances.len().max(1));
        for instance in instances {
            let _ = release.try_send(Arc::clone(instance));
        }
        Self {
            idle: tokio::sync::Mutex::new(idle),
            release,
        }
    }
}

/// A streamed body that hands its instance back to the pool when it ends or is dropped.
struct Returning {
    stream: crate::runtime_api::ByteStream,
    instance: Option<Arc<RuntimeApi>>,
    release: tokio::sync::mpsc::Sender<Arc<RuntimeApi>>,
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

impl Drop for Returning {
    fn drop(&mut self) {
        if let Some(instance) = self.instance.take() {
            let _ = self.release.try_send(instance);
        }
    }
}

#[async_trait]
impl Invoke for Pool {
    async fn invoke(&self, payload: &Value) -> Result<Reply, String> {
        let instance = self
            .idle
            .lock()
            .await
            .recv()
            .await
            .ok_or("the function's instances have stopped")?;
        let reply = Invoke::invoke(instance.as_ref(), payload).await;
        match reply {
            Ok(Reply::Stream(stream)) => Ok(Reply::Stream(Box::pin(Returning {
                stream,
                instance: Some(instance),
                release: self.release.clone(),
            }))),
            other => {
                let _ = self.release.try_send(instance);
                other
            }
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
        .wait_time_seconds(1)
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
}
