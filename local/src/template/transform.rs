//! SAM -> CloudFormation by AWS's own translator (`template_transform.py` in the stack's
//! venv), cached by the template's and parameters' content.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::process::Command;

use crate::venv::Venv;

const SCRIPT: &str = include_str!("../../template_transform.py");

/// The CloudFormation JSON of the template at `path` with `parameters` given to the transform.
pub async fn run(
    venv: &Venv,
    path: &Path,
    parameters: &BTreeMap<String, String>,
    cache_dir: Option<&Path>,
) -> anyhow::Result<Value> {
    let template = tokio::fs::read(path)
        .await
        .with_context(|| format!("cannot read {}", path.display()))?;
    let parameters = serde_json::to_string(parameters)?;
    let mut hash = Sha256::new();
    for part in [SCRIPT.as_bytes(), &template, parameters.as_bytes()] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    let cached = cache_dir.map(|dir| dir.join(format!("{}.json", hex::encode(hash.finalize()))));
    if let Some(file) = &cached
        && let Ok(bytes) = tokio::fs::read(file).await
        && let Ok(value) = serde_json::from_slice(&bytes)
    {
        return Ok(value);
    }
    let started = Instant::now();
    let output = Command::new(venv.bin("python"))
        .arg("-c")
        .arg(SCRIPT)
        .arg(path)
        .arg(&parameters)
        .output()
        .await
        .context("cannot run template_transform.py with the stack's Python")?;
    if !output.status.success() {
        anyhow::bail!(
            "transforming {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let value: Value = serde_json::from_slice(&output.stdout)
        .context("template_transform.py printed no CloudFormation JSON")?;
    tracing::info!(
        template = %path.display(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Template transformed"
    );
    if let Some(file) = &cached {
        // Written aside and renamed, so a concurrent reader never sees half a file.
        let partial = file.with_extension(format!("{}.partial", std::process::id()));
        let stored = async {
            if let Some(dir) = file.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            tokio::fs::write(&partial, &output.stdout).await?;
            tokio::fs::rename(&partial, file).await
        };
        if let Err(error) = stored.await {
            tracing::warn!(%error, file = %file.display(), "Cannot cache the transformed template");
        }
    }
    Ok(value)
}
