//! One execution environment (sandbox) of a function: its process under its own Runtime
//! API, started on first use, and every invocation held to the function's `Timeout` and
//! `MemorySize`: past either, or when the process exits, the process is killed, Lambda's
//! message is logged, and the next invocation starts a new one (a cold start).

use std::io::Write;
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use super::FunctionConfig;
use super::limits::{INIT_TIMEOUT_SECS, LambdaError, STREAMED_RESPONSE_BYTES};
use crate::runtime_api::{Answer, ByteStream, FunctionProcess, InvokeError, RuntimeApi};

/// How often a running invocation's peak memory is read (`VmHWM` is a high-water mark, so
/// a spike between two reads is still seen at the next one).
const MEMORY_SAMPLE: Duration = Duration::from_millis(50);

pub(super) struct Instance {
    api: RuntimeApi,
    process: Option<FunctionProcess>,
    config: Arc<FunctionConfig>,
    /// Set when the stack stops: a running invocation's process is killed at once.
    stopping: watch::Receiver<bool>,
}

/// What an invocation came to: its answer, and its figures for the REPORT line.
pub(super) struct Started {
    pub answer: Answer,
    pub began: Instant,
    pub init: Option<Duration>,
}

impl Instance {
    pub async fn new(
        config: Arc<FunctionConfig>,
        stopping: watch::Receiver<bool>,
    ) -> std::io::Result<Self> {
        let mut api = RuntimeApi::start().await?;
        api.timeout = config.timeout;
        api.log_dir = Some(config.log_dir.clone());
        api.memory_mb = config.memory_mb;
        Ok(Self {
            api,
            process: None,
            config,
            stopping,
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(FunctionProcess::pid)
    }

    /// Starts the process if this sandbox has none; the init's duration when it did.
    pub async fn ensure_started(&mut self) -> Result<Option<Duration>, LambdaError> {
        if self.process.is_some() {
            return Ok(None);
        }
        let config = &self.config;
        let mut process = self
            .api
            .spawn_function(&config.binary, &config.env)
            .map_err(|e| {
                LambdaError::Init(format!("cannot start {}: {e}", config.binary.display()))
            })?;
        match self
            .api
            .wait_ready(&mut process, Duration::from_secs(INIT_TIMEOUT_SECS))
            .await
        {
            Ok(init) => {
                self.process = Some(process);
                Ok(Some(init))
            }
            Err(error) => {
                process.kill().await;
                Err(LambdaError::Init(error.to_string()))
            }
        }
    }

    /// Hands `payload` to the process and waits for its answer to begin, within the
    /// function's limits.
    pub async fn start(
        &mut self,
        payload: Bytes,
        request_id: &str,
    ) -> Result<Started, LambdaError> {
        let init = self.ensure_started().await?;
        let began = Instant::now();
        let timeout = self.config.timeout;
        let limit_mb = self.config.memory_mb;
        let Some(process) = self.process.as_mut() else {
            return Err(LambdaError::Closed);
        };
        let pid = process.pid();
        let mut stopping = self.stopping.clone();
        let outcome = tokio::select! {
            answer = self.api.invoke_with(request_id.to_owned(), payload, timeout) => match answer {
                Ok(answer) => Ok(answer),
                Err(InvokeError::Timeout) => Err(LambdaError::Timeout {
                    request_id: request_id.to_owned(),
                    seconds: timeout.as_secs_f64(),
                }),
                Err(InvokeError::Function { error_type, error_message }) => {
                    Err(LambdaError::Function { error_type, error_message })
                }
                Err(InvokeError::Init(reason)) => Err(LambdaError::Init(reason)),
                Err(InvokeError::Closed) => Err(LambdaError::Closed),
            },
            status = process.exited() => Err(LambdaError::Crashed { request_id: request_id.to_owned(), status }),
            used_mb = memory_exceeded(pid, limit_mb) => Err(LambdaError::OutOfMemory { request_id: request_id.to_owned(), used_mb, limit_mb }),
            () = stopped(&mut stopping) => Err(LambdaError::Closed),
        };
        match outcome {
            Ok(answer) => Ok(Started {
                answer,
                began,
                init,
            }),
            Err(error) => {
                self.after(&error).await;
                Err(error)
            }
        }
    }

    /// Passes a streamed answer on to `to` until the function has written all of it,
    /// within the function's limits and the 20 MB a stream may carry. A reader that goes
    /// away does not stop the function, as on Lambda.
    pub async fn forward(
        &mut self,
        stream: ByteStream,
        to: mpsc::Sender<Bytes>,
        began: Instant,
        request_id: &str,
    ) -> Result<(), LambdaError> {
        let timeout = self.config.timeout;
        let deadline = tokio::time::Instant::from_std(began + timeout);
        let limit_mb = self.config.memory_mb;
        let Some(process) = self.process.as_mut() else {
            return Err(LambdaError::Closed);
        };
        let pid = process.pid();
        let mut stopping = self.stopping.clone();
        let outcome = {
            let mut stream = stream;
            let mut exited = pin!(process.exited());
            let mut memory = pin!(memory_exceeded(pid, limit_mb));
            let mut sent = 0usize;
            loop {
                tokio::select! {
                    chunk = stream.next() => match chunk {
                        None => break Ok(()),
                        Some(chunk) => {
                            sent += chunk.len();
                            if sent > STREAMED_RESPONSE_BYTES {
                                break Err(LambdaError::ResponseTooLarge { limit: STREAMED_RESPONSE_BYTES });
                            }
                            let _ = to.send(chunk).await;
                        }
                    },
                    () = tokio::time::sleep_until(deadline) => break Err(LambdaError::Timeout {
                        request_id: request_id.to_owned(),
                        seconds: timeout.as_secs_f64(),
                    }),
                    status = &mut exited => break Err(LambdaError::Crashed { request_id: request_id.to_owned(), status }),
                    used_mb = &mut memory => break Err(LambdaError::OutOfMemory { request_id: request_id.to_owned(), used_mb, limit_mb }),
                    () = stopped(&mut stopping) => break Err(LambdaError::Closed),
                }
            }
        };
        if let Err(error) = &outcome {
            self.after(error).await;
        }
        outcome
    }

    /// After a failed invocation: a sandbox that died (or would be reset by Lambda) is
    /// killed, its message logged, and the next invocation starts a new process.
    async fn after(&mut self, error: &LambdaError) {
        if !error.killed_the_sandbox() && *error != LambdaError::Closed {
            return;
        }
        if let Some(mut process) = self.process.take() {
            process.kill().await;
        }
        self.api.discard_pending().await;
        if error.killed_the_sandbox() {
            tracing::warn!(function = %self.config.name, error = %error, "Sandbox reset");
            self.log(&error.to_string());
        }
    }

    /// Appends a line to the function's log, as Lambda's own lines join the function's in
    /// CloudWatch.
    pub fn log(&self, line: &str) {
        let path = log_path(&self.config.log_dir, &self.config.name);
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
    }

    /// Lambda's REPORT line for an invocation that began at `began`.
    pub fn report(&self, request_id: &str, began: Instant, init: Option<Duration>) {
        let duration = began.elapsed();
        let max_used_mb = self
            .process
            .as_ref()
            .and_then(FunctionProcess::peak_rss_kib)
            .map_or(0, |kib| kib.div_ceil(1024));
        self.log(&report_line(
            request_id,
            duration,
            init,
            self.config.memory_mb,
            max_used_mb,
        ));
    }

    pub async fn stop(mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().await;
        }
    }
}

pub(super) fn log_path(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join(format!("{name}.log"))
}

/// `REPORT RequestId: … Duration: … Billed Duration: …`, as Lambda writes it; a cold start
/// bills its init too.
pub fn report_line(
    request_id: &str,
    duration: Duration,
    init: Option<Duration>,
    memory_mb: u32,
    max_used_mb: u64,
) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    let init_ms = init.map(|d| d.as_secs_f64() * 1000.0);
    let billed = (ms + init_ms.unwrap_or(0.0)).ceil().max(1.0) as u64;
    let mut line = format!(
        "REPORT RequestId: {request_id}\tDuration: {ms:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {max_used_mb} MB"
    );
    if let Some(init_ms) = init_ms {
        line.push_str(&format!("\tInit Duration: {init_ms:.2} ms"));
    }
    line
}

/// Resolves with the megabytes used once the process's peak resident memory passes
/// `limit_mb`; never while it stays under (or cannot be read).
async fn memory_exceeded(pid: Option<u32>, limit_mb: u32) -> u64 {
    let limit_kib = u64::from(limit_mb) * 1024;
    let mut tick = tokio::time::interval(MEMORY_SAMPLE);
    loop {
        tick.tick().await;
        if let Some(kib) = pid.and_then(peak_rss_kib)
            && kib > limit_kib
        {
            return kib.div_ceil(1024);
        }
    }
}

/// Resolves once the stack stops.
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_bill_whole_milliseconds_and_the_init_of_a_cold_start() {
        let warm = report_line("r", Duration::from_micros(12_340), None, 512, 33);
        assert_eq!(
            warm,
            "REPORT RequestId: r\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 33 MB"
        );
        let cold = report_line(
            "r",
            Duration::from_millis(5),
            Some(Duration::from_millis(20)),
            128,
            9,
        );
        assert!(cold.contains("Billed Duration: 25 ms"), "{cold}");
        assert!(cold.ends_with("Init Duration: 20.00 ms"), "{cold}");
    }
}
