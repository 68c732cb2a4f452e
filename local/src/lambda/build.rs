//! Where the function binaries come from: the workspace's build, in the profile `studio`
//! itself was built with.

use std::path::{Path, PathBuf};

use anyhow::Context;

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
