//! Child processes of the stack: started with their output in a log file, stopped with the
//! signal each one shuts down cleanly on, and never left behind.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

#[derive(Debug)]
pub struct Service {
    pub name: &'static str,
    child: Child,
    /// The signal that asks for a clean, quick shutdown (`INT` for PostgreSQL's fast mode).
    stop_signal: &'static str,
}

impl Service {
    pub fn spawn(
        name: &'static str,
        mut command: Command,
        log: &Path,
        stop_signal: &'static str,
    ) -> anyhow::Result<Self> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        Ok(Self {
            name,
            child,
            stop_signal,
        })
    }

    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Fails if the process already exited, naming its log.
    pub fn check_alive(&mut self, log: &Path) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!("{} exited ({status}); see {}", self.name, log.display());
        }
        Ok(())
    }

    /// Asks the process to stop, waits up to `grace`, then kills it.
    pub async fn stop(mut self, grace: Duration) {
        let Some(pid) = self.child.id() else { return };
        let signalled = Command::new("kill")
            .args([format!("-{}", self.stop_signal), pid.to_string()])
            .status()
            .await
            .is_ok_and(|s| s.success());
        if signalled && tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
            tracing::info!(service = self.name, "Stopped");
            return;
        }
        tracing::warn!(service = self.name, "Did not stop in time; killing it");
        let _ = self.child.kill().await;
    }
}

/// Polls `ready` until it answers true or `timeout` passes.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut ready: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if ready().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{what} was not ready after {}s", timeout.as_secs())
}
