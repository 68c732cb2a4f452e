//! IAM policy documents parsed from JSON: statements, effects, actions, resources, conditions.

use serde_json::Value;

/// Why a policy document could not be read; the document is refused rather than half-applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("a policy document must be a JSON object")]
    NotAnObject,
    #[error("the policy has no Statement")]
    NoStatement,
    #[error("statement {0}: {1}")]
    Statement(usize, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` / `Resource` (the listed patterns apply) or `NotAction` / `NotResource`
/// (everything but the listed patterns applies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patterns {
    Only(Vec<String>),
    AllBut(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Bool,
    Null,
}

impl Operator {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "StringEquals" => Self::StringEquals,
            "StringNotEquals" => Self::StringNotEquals,
            "StringEqualsIgnoreCase" => Self::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => Self::StringNotEqualsIgnoreCase,
            "StringLike" => Self::StringLike,
            "StringNotLike" => Self::StringNotLike,
            "ArnEquals" => Self::ArnEquals,
            "ArnLike" => Self::ArnLike,
            "ArnNotEquals" => Self::ArnNotEquals,
            "ArnNotLike" => Self::ArnNotLike,
            "Bool" => Self::Bool,
            "Null" => Self::Null,
            _ => return None,
        })
    }

    /// Operators that hold when the key does *not* match (and when it is absent).
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            Self::StringNotEquals
                | Self::StringNotEqualsIgnoreCase
                | Self::StringNotLike
                | Self::ArnNotEquals
                | Self::ArnNotLike
        )
    }
}

/// One operator on one key: `{"StringEquals": {"iam:PassedToService": ["a", "b"]}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: Operator,
    pub if_exists: bool,
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: Patterns,
    pub resources: Patterns,
    /// All must hold.
    pub conditions: Vec<Condition>,
}

/// One identity-based policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Reads a document: `{"Version", "Statement": {..} | [..]}`.
    pub fn parse(document: &Value) -> Result<Self, PolicyError> {
        let object = document.as_object().ok_or(PolicyError::NotAnObject)?;
        let statements = match object.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(item @ Value::Object(_)) => vec![item],
            _ => return Err(PolicyError::NoStatement),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| parse_statement(s).map_err(|why| PolicyError::Statement(i, why)))
            .collect::<Result<_, _>>()?;
        Ok(Self { statements })
    }

    /// Reads every document, failing on the first that does not parse.
    pub fn parse_all(documents: &[Value]) -> Result<Vec<Self>, PolicyError> {
        documents.iter().map(Self::parse).collect()
    }
}

fn parse_statement(value: &Value) -> Result<Statement, String> {
    let object = value.as_object().ok_or("not an object")?;
    let sid = match object.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("Sid must be a string".into()),
    };
    let effect = match object.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => return Err(format!("Effect must be Allow or Deny, not {other:?}")),
    };
    let actions = patterns(object, "Action", "NotAction")?;
    let resources = patterns(object, "Resource", "NotResource")?;
    let conditions = match object.get("Condition") {
        None => Vec::new(),
        Some(block) => parse_conditions(block)?,
    };
    Ok(Statement {
        sid,
        effect,
        actions,
        resources,
        conditions,
    })
}

fn patterns(
    object: &serde_json::Map<String, Value>,
    only: &str,
    all_but: &str,
) -> Result<Patterns, String> {
    match (object.get(only), object.get(all_but)) {
        (Some(v), None) => Ok(Patterns::Only(strings(v).ok_or(format!("bad {only}"))?)),
        (None, Some(v)) => Ok(Patterns::AllBut(
            strings(v).ok_or(format!("bad {all_but}"))?,
        )),
        (Some(_), Some(_)) => Err(format!("both {only} and {all_but}")),
        (None, None) => Err(format!("neither {only} nor {all_but}")),
    }
}

/// A string or an array of strings (booleans and numbers as their text, as IAM reads them).
fn strings(value: &Value) -> Option<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|s| vec![s]),
    }
}

fn parse_conditions(block: &Value) -> Result<Vec<Condition>, String> {
    let block = block.as_object().ok_or("Condition must be an object")?;
    let mut conditions = Vec::new();
    for (name, keys) in block {
        let (base, if_exists) = match name.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (name.as_str(), false),
        };
        let operator =
            Operator::parse(base).ok_or(format!("unsupported condition operator {name}"))?;
        let keys = keys
            .as_object()
            .ok_or(format!("{name} must map keys to values"))?;
        for (key, values) in keys {
            let values = strings(values).ok_or(format!("bad values for {key}"))?;
            conditions.push(Condition {
                operator,
                if_exists,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(conditions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_single_statement_object_and_single_strings_are_read_as_lists() {
        let policy = Policy::parse(&json!({
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
        }))
        .unwrap();
        assert_eq!(
            policy.statements[0].actions,
            Patterns::Only(vec!["s3:GetObject".into()])
        );
    }

    #[test]
    fn a_statement_without_an_effect_is_a_typed_error() {
        let error = Policy::parse(&json!({"Statement": [{"Action": "*", "Resource": "*"}]}));
        assert!(matches!(error, Err(PolicyError::Statement(0, _))));
    }

    #[test]
    fn an_unknown_condition_operator_is_refused_rather_than_ignored() {
        let error = Policy::parse(&json!({"Statement": [{
            "Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}
        }]}));
        assert!(
            matches!(error, Err(PolicyError::Statement(0, why)) if why.contains("NumericLessThan"))
        );
    }

    #[test]
    fn a_document_that_is_not_an_object_is_a_typed_error() {
        assert_eq!(Policy::parse(&json!([1])), Err(PolicyError::NotAnObject));
        assert_eq!(Policy::parse(&json!({})), Err(PolicyError::NoStatement));
    }
}
