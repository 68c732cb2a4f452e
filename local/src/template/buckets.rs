//! A template's S3 bucket in moto: the bucket, its public access block, CORS rules and
//! queue notifications.

use anyhow::Context;
use aws_sdk_s3::types as s3;
use serde_json::Value;

use super::intrinsics::scalar;

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(scalar)
        .collect()
}

pub(super) async fn create_bucket(
    client: &aws_sdk_s3::Client,
    name: &str,
    logical_id: &str,
    properties: &Value,
) -> anyhow::Result<()> {
    if let Err(error) = client.create_bucket().bucket(name).send().await
        && !error
            .as_service_error()
            .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists())
    {
        return Err(error.into());
    }
    if let Some(block) = properties.get("PublicAccessBlockConfiguration") {
        let flag = |key: &str| block.get(key).and_then(scalar).is_some_and(|v| v == "true");
        let configuration = s3::PublicAccessBlockConfiguration::builder()
            .block_public_acls(flag("BlockPublicAcls"))
            .ignore_public_acls(flag("IgnorePublicAcls"))
            .block_public_policy(flag("BlockPublicPolicy"))
            .restrict_public_buckets(flag("RestrictPublicBuckets"))
            .build();
        client
            .put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(configuration)
            .send()
            .await?;
    }
    if let Some(rules) = properties
        .pointer("/CorsConfiguration/CorsRules")
        .and_then(Value::as_array)
    {
        let mut cors = s3::CorsConfiguration::builder();
        for rule in rules {
            cors = cors.cors_rules(
                s3::CorsRule::builder()
                    .set_id(rule.get("Id").and_then(scalar))
                    .set_allowed_origins(Some(strings(rule.get("AllowedOrigins"))))
                    .set_allowed_methods(Some(strings(rule.get("AllowedMethods"))))
                    .set_allowed_headers(Some(strings(rule.get("AllowedHeaders"))))
                    .set_expose_headers(Some(strings(rule.get("ExposedHeaders"))))
                    .set_max_age_seconds(
                        rule.get("MaxAge")
                            .and_then(scalar)
                            .and_then(|n| n.parse().ok()),
                    )
                    .build()?,
            );
        }
        client
            .put_bucket_cors()
            .bucket(name)
            .cors_configuration(cors.build()?)
            .send()
            .await?;
    }
    let Some(notifications) = properties.get("NotificationConfiguration") else {
        return Ok(());
    };
    for other in [
        "TopicConfigurations",
        "LambdaConfigurations",
        "EventBridgeConfiguration",
    ] {
        if notifications.get(other).is_some() {
            tracing::warn!(
                logical_id,
                other,
                "Only queue notifications are delivered locally"
            );
        }
    }
    let mut configuration = s3::NotificationConfiguration::builder();
    let queues = notifications
        .get("QueueConfigurations")
        .and_then(Value::as_array);
    for (i, queue) in queues.into_iter().flatten().enumerate() {
        let rules = queue
            .pointer("/Filter/S3Key/Rules")
            .and_then(Value::as_array);
        let mut key = s3::S3KeyFilter::builder();
        for rule in rules.into_iter().flatten() {
            let rule_name = rule
                .get("Name")
                .and_then(scalar)
                .unwrap_or_default()
                .to_lowercase();
            key = key.filter_rules(
                s3::FilterRule::builder()
                    .name(s3::FilterRuleName::from(rule_name.as_str()))
                    .set_value(rule.get("Value").and_then(scalar))
                    .build(),
            );
        }
        configuration = configuration.queue_configurations(
            s3::QueueConfiguration::builder()
                .id(format!("{logical_id}-{i}"))
                .queue_arn(
                    queue
                        .get("Queue")
                        .and_then(scalar)
                        .context("a queue notification names no Queue")?,
                )
                .events(s3::Event::from(
                    queue
                        .get("Event")
                        .and_then(scalar)
                        .unwrap_or_default()
                        .as_str(),
                ))
                .filter(
                    s3::NotificationConfigurationFilter::builder()
                        .key(key.build())
                        .build(),
                )
                .build()?,
        );
    }
    client
        .put_bucket_notification_configuration()
        .bucket(name)
        .notification_configuration(configuration.build())
        .send()
        .await?;
    Ok(())
}
