//! The template's Conditions (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`),
//! evaluated once over the parameters.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::intrinsics::{ResolveError, Scope, arguments, invalid, scalar};

/// Evaluates every named condition of the template (`Fn::Equals`, `Fn::Not`, `Fn::And`,
/// `Fn::Or`, `Condition`) over the parameters.
pub fn evaluate(
    raw: &Map<String, Value>,
    scope: Scope<'_>,
) -> Result<BTreeMap<String, bool>, ResolveError> {
    let mut done = BTreeMap::new();
    for name in raw.keys() {
        condition(name, raw, scope, &mut done, &mut BTreeSet::new())?;
    }
    Ok(done)
}

fn condition(
    name: &str,
    raw: &Map<String, Value>,
    scope: Scope<'_>,
    done: &mut BTreeMap<String, bool>,
    visiting: &mut BTreeSet<String>,
) -> Result<bool, ResolveError> {
    if let Some(value) = done.get(name) {
        return Ok(*value);
    }
    let definition = raw
        .get(name)
        .filter(|_| visiting.insert(name.to_owned()))
        .ok_or_else(|| ResolveError::UnknownCondition(name.to_owned()))?;
    let value = truth(definition, raw, scope, done, visiting)?;
    visiting.remove(name);
    done.insert(name.to_owned(), value);
    Ok(value)
}

fn truth(
    value: &Value,
    raw: &Map<String, Value>,
    scope: Scope<'_>,
    done: &mut BTreeMap<String, bool>,
    visiting: &mut BTreeSet<String>,
) -> Result<bool, ResolveError> {
    let Some((name, argument)) = value.as_object().and_then(|map| {
        let mut entries = map.iter();
        match (entries.next(), entries.next()) {
            (Some((name, argument)), None) => Some((name.as_str(), argument)),
            _ => None,
        }
    }) else {
        return Err(invalid("Conditions", format!("{value} is not a condition")));
    };
    let mut operands = || -> Result<Vec<bool>, ResolveError> {
        let items = argument
            .as_array()
            .ok_or_else(|| invalid("Conditions", format!("{name} takes a list")))?;
        items
            .iter()
            .map(|item| truth(item, raw, scope, done, visiting))
            .collect()
    };
    match name {
        "Condition" => {
            let other = argument
                .as_str()
                .ok_or_else(|| invalid("Condition", "takes a condition's name"))?;
            condition(other, raw, scope, done, visiting)
        }
        "Fn::Not" => match operands()?.as_slice() {
            [one] => Ok(!one),
            _ => Err(invalid("Fn::Not", "takes one condition")),
        },
        "Fn::And" => Ok(operands()?.iter().all(|b| *b)),
        "Fn::Or" => Ok(operands()?.iter().any(|b| *b)),
        "Fn::Equals" => {
            let [a, b] = arguments::<2>("Fn::Equals", argument)?;
            let (a, b) = (
                scope.required("Fn::Equals", a)?,
                scope.required("Fn::Equals", b)?,
            );
            Ok(comparable(&a) == comparable(&b))
        }
        other => Err(ResolveError::Unsupported(format!("{other} in Conditions"))),
    }
}

/// Numbers compare as the text CloudFormation sees (`"1" == 1`).
fn comparable(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(comparable).collect()),
        other => scalar(other).map_or_else(|| other.clone(), Value::String),
    }
}
