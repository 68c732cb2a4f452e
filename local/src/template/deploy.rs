//! Creates a template's resources in moto, idempotently, with the real SDK clients: secrets
//! (and the database's master user secret), queues (dead-letter queues first), buckets with
//! their notifications, CORS and public access block, and SES identities.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};

use super::buckets::create_bucket;
use super::intrinsics::scalar;
use super::model::{Deployment, QueueSpec};
use super::{Ids, Template, build, secrets};
use crate::account::local_sdk_config;
use crate::venv::Venv;

/// Loads the template at `template_path` (transform cached under the venv, which holds the
/// translator) and deploys it into moto as the stack `stack_name`.
pub async fn deploy(
    template_path: &Path,
    overrides: &[(String, String)],
    stack_name: &str,
    moto_endpoint: &str,
    venv: &Venv,
) -> anyhow::Result<Deployment> {
    let cache = venv.root.join("template-cache");
    let template = super::load(template_path, overrides, stack_name, venv, Some(&cache)).await?;
    deploy_template(&template, moto_endpoint).await
}

/// Creates what `template` declares in moto (again: what exists is kept, secrets' values too).
pub async fn deploy_template(
    template: &Template,
    moto_endpoint: &str,
) -> anyhow::Result<Deployment> {
    let endpoint = moto_endpoint.trim_end_matches('/');
    let sdk = local_sdk_config(endpoint);
    let provisional = template.ids(endpoint, &BTreeMap::new())?;
    let secrets_manager = aws_sdk_secretsmanager::Client::new(&sdk);
    let mut known = BTreeMap::new();
    for (logical_id, _) in template.of_kind("AWS::SecretsManager::Secret") {
        let properties = template.properties(logical_id, &provisional)?;
        let reference = &provisional[logical_id].reference;
        let name = reference
            .rsplit_once(":secret:")
            .map_or(reference.as_str(), |(_, n)| n);
        let value = match properties.get("SecretString").and_then(scalar) {
            Some(value) => value,
            None => secrets::generate(properties.get("GenerateSecretString").unwrap_or(&json!({})))
                .with_context(|| format!("resource {logical_id}: GenerateSecretString"))?,
        };
        let arn = ensure_secret(&secrets_manager, name, value).await?;
        let ids = Ids {
            reference: arn.clone(),
            attributes: BTreeMap::from([("Id".to_owned(), arn)]),
            loose: false,
        };
        known.insert(logical_id.clone(), ids);
    }
    for (logical_id, _) in template.of_kind("AWS::RDS::DBCluster") {
        // The local PostgreSQL's user, as RDS keeps the master user's credentials.
        let value = json!({ "username": "postgres", "password": "" }).to_string();
        let name = format!("{}-{logical_id}-master", template.stack_name);
        let arn = ensure_secret(&secrets_manager, &name, value).await?;
        let mut ids = provisional[logical_id].clone();
        ids.attributes
            .insert("MasterUserSecret.SecretArn".to_owned(), arn);
        known.insert(logical_id.clone(), ids);
    }
    let ids = template.ids(endpoint, &known)?;
    let deployment = build::deployment(template, &ids)?;

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for queue in dead_letter_queues_first(&deployment.queues) {
        let properties = template.properties(&queue.logical_id, &ids)?;
        create_queue(&sqs, queue, &properties)
            .await
            .with_context(|| format!("cannot create the queue {}", queue.logical_id))?;
    }
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    for (logical_id, _) in template.of_kind("AWS::S3::Bucket") {
        let properties = template.properties(logical_id, &ids)?;
        create_bucket(&s3, &ids[logical_id].reference, logical_id, &properties)
            .await
            .with_context(|| format!("cannot create the bucket {logical_id}"))?;
    }
    tracing::info!(
        stack = template.stack_name,
        queues = deployment.queues.len(),
        buckets = deployment.buckets.len(),
        "Template deployed to moto"
    );
    Ok(deployment)
}

/// The secret's ARN, creating it with `value` if it does not exist (an existing one keeps its value).
async fn ensure_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: String,
) -> anyhow::Result<String> {
    for _ in 0..2 {
        match client.describe_secret().secret_id(name).send().await {
            Ok(found) => return found.arn.context("moto described a secret without an ARN"),
            Err(error)
                if !error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Err(error).with_context(|| format!("cannot look up the secret {name}"));
            }
            Err(_) => {}
        }
        match client
            .create_secret()
            .name(name)
            .secret_string(&value)
            .send()
            .await
        {
            Ok(created) => return created.arn.context("moto created a secret without an ARN"),
            // Created meanwhile: describe it again.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_exists_exception()) => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot create the secret {name}"));
            }
        }
    }
    bail!("the secret {name} keeps appearing and disappearing")
}

/// Queues in an order where each dead-letter queue comes before the queues redriving to it.
fn dead_letter_queues_first(queues: &[QueueSpec]) -> Vec<&QueueSpec> {
    let mut ordered: Vec<&QueueSpec> = Vec::new();
    let mut rest: Vec<&QueueSpec> = queues.iter().collect();
    while !rest.is_empty() {
        let ready = |q: &&&QueueSpec| {
            q.redrive.as_ref().is_none_or(|r| {
                ordered.iter().any(|o| o.arn == r.dead_letter_arn)
                    || !queues.iter().any(|o| o.arn == r.dead_letter_arn)
            })
        };
        let (now, later): (Vec<&QueueSpec>, Vec<&QueueSpec>) = rest.iter().partition(ready);
        if now.is_empty() {
            // A redrive cycle: create the rest in any order.
            ordered.extend(later);
            break;
        }
        ordered.extend(now);
        rest = later;
    }
    ordered
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    queue: &QueueSpec,
    properties: &Value,
) -> anyhow::Result<()> {
    let mut create = client.create_queue().queue_name(&queue.name);
    if queue.name.ends_with(".fifo") {
        create = create.attributes(QueueAttributeName::FifoQueue, "true");
    }
    let url = create.send().await?.queue_url.unwrap_or_default();
    if url != queue.url {
        bail!(
            "moto named the queue {url}, the template's resolution {}",
            queue.url
        );
    }
    let mut attributes = vec![(
        QueueAttributeName::VisibilityTimeout,
        queue.visibility_timeout.as_secs().to_string(),
    )];
    if let Some(retention) = queue.message_retention {
        attributes.push((
            QueueAttributeName::MessageRetentionPeriod,
            retention.as_secs().to_string(),
        ));
    }
    if let Some(redrive) = &queue.redrive {
        let policy = json!({
            "deadLetterTargetArn": redrive.dead_letter_arn,
            "maxReceiveCount": redrive.max_receive_count.to_string(),
        });
        attributes.push((QueueAttributeName::RedrivePolicy, policy.to_string()));
    }
    for (property, name) in [
        ("DelaySeconds", QueueAttributeName::DelaySeconds),
        ("MaximumMessageSize", QueueAttributeName::MaximumMessageSize),
        (
            "ReceiveMessageWaitTimeSeconds",
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
        ),
    ] {
        if let Some(value) = properties.get(property).and_then(scalar) {
            attributes.push((name, value));
        }
    }
    let mut set = client.set_queue_attributes().queue_url(&queue.url);
    for (name, value) in attributes {
        set = set.attributes(name, value);
    }
    set.send().await?;
    Ok(())
}
