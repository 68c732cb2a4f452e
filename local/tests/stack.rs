//! `studio up` as a user runs it: from an empty state folder, then again on the kept data;
//! Ctrl-C (SIGINT) stops every process it started.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;
use shared::data_api::Params;
use tokio::process::Command;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|stat| {
                    let after_name = stat.rsplit_once(')')?.1.to_owned();
                    after_name.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn env_value(state: &Path, name: &str) -> String {
    let env = std::fs::read_to_string(state.join("stack.env")).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} missing from stack.env"))
        .to_owned()
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

async fn start_query_and_interrupt(state: &PathBuf, ports: (u16, u16, u16, u16, u16)) -> Duration {
    let ready = state.join("ready");
    let _ = std::fs::remove_file(&ready);
    let started = Instant::now();
    let mut studio = Command::new(env!("CARGO_BIN_EXE_studio"))
        .arg("up")
        .arg("--state-dir")
        .arg(state)
        .args(["--pg-port", &ports.0.to_string()])
        .args(["--data-api-port", &ports.1.to_string()])
        .args(["--moto-port", &ports.2.to_string()])
        .args(["--front-door-port", &ports.3.to_string()])
        .args(["--bedrock-port", &ports.4.to_string()])
        .arg("--ready-file")
        .arg(&ready)
        .env_remove("STUDIO_DATABASE_URL")
        // The function binaries were built before the tests; cargo's lock is held now.
        .env("STUDIO_SKIP_BUILD", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    while !ready.exists() {
        assert!(
            studio.try_wait().unwrap().is_none(),
            "studio up exited early; see {}",
            state.display()
        );
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the stack was not ready in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let up_in = started.elapsed();

    // Its Data API answers, and db-init applied the whole schema.
    let endpoint = env_value(state, "AWS_ENDPOINT_URL_RDS_DATA");
    let db = studio_local::stack::data_api_client(
        &endpoint,
        "studio",
        &env_value(state, "DATABASE_SECRET_ARN"),
    );
    let applied: Count = db
        .query_one("SELECT count(*) AS n FROM migration_log", Params::new())
        .await
        .unwrap();
    assert_eq!(
        applied.n as usize,
        shared::migrate::embedded().unwrap().len()
    );
    let users: Count = db
        .query_one(
            "SELECT count(*) AS n FROM users WHERE email LIKE '%@example.com'",
            Params::new(),
        )
        .await
        .unwrap();
    assert_eq!(users.n, 3, "the demo users are seeded once");

    // Its Bedrock runtime embeds through the real SDK client.
    let bedrock = env_value(state, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME");
    let titan = shared::providers::bedrock::BedrockEmbedder::new(
        &studio_local::account::local_sdk_config(&bedrock),
        None,
        "amazon.titan-embed-text-v2:0",
        256,
    )
    .unwrap();
    let vectors = shared::ports::embed::Embedder::embed(&titan, &["hello".to_owned()])
        .await
        .unwrap();
    assert_eq!(vectors[0].len(), 256);

    // A second stack on the same folder is refused and leaves the first one running.
    let second = Command::new(env!("CARGO_BIN_EXE_studio"))
        .arg("up")
        .arg("--state-dir")
        .arg(state)
        .env_remove("STUDIO_DATABASE_URL")
        .output()
        .await
        .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("another `studio up` is already running")
    );
    let still: Count = db
        .query_one("SELECT 1::int8 AS n", Params::new())
        .await
        .unwrap();
    assert_eq!(still.n, 1, "the first stack still serves");

    let pid = studio.id().unwrap();
    let children = children_of(pid);
    assert!(
        children.len() >= 5,
        "postgres, moto and the three functions run under studio: {children:?}"
    );
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), studio.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "studio exits cleanly on Ctrl-C: {exit}");
    for child in children {
        assert!(!alive(child), "process {child} was left behind");
    }
    assert!(
        !state.join("pgdata/postmaster.pid").exists(),
        "PostgreSQL shut down cleanly"
    );
    up_in
}

#[tokio::test]
async fn the_stack_starts_from_nothing_restarts_on_its_data_and_ctrl_c_leaves_nothing_behind() {
    let state = std::env::temp_dir().join(format!("studio-stack-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    std::fs::create_dir_all(&state).unwrap();
    let ports = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let first = start_query_and_interrupt(&state, ports).await;
    let second = start_query_and_interrupt(&state, ports).await;
    eprintln!("stack up from an empty state folder in {first:?}, again in {second:?}");
    std::fs::remove_dir_all(&state).unwrap();
}
