//! moto from the test venv, the gateway in front of it, and SDK configuration per role.

use std::sync::Arc;
use std::time::Duration;

use studio_local::iam::{Gateway, Principals};

/// The stack's `moto_server` (`STUDIO_VENV`, else the checkout's `.local/venv`, which the
/// test command installs).
fn moto_server() -> std::path::PathBuf {
    std::env::var_os("STUDIO_VENV")
        .map_or_else(
            || std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/venv")),
            std::path::PathBuf::from,
        )
        .join("bin/moto_server")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A moto server of the test's own; killed when dropped.
pub struct Moto {
    pub endpoint: String,
    _child: tokio::process::Child,
}

impl Moto {
    pub async fn start() -> Self {
        let port = free_port();
        let child = tokio::process::Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("moto_server from the test venv");
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    endpoint: format!("http://127.0.0.1:{port}"),
                    _child: child,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto did not start on {port}");
    }
}

pub async fn start_gateway(moto: &Moto, principals: &Arc<Principals>) -> Gateway {
    Gateway::start(
        "127.0.0.1:0".parse().unwrap(),
        moto.endpoint.clone(),
        Arc::clone(principals),
    )
    .await
    .unwrap()
}

/// The SDK configured as a function is: region, the role's keys, an endpoint, no retries.
pub fn role_config(endpoint: &str, access_key_id: &str, secret: &str) -> aws_config::SdkConfig {
    studio_local::account::sdk_config_as(endpoint, access_key_id, secret)
}
