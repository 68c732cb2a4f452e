//! A function's process under the Runtime API: its pid, peak memory and output.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use super::lock;

/// A function's process, started by [`super::RuntimeApi::spawn_function`]; killed on drop.
#[derive(Debug)]
pub struct FunctionProcess {
    pub(super) child: Child,
    pub name: String,
    pub spawned_at: Instant,
    pub(super) logs: Arc<Mutex<Vec<String>>>,
    /// The tasks copying stdout and stderr into `logs`; they end when the process does.
    pub(super) readers: Vec<tokio::task::JoinHandle<()>>,
}

impl FunctionProcess {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Peak resident memory so far (`VmHWM` from `/proc/<pid>/status`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Every line the function has written to stdout and stderr so far.
    pub fn logs(&self) -> Vec<String> {
        lock(&self.logs).clone()
    }

    /// Whether a line containing `needle` shows up in the output within `timeout` (output
    /// is copied asynchronously, so it can trail the invocation's answer).
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if lock(&self.logs).iter().any(|line| line.contains(needle)) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Waits until the process exits, and says how (`exit status: 101`, `signal: 9 (SIGKILL)`).
    pub async fn exited(&mut self) -> String {
        self.child
            .wait()
            .await
            .map_or_else(|e| e.to_string(), |status| status.to_string())
    }
}

/// Lines kept in memory per process; older ones are dropped (the log file keeps all).
const KEPT_LINES: usize = 2000;

pub(super) async fn collect(
    reader: BufReader<impl tokio::io::AsyncRead + Unpin>,
    logs: Arc<Mutex<Vec<String>>>,
    file: Option<Arc<Mutex<std::fs::File>>>,
) {
    use std::io::Write;
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(file) = &file {
            let _ = writeln!(lock(file), "{line}");
        }
        let mut logs = lock(&logs);
        if logs.len() >= KEPT_LINES {
            logs.drain(..KEPT_LINES / 2);
        }
        logs.push(line);
    }
}
