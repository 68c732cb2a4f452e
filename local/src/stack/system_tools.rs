//! Programs the stack runs that no package registry of ours ships: tesseract and
//! pdftoppm, which the local Textract server uses to read scans. `studio up` finds them on
//! the PATH, installs them with apt-get where it can (Debian or Ubuntu, as root), or
//! refuses to start with a sentence that says what is missing and how to get it.

use anyhow::bail;
use tokio::process::Command;

/// A program the stack needs, with the Debian package and the Homebrew formula that
/// provide it.
struct Tool {
    program: &'static str,
    debian: &'static str,
    homebrew: &'static str,
}

const OCR_TOOLS: &[Tool] = &[
    Tool {
        program: "tesseract",
        debian: "tesseract-ocr",
        homebrew: "tesseract",
    },
    Tool {
        program: "pdftoppm",
        debian: "poppler-utils",
        homebrew: "poppler",
    },
];

/// Makes sure the OCR tools are installed, installing them with apt-get when this
/// process may.
pub async fn ensure_ocr_tools() -> anyhow::Result<()> {
    let absent = missing(OCR_TOOLS);
    if absent.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = absent.iter().map(|t| t.debian).collect();
    if can_install_with_apt() {
        tracing::info!(packages = ?packages, "Installing the OCR tools with apt-get (once)");
        apt_get(&["update", "-qq"]).await?;
        let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
        install.extend(&packages);
        apt_get(&install).await?;
        if missing(OCR_TOOLS).is_empty() {
            return Ok(());
        }
    }
    let programs: Vec<&str> = absent.iter().map(|t| t.program).collect();
    let formulas: Vec<&str> = absent.iter().map(|t| t.homebrew).collect();
    bail!(
        "The local stack reads scanned documents with {}, which {} not installed here. \
         Install {} with `sudo apt-get install {}` (Debian, Ubuntu) or `brew install {}` \
         (macOS), then run `studio up` again.",
        programs.join(" and "),
        if programs.len() == 1 { "is" } else { "are" },
        if programs.len() == 1 { "it" } else { "them" },
        packages.join(" "),
        formulas.join(" ")
    )
}

fn missing(tools: &'static [Tool]) -> Vec<&'static Tool> {
    tools
        .iter()
        .filter(|t| which(t.program).is_none())
        .collect()
}

/// The program's path on the PATH, if it is there and executable.
pub(super) fn which(program: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Root on a machine with apt-get: the packages can be installed without asking anyone.
fn can_install_with_apt() -> bool {
    which("apt-get").is_some() && is_root()
}

fn is_root() -> bool {
    // The effective user of this process, from /proc (no libc call needed).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

async fn apt_get(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .await?;
    if !output.status.success() {
        bail!(
            "apt-get {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_found_only_where_it_is_executable() {
        assert!(which("sh").is_some());
        assert!(which("no-such-program-here").is_none());
    }
}
