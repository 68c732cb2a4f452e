//! Parameter values: defaults, local values, overrides (`Key=Value`, as
//! `sam deploy --parameter-overrides`), list types and the declared constraints.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde_json::{Map, Value};

use super::intrinsics::scalar;

/// Values that make the template deployable on this machine; `--parameter` overrides win.
/// Entries for parameters a template does not declare are ignored.
pub const LOCAL_PARAMETERS: &[(&str, &str)] = &[
    // The Aurora cluster's network has no local meaning (the Data API server stands in for
    // the cluster) but the parameters have no defaults.
    ("VpcId", "vpc-0local0000000000"),
    (
        "DatabaseSubnetIds",
        "subnet-0local000000000a,subnet-0local000000000b",
    ),
    // Embeddings by feature hashing, for a stack deployed without `studio up`'s model (the
    // tests' private stacks); `studio up` passes the local model's parameters.
    ("EmbeddingProvider", "offline"),
    // The verified SES sender NOTIFY_MAILER=ses uses; mails land in the local mailbox.
    ("NotifyFromAddress", "notifications@studio.local"),
];

/// The local values overlaid by `overrides`, for the SAM transform.
pub fn requested(overrides: &[(String, String)]) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = LOCAL_PARAMETERS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    values.extend(overrides.iter().cloned());
    values
}

fn is_list(kind: &str) -> bool {
    kind == "CommaDelimitedList" || kind.starts_with("List<")
}

/// Every declared parameter's value: a string, or a list of strings for list types.
pub fn resolve(
    declared: &Map<String, Value>,
    overrides: &[(String, String)],
) -> anyhow::Result<BTreeMap<String, Value>> {
    for (name, _) in overrides {
        if !declared.contains_key(name) {
            bail!("parameter {name} is not declared by the template");
        }
    }
    let requested = requested(overrides);
    let mut values = BTreeMap::new();
    for (name, declaration) in declared {
        let kind = declaration
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("String");
        let raw = match requested.get(name) {
            Some(value) => value.clone(),
            None => match declaration.get("Default") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(scalar)
                    .collect::<Vec<_>>()
                    .join(","),
                Some(default) => scalar(default)
                    .with_context(|| format!("parameter {name} has a default that is not text"))?,
                None => bail!(
                    "parameter {name} has no value and no default: pass it as --parameter {name}=VALUE"
                ),
            },
        };
        let value = check(name, kind, declaration, &raw)?;
        values.insert(name.clone(), value);
    }
    Ok(values)
}

fn check(name: &str, kind: &str, declaration: &Value, raw: &str) -> anyhow::Result<Value> {
    if kind.starts_with("AWS::SSM::Parameter::") {
        bail!("parameter {name}: SSM parameter types ({kind}) are not supported locally");
    }
    let items: Vec<String> = if is_list(kind) {
        if raw.is_empty() {
            Vec::new()
        } else {
            raw.split(',').map(|s| s.trim().to_owned()).collect()
        }
    } else {
        vec![raw.to_owned()]
    };
    let allowed: Option<Vec<String>> = declaration
        .get("AllowedValues")
        .and_then(Value::as_array)
        .map(|values| values.iter().filter_map(scalar).collect());
    let number = |key: &str| {
        declaration
            .get(key)
            .and_then(|v| scalar(v)?.parse::<f64>().ok())
    };
    for item in &items {
        if let Some(allowed) = &allowed
            && !allowed.contains(item)
        {
            bail!(
                "parameter {name}: {item:?} is not one of its allowed values ({})",
                allowed.join(", ")
            );
        }
        if kind == "Number" || kind == "List<Number>" {
            let n: f64 = item
                .parse()
                .map_err(|_| anyhow::anyhow!("parameter {name}: {item:?} is not a number"))?;
            if number("MinValue").is_some_and(|min| n < min)
                || number("MaxValue").is_some_and(|max| n > max)
            {
                bail!("parameter {name}: {n} is outside its MinValue/MaxValue");
            }
        }
        let length = item.chars().count() as f64;
        if kind == "String"
            && (number("MinLength").is_some_and(|min| length < min)
                || number("MaxLength").is_some_and(|max| length > max))
        {
            bail!("parameter {name}: {item:?} is outside its MinLength/MaxLength");
        }
    }
    Ok(if is_list(kind) {
        Value::Array(items.into_iter().map(Value::String).collect())
    } else {
        Value::String(raw.to_owned())
    })
}

/// A parameter value as `--parameter-overrides` writes it.
pub fn display(value: &Value) -> String {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(scalar)
            .collect::<Vec<_>>()
            .join(","),
        other => scalar(other).unwrap_or_default(),
    }
}
