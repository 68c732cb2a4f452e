//! moto in server mode for S3, SQS, Secrets Manager and EventBridge, and the resources the
//! functions expect in it (those infra/template.yaml declares, see [`crate::template`]).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tokio::process::Command;

use crate::template::Deployment;

use super::process::{Service, wait_until};
use crate::venv::Venv;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueUrls {
    pub url: String,
    pub dlq_url: String,
}

/// The resources of the template that clients and tests name.
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

/// Deploys the checkout's infra/template.yaml into moto as the stack `studio`.
///
/// Kept for `studio up` until it takes a [`crate::template::Deployment`] directly.
pub async fn bootstrap(venv: &Venv, endpoint: &str) -> anyhow::Result<Resources> {
    let template = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/template.yaml"
    ));
    let deployment = crate::template::deploy(template, &[], "studio", endpoint, venv).await?;
    Resources::from_deployment(&deployment)
}

impl Resources {
    /// The queues (`FileProcessingQueue` -> `file-processing`, with its redrive's DLQ), the
    /// documents bucket and the secrets of a deployment.
    pub fn from_deployment(deployment: &Deployment) -> anyhow::Result<Self> {
        let value = |name: &str| {
            deployment
                .env(name)
                .map(str::to_owned)
                .with_context(|| format!("the template gives no {name}"))
        };
        let mut queues = std::collections::BTreeMap::new();
        for queue in &deployment.queues {
            let (Some(stem), Some(redrive)) =
                (queue.logical_id.strip_suffix("Queue"), &queue.redrive)
            else {
                continue;
            };
            let Some(dlq) = deployment
                .queues
                .iter()
                .find(|q| q.arn == redrive.dead_letter_arn)
            else {
                continue;
            };
            let name = crate::template::kebab(stem);
            queues.insert(
                name,
                QueueUrls {
                    url: queue.url.clone(),
                    dlq_url: dlq.url.clone(),
                },
            );
        }
        Ok(Self {
            bucket: value("DOCUMENTS_BUCKET")?,
            queues,
            database_secret_arn: value("DATABASE_SECRET_ARN")?,
            settings_key_secret_arn: value("SETTINGS_KEY_SECRET_ARN")?,
        })
    }
}
