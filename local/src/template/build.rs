//! The resolved template as a [`Deployment`]: functions with their role's policies and the
//! event source mappings, rules and API routes that invoke them; queues; outputs.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use super::intrinsics::{number, scalar, u32_of};
use super::model::{
    Deployment, FunctionSpec, QueueSpec, Redrive, ScheduleSource, SqsSource, screaming_snake,
};
use super::physical::IdMap;
use super::policies::role_policies;
use super::routes::routes;
use super::{Template, physical};

fn attribute(ids: &IdMap, logical_id: &str, name: &str) -> String {
    ids.get(logical_id)
        .and_then(|i| i.attribute(name))
        .unwrap_or_default()
}

pub(super) fn deployment(template: &Template, ids: &IdMap) -> anyhow::Result<Deployment> {
    let queues = queues(template, ids)?;
    let sources = sqs_sources(template, ids, &queues)?;
    let rules = schedules(template, ids)?;
    let (routes, mock_routes) = routes(template, ids)?;
    let mut functions = Vec::new();
    for (logical_id, resource) in template.of_kind("AWS::Lambda::Function") {
        let properties = template.properties(logical_id, ids)?;
        let name = ids[logical_id].reference.clone();
        let arn = attribute(ids, logical_id, "Arn");
        let invokes = |target: &str| {
            target == name || target == arn || target.starts_with(&format!("{arn}:"))
        };
        let role_arn = properties.get("Role").and_then(scalar).unwrap_or_default();
        functions.push(FunctionSpec {
            logical_id: logical_id.clone(),
            binary: physical::binary_of(resource).unwrap_or_else(|| name.clone()),
            timeout: Duration::from_secs(number(properties.get("Timeout")).unwrap_or(3)),
            memory_mb: u32_of(properties.get("MemorySize")).unwrap_or(128),
            environment: properties
                .pointer("/Environment/Variables")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), scalar(v).unwrap_or_default()))
                .collect(),
            reserved_concurrency: u32_of(properties.get("ReservedConcurrentExecutions")),
            policies: role_policies(template, ids, &role_arn)
                .with_context(|| format!("the role of {logical_id}"))?,
            role_arn,
            sqs: sources
                .iter()
                .filter(|(t, _)| invokes(t))
                .map(|(_, s)| s.clone())
                .collect(),
            schedules: rules
                .iter()
                .filter(|(t, _)| invokes(t))
                .map(|(_, s)| s.clone())
                .collect(),
            api: routes
                .iter()
                .filter(|(uri, _)| {
                    uri.contains(&format!("/functions/{arn}/"))
                        || uri.contains(&format!("/functions/{arn}:"))
                })
                .map(|(_, r)| r.clone())
                .collect(),
            name,
        });
    }
    let mut outputs = BTreeMap::new();
    for (name, output) in &template.outputs {
        let value = template
            .scope(ids)
            .resolve(output.get("Value").unwrap_or(&Value::Null))
            .with_context(|| format!("output {name}"))?
            .unwrap_or(Value::Null);
        outputs.insert(name.clone(), super::parameters::display(&value));
    }
    let buckets: Vec<(String, String)> = template
        .of_kind("AWS::S3::Bucket")
        .map(|(id, _)| (id.clone(), ids[id].reference.clone()))
        .collect();
    let mut client_env = Vec::new();
    for (logical_id, bucket) in &buckets {
        client_env.push((screaming_snake(logical_id), bucket.clone()));
    }
    for (logical_id, _) in template.of_kind("AWS::SecretsManager::Secret") {
        let var = screaming_snake(logical_id);
        let var = if var.ends_with("_SECRET") {
            format!("{var}_ARN")
        } else {
            format!("{var}_SECRET_ARN")
        };
        client_env.push((var, ids[logical_id].reference.clone()));
    }
    for (logical_id, _) in template.of_kind("AWS::RDS::DBCluster") {
        let var = screaming_snake(logical_id.strip_suffix("Cluster").unwrap_or(logical_id));
        client_env.push((
            format!("{var}_RESOURCE_ARN"),
            ids[logical_id].reference.clone(),
        ));
        let secret = attribute(ids, logical_id, "MasterUserSecret.SecretArn");
        client_env.push((format!("{var}_SECRET_ARN"), secret));
    }
    for queue in &queues {
        let var = screaming_snake(&queue.logical_id);
        let var = if var.ends_with("_QUEUE") || var.ends_with("_DLQ") {
            var
        } else {
            format!("{var}_QUEUE")
        };
        client_env.push((format!("{var}_URL"), queue.url.clone()));
    }
    // SNS topics deliver to the SQS queues subscribed to them (Textract's completions).
    let mut subscriptions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (logical_id, _) in template.of_kind("AWS::SNS::Subscription") {
        let properties = template.properties(logical_id, ids)?;
        let field = |name: &str| properties.get(name).and_then(scalar).unwrap_or_default();
        if field("Protocol") != "sqs" {
            continue;
        }
        if let Some(queue) = queues.iter().find(|q| q.arn == field("Endpoint")) {
            subscriptions
                .entry(field("TopicArn"))
                .or_default()
                .push(queue.url.clone());
        }
    }
    let email_identities = template
        .of_kind("AWS::SES::EmailIdentity")
        .map(|(id, _)| ids[id].reference.clone())
        .collect();
    Ok(Deployment {
        subscriptions,
        email_identities,
        stack_name: template.stack_name.clone(),
        parameters: template.parameters(),
        functions,
        queues,
        buckets: buckets.into_iter().map(|(_, name)| name).collect(),
        outputs,
        mock_routes,
        client_env,
    })
}

fn queues(template: &Template, ids: &IdMap) -> anyhow::Result<Vec<QueueSpec>> {
    let mut queues = Vec::new();
    for (logical_id, _) in template.of_kind("AWS::SQS::Queue") {
        let properties = template.properties(logical_id, ids)?;
        let redrive = match properties.get("RedrivePolicy") {
            Some(Value::String(json)) => Some(
                serde_json::from_str(json)
                    .with_context(|| format!("{logical_id}: RedrivePolicy is not JSON"))?,
            ),
            other => other.cloned(),
        };
        let redrive = redrive
            .map(|policy| -> anyhow::Result<Redrive> {
                Ok(Redrive {
                    dead_letter_arn: policy
                        .get("deadLetterTargetArn")
                        .and_then(scalar)
                        .with_context(|| {
                            format!("{logical_id}: RedrivePolicy has no deadLetterTargetArn")
                        })?,
                    max_receive_count: u32_of(policy.get("maxReceiveCount")).with_context(
                        || format!("{logical_id}: RedrivePolicy has no maxReceiveCount"),
                    )?,
                })
            })
            .transpose()?;
        queues.push(QueueSpec {
            logical_id: logical_id.clone(),
            name: attribute(ids, logical_id, "QueueName"),
            url: ids[logical_id].reference.clone(),
            arn: attribute(ids, logical_id, "Arn"),
            visibility_timeout: Duration::from_secs(
                number(properties.get("VisibilityTimeout")).unwrap_or(30),
            ),
            message_retention: number(properties.get("MessageRetentionPeriod"))
                .map(Duration::from_secs),
            redrive,
        });
    }
    Ok(queues)
}

/// (function name or ARN, source) for each SQS event source mapping.
fn sqs_sources(
    template: &Template,
    ids: &IdMap,
    queues: &[QueueSpec],
) -> anyhow::Result<Vec<(String, SqsSource)>> {
    let mut sources = Vec::new();
    for (logical_id, _) in template.of_kind("AWS::Lambda::EventSourceMapping") {
        let properties = template.properties(logical_id, ids)?;
        let arn = properties
            .get("EventSourceArn")
            .and_then(scalar)
            .unwrap_or_default();
        let Some(queue) = queues.iter().find(|q| q.arn == arn) else {
            tracing::warn!(
                logical_id,
                arn,
                "Only event sources on the template's SQS queues run locally"
            );
            continue;
        };
        let target = properties
            .get("FunctionName")
            .and_then(scalar)
            .unwrap_or_default();
        let report = properties
            .get("FunctionResponseTypes")
            .and_then(Value::as_array)
            .is_some_and(|types| types.iter().any(|t| t == "ReportBatchItemFailures"));
        sources.push((
            target,
            SqsSource {
                queue_url: queue.url.clone(),
                queue_arn: queue.arn.clone(),
                batch_size: u32_of(properties.get("BatchSize")).unwrap_or(10),
                max_batching_window: Duration::from_secs(
                    number(properties.get("MaximumBatchingWindowInSeconds")).unwrap_or(0),
                ),
                report_batch_item_failures: report,
                maximum_concurrency: u32_of(
                    properties.pointer("/ScalingConfig/MaximumConcurrency"),
                ),
                enabled: properties
                    .get("Enabled")
                    .and_then(scalar)
                    .is_none_or(|e| e == "true"),
            },
        ));
    }
    Ok(sources)
}

/// (target ARN, schedule) for each target of each scheduled EventBridge rule.
fn schedules(template: &Template, ids: &IdMap) -> anyhow::Result<Vec<(String, ScheduleSource)>> {
    let mut rules = Vec::new();
    for (logical_id, _) in template.of_kind("AWS::Events::Rule") {
        let properties = template.properties(logical_id, ids)?;
        let Some(expression) = properties.get("ScheduleExpression").and_then(scalar) else {
            continue;
        };
        let schedule = ScheduleSource {
            rule_name: ids[logical_id].reference.clone(),
            expression,
            enabled: properties
                .get("State")
                .and_then(scalar)
                .is_none_or(|s| s == "ENABLED"),
        };
        for target in properties
            .get("Targets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(arn) = target.get("Arn").and_then(scalar) {
                rules.push((arn, schedule.clone()));
            }
        }
    }
    Ok(rules)
}
