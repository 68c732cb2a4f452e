//! CloudFormation's intrinsic functions and condition functions, over parameters, pseudo
//! parameters and the resources' local ids.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::physical::Ids;
pub use super::resolve_error::ResolveError;
pub(super) use super::resolve_error::invalid;
use crate::account::{ACCOUNT_ID, REGION};

/// What references resolve against.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub stack_name: &'a str,
    pub parameters: &'a BTreeMap<String, Value>,
    pub conditions: &'a BTreeMap<String, bool>,
    pub mappings: &'a Value,
    pub ids: &'a BTreeMap<String, Ids>,
}

/// A resolved number, written as one or as a string.
pub(super) fn number(value: Option<&Value>) -> Option<u64> {
    value.and_then(|v| v.as_u64().or_else(|| scalar(v)?.parse().ok()))
}

/// A resolved number as a `u32`.
pub(super) fn u32_of(value: Option<&Value>) -> Option<u32> {
    number(value).and_then(|n| u32::try_from(n).ok())
}

/// A scalar as CloudFormation passes it on: strings as they are, numbers and booleans as text.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Scope<'_> {
    /// `value` with every intrinsic evaluated; `None` where it is `AWS::NoValue`, which also
    /// removes it from the enclosing object or list.
    pub fn resolve(&self, value: &Value) -> Result<Option<Value>, ResolveError> {
        match value {
            Value::Object(map) => {
                if let Some((name, argument)) = single_function(map) {
                    return self.function(name, argument);
                }
                let mut out = Map::new();
                for (key, item) in map {
                    if let Some(item) = self.resolve(item)? {
                        out.insert(key.clone(), item);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.extend(self.resolve(item)?);
                }
                Ok(Some(Value::Array(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    pub(super) fn required(
        &self,
        function: &'static str,
        value: &Value,
    ) -> Result<Value, ResolveError> {
        self.resolve(value)?
            .ok_or_else(|| invalid(function, "an argument is AWS::NoValue"))
    }

    fn text(&self, function: &'static str, value: &Value) -> Result<String, ResolveError> {
        let value = self.required(function, value)?;
        scalar(&value).ok_or_else(|| invalid(function, format!("{value} is not a string")))
    }

    fn list(&self, function: &'static str, value: &Value) -> Result<Vec<Value>, ResolveError> {
        match self.required(function, value)? {
            Value::Array(items) => Ok(items),
            other => Err(invalid(function, format!("{other} is not a list"))),
        }
    }

    fn function(&self, name: &str, argument: &Value) -> Result<Option<Value>, ResolveError> {
        let value = match name {
            "Ref" => {
                let target = argument
                    .as_str()
                    .ok_or_else(|| invalid("Ref", "takes a name"))?;
                if target == "AWS::NoValue" {
                    return Ok(None);
                }
                self.reference("Ref", target)?
            }
            "Fn::GetAtt" => Value::String(self.get_att(argument)?),
            "Fn::Sub" => Value::String(self.sub(argument)?),
            "Fn::If" => {
                let [condition, yes, no] = arguments::<3>("Fn::If", argument)?;
                let condition = condition
                    .as_str()
                    .ok_or_else(|| invalid("Fn::If", "the condition must be a name"))?;
                let holds = self
                    .conditions
                    .get(condition)
                    .ok_or_else(|| ResolveError::UnknownCondition(condition.to_owned()))?;
                return self.resolve(if *holds { yes } else { no });
            }
            "Fn::Join" => {
                let [delimiter, items] = arguments::<2>("Fn::Join", argument)?;
                let delimiter = self.text("Fn::Join", delimiter)?;
                let parts = self
                    .list("Fn::Join", items)?
                    .iter()
                    .map(|item| scalar(item).ok_or_else(|| invalid("Fn::Join", "joins strings")))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::String(parts.join(&delimiter))
            }
            "Fn::Select" => {
                let [index, items] = arguments::<2>("Fn::Select", argument)?;
                let index: usize = self
                    .text("Fn::Select", index)?
                    .parse()
                    .map_err(|_| invalid("Fn::Select", "the index is not a number"))?;
                let items = self.list("Fn::Select", items)?;
                items
                    .get(index)
                    .cloned()
                    .ok_or_else(|| invalid("Fn::Select", format!("no item {index}")))?
            }
            "Fn::Split" => {
                let [delimiter, source] = arguments::<2>("Fn::Split", argument)?;
                let delimiter = self.text("Fn::Split", delimiter)?;
                let source = self.text("Fn::Split", source)?;
                if delimiter.is_empty() {
                    return Err(invalid("Fn::Split", "the delimiter is empty"));
                }
                Value::Array(
                    source
                        .split(delimiter.as_str())
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                )
            }
            "Fn::FindInMap" => {
                let [map, top, second] = arguments::<3>("Fn::FindInMap", argument)?;
                let keys = [
                    self.text("Fn::FindInMap", map)?,
                    self.text("Fn::FindInMap", top)?,
                    self.text("Fn::FindInMap", second)?,
                ];
                let mut found = self.mappings;
                for key in &keys {
                    found = found.get(key).ok_or_else(|| {
                        invalid("Fn::FindInMap", format!("no key {key} in {keys:?}"))
                    })?;
                }
                found.clone()
            }
            "Fn::Base64" => Value::String(
                base64::engine::general_purpose::STANDARD
                    .encode(self.text("Fn::Base64", argument)?),
            ),
            "Fn::GetAZs" => Value::Array(
                ["a", "b", "c"]
                    .iter()
                    .map(|zone| Value::String(format!("{REGION}{zone}")))
                    .collect(),
            ),
            other => return Err(ResolveError::Unsupported(other.to_owned())),
        };
        Ok(Some(value))
    }

    /// A parameter, pseudo parameter or resource's `Ref`.
    pub fn reference(&self, function: &'static str, name: &str) -> Result<Value, ResolveError> {
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        let pseudo = match name {
            "AWS::Region" => REGION.to_owned(),
            "AWS::AccountId" => ACCOUNT_ID.to_owned(),
            "AWS::Partition" => "aws".to_owned(),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            "AWS::StackName" => self.stack_name.to_owned(),
            "AWS::StackId" => super::physical::stack_id(self.stack_name),
            "AWS::NotificationARNs" => return Ok(Value::Array(Vec::new())),
            _ => match self.ids.get(name) {
                Some(ids) => ids.reference.clone(),
                None => {
                    return Err(ResolveError::Unknown {
                        function,
                        name: name.to_owned(),
                    });
                }
            },
        };
        Ok(Value::String(pseudo))
    }

    fn get_att(&self, argument: &Value) -> Result<String, ResolveError> {
        let (resource, attribute) = match argument {
            Value::String(s) => s
                .split_once('.')
                .map(|(r, a)| (r.to_owned(), a.to_owned()))
                .ok_or_else(|| invalid("Fn::GetAtt", format!("{s} is not Resource.Attribute")))?,
            Value::Array(parts) if parts.len() == 2 => (
                self.text("Fn::GetAtt", &parts[0])?,
                self.text("Fn::GetAtt", &parts[1])?,
            ),
            _ => return Err(invalid("Fn::GetAtt", "takes Resource.Attribute")),
        };
        self.attribute(&resource, &attribute)
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, ResolveError> {
        let ids = self
            .ids
            .get(resource)
            .ok_or_else(|| ResolveError::Unknown {
                function: "Fn::GetAtt",
                name: resource.to_owned(),
            })?;
        ids.attribute(attribute).ok_or_else(|| {
            invalid(
                "Fn::GetAtt",
                format!("{resource} has no attribute {attribute}"),
            )
        })
    }

    /// `Fn::Sub` in both forms: a string, or `[string, {variables}]`.
    fn sub(&self, argument: &Value) -> Result<String, ResolveError> {
        let (source, variables) = match argument {
            Value::String(s) => (s.clone(), BTreeMap::new()),
            Value::Array(parts) if parts.len() == 2 => {
                let source = parts[0]
                    .as_str()
                    .ok_or_else(|| invalid("Fn::Sub", "the first argument is not a string"))?;
                let mut variables = BTreeMap::new();
                for (name, value) in parts[1].as_object().into_iter().flatten() {
                    variables.insert(name.clone(), self.text("Fn::Sub", value)?);
                }
                (source.to_owned(), variables)
            }
            _ => return Err(invalid("Fn::Sub", "takes a string or [string, variables]")),
        };
        let mut out = String::with_capacity(source.len());
        let mut rest = source.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let name = after[..end].trim();
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(value);
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(resource, attribute)?);
            } else {
                let value = self.reference("Fn::Sub", name)?;
                out.push_str(&scalar(&value).ok_or_else(|| {
                    invalid("Fn::Sub", format!("${{{name}}} is a list, not a string"))
                })?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// `{"Ref": ...}` or `{"Fn::...": ...}`: an intrinsic function and its argument.
fn single_function(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    let mut entries = map.iter();
    match (entries.next(), entries.next()) {
        (Some((name, argument)), None) if name == "Ref" || name.starts_with("Fn::") => {
            Some((name.as_str(), argument))
        }
        _ => None,
    }
}

pub(super) fn arguments<'v, const N: usize>(
    function: &'static str,
    argument: &'v Value,
) -> Result<[&'v Value; N], ResolveError> {
    let items = argument
        .as_array()
        .filter(|items| items.len() == N)
        .ok_or_else(|| invalid(function, format!("takes a list of {N}")))?;
    let mut out = [&Value::Null; N];
    for (slot, item) in out.iter_mut().zip(items) {
        *slot = item;
    }
    Ok(out)
}
