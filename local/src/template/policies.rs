//! The policy documents a function's role carries: inline, attached policy resources,
//! and the AWS managed policies known here.

use std::collections::BTreeMap;

use serde_json::Value;

use super::intrinsics::scalar;
use super::physical::IdMap;
use super::{Template, managed};

/// The policy documents of the role `role_arn`: inline, attached policy resources, managed.
pub(super) fn role_policies(
    template: &Template,
    ids: &IdMap,
    role_arn: &str,
) -> anyhow::Result<Vec<Value>> {
    let Some((role_id, _)) = template.of_kind("AWS::IAM::Role").find(|(id, _)| {
        ids[*id]
            .attributes
            .get("Arn")
            .is_some_and(|a| a == role_arn)
    }) else {
        tracing::warn!(
            role_arn,
            "The function's role is not in the template: no policies"
        );
        return Ok(Vec::new());
    };
    let role_name = &ids[role_id].reference;
    let document = |value: Option<&Value>| -> Option<Value> {
        match value? {
            Value::String(json) => serde_json::from_str(json).ok(),
            other => Some(other.clone()),
        }
    };
    let role = template.properties(role_id, ids)?;
    let mut policies: Vec<Value> = role
        .get("Policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| document(p.get("PolicyDocument")))
        .collect();
    let mut template_managed = BTreeMap::new();
    for kind in ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"] {
        for (id, _) in template.of_kind(kind) {
            let properties = template.properties(id, ids)?;
            let attached = properties
                .get("Roles")
                .and_then(Value::as_array)
                .is_some_and(|roles| {
                    roles
                        .iter()
                        .any(|r| scalar(r).is_some_and(|r| &r == role_name || r == role_arn))
                });
            let policy = document(properties.get("PolicyDocument"));
            if attached {
                policies.extend(policy.clone());
            }
            template_managed.insert(ids[id].reference.clone(), policy);
        }
    }
    for arn in role
        .get("ManagedPolicyArns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(scalar)
    {
        match template_managed.get(&arn) {
            Some(policy) => policies.extend(policy.clone()),
            None => match managed::document(&arn) {
                Some(policy) => policies.push(policy),
                None => tracing::warn!(
                    arn,
                    "Unknown managed policy: the local stack grants nothing for it"
                ),
            },
        }
    }
    Ok(policies)
}
