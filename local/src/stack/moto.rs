//! moto in server mode for S3, SQS, Secrets Manager and EventBridge, and the resources the
//! functions expect in it.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tokio::process::Command;

use super::process::{Service, wait_until};
use super::python::Venv;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueUrls {
    pub url: String,
    pub dlq_url: String,
}

/// What the bootstrap script created.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    pub bucket: String,
    pub queues: std::collections::BTreeMap<String, QueueUrls>,
    pub database_secret_arn: String,
    pub settings_key_secret_arn: String,
}

pub async fn start(venv: &Venv, port: u16, log: &Path) -> anyhow::Result<Service> {
    let mut command = Command::new(venv.bin("moto_server"));
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let mut service = Service::spawn("moto", command, log, "TERM")?;
    let ready = wait_until("moto", Duration::from_secs(30), || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;
    service.check_alive(log)?;
    ready?;
    Ok(service)
}

/// Creates the bucket, queues with DLQs, secrets and scheduler rule (idempotent).
pub async fn bootstrap(venv: &Venv, endpoint: &str) -> anyhow::Result<Resources> {
    bootstrap_with(venv, endpoint, &[]).await
}

/// [`bootstrap`] with variables the script reads: `STUDIO_RESOURCE_PREFIX` (a second set of
/// resources beside the stack's, e.g. for a test with functions of its own) and
/// `STUDIO_QUEUE_VISIBILITY_SECS`.
pub async fn bootstrap_with(
    venv: &Venv,
    endpoint: &str,
    vars: &[(&str, &str)],
) -> anyhow::Result<Resources> {
    const SCRIPT: &str = include_str!("../../aws_bootstrap.py");
    let output = Command::new(venv.bin("python"))
        .args(["-c", SCRIPT])
        .envs(vars.iter().copied())
        .env("MOTO_ENDPOINT", endpoint)
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .output()
        .await
        .context("cannot run aws_bootstrap.py")?;
    if !output.status.success() {
        anyhow::bail!(
            "creating the moto resources failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).context("aws_bootstrap.py printed no resource list")
}
