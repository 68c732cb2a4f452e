//! The template is the stack: infra/template.yaml, transformed by AWS's own SAM translator
//! and resolved here (parameters, conditions, intrinsics, local physical ids) into the
//! [`Deployment`] the local stack runs, whose resources [`deploy`] creates in moto.

mod buckets;
mod build;
mod conditions;
mod deploy;
mod intrinsics;
mod managed;
mod model;
mod parameters;
mod physical;
mod policies;
mod resolve_error;
mod routes;
mod secrets;
mod transform;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_real;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Map, Value};

pub use deploy::{deploy, deploy_template};
pub use intrinsics::ResolveError;
pub use model::{
    ApiRoute, Deployment, FunctionSpec, MockRoute, QueueSpec, Redrive, ScheduleSource, SqsSource,
    kebab, parse_schedule,
};
pub use parameters::LOCAL_PARAMETERS;
pub use physical::Ids;

use crate::venv::Venv;
use intrinsics::Scope;

/// A resource whose condition holds, as the transform left it.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: String,
    pub properties: Value,
    pub metadata: Value,
}

/// A CloudFormation template with its parameters and conditions resolved.
#[derive(Debug, Clone)]
pub struct Template {
    pub stack_name: String,
    parameters: BTreeMap<String, Value>,
    conditions: BTreeMap<String, bool>,
    mappings: Value,
    resources: BTreeMap<String, Resource>,
    outputs: Map<String, Value>,
}

/// Reads the SAM template at `path`, transforms it to CloudFormation (cached in `cache_dir`
/// by content, as the transform takes a few seconds) and resolves its parameters
/// ([`LOCAL_PARAMETERS`], then `overrides`) and conditions.
pub async fn load(
    path: &Path,
    overrides: &[(String, String)],
    stack_name: &str,
    venv: &Venv,
    cache_dir: Option<&Path>,
) -> anyhow::Result<Template> {
    let requested = parameters::requested(overrides);
    let cloudformation = transform::run(venv, path, &requested, cache_dir).await?;
    Template::from_cloudformation(&cloudformation, stack_name, overrides)
        .with_context(|| format!("cannot load {}", path.display()))
}

impl Template {
    /// A plain CloudFormation template (JSON), with [`LOCAL_PARAMETERS`] and `overrides`.
    pub fn from_cloudformation(
        template: &Value,
        stack_name: &str,
        overrides: &[(String, String)],
    ) -> anyhow::Result<Self> {
        if stack_name.is_empty()
            || stack_name.len() > 128
            || !stack_name.starts_with(|c: char| c.is_ascii_alphabetic())
            || !stack_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            bail!("{stack_name:?} is not a stack name (a letter, then letters, digits and -)");
        }
        let section = |name: &str| template.get(name).and_then(Value::as_object).cloned();
        let parameters =
            parameters::resolve(&section("Parameters").unwrap_or_default(), overrides)?;
        let mappings = template.get("Mappings").cloned().unwrap_or(Value::Null);
        let empty = BTreeMap::new();
        let scope = Scope {
            stack_name,
            parameters: &parameters,
            conditions: &empty,
            mappings: &mappings,
            ids: &BTreeMap::new(),
        };
        let conditions = conditions::evaluate(&section("Conditions").unwrap_or_default(), scope)
            .context("cannot evaluate the template's Conditions")?;
        let holds = |entry: &Value, what: &str| -> anyhow::Result<bool> {
            match entry.get("Condition").and_then(Value::as_str) {
                None => Ok(true),
                Some(name) => conditions
                    .get(name)
                    .copied()
                    .with_context(|| format!("{what} names an undefined condition {name}")),
            }
        };
        let mut resources = BTreeMap::new();
        for (logical_id, resource) in section("Resources").unwrap_or_default() {
            if !holds(&resource, &format!("resource {logical_id}"))? {
                continue;
            }
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .with_context(|| format!("resource {logical_id} has no Type"))?;
            if kind.starts_with("AWS::Serverless::") {
                bail!("resource {logical_id} is still {kind}: the SAM transform did not run");
            }
            resources.insert(
                logical_id.clone(),
                Resource {
                    kind: kind.to_owned(),
                    properties: resource
                        .get("Properties")
                        .cloned()
                        .unwrap_or_else(|| Value::Object(Map::new())),
                    metadata: resource.get("Metadata").cloned().unwrap_or(Value::Null),
                },
            );
        }
        let mut outputs = Map::new();
        for (name, output) in section("Outputs").unwrap_or_default() {
            if holds(&output, &format!("output {name}"))? {
                outputs.insert(name, output);
            }
        }
        Ok(Self {
            stack_name: stack_name.to_owned(),
            parameters,
            conditions,
            mappings,
            resources,
            outputs,
        })
    }

    /// Every parameter's value, lists joined with commas.
    pub fn parameters(&self) -> BTreeMap<String, String> {
        self.parameters
            .iter()
            .map(|(k, v)| (k.clone(), parameters::display(v)))
            .collect()
    }

    pub fn condition(&self, name: &str) -> Option<bool> {
        self.conditions.get(name).copied()
    }

    /// The resources whose condition holds, by logical id.
    pub fn resources(&self) -> &BTreeMap<String, Resource> {
        &self.resources
    }

    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a String, &'a Resource)> {
        self.resources.iter().filter(move |(_, r)| r.kind == kind)
    }

    fn scope<'a>(&'a self, ids: &'a BTreeMap<String, Ids>) -> Scope<'a> {
        Scope {
            stack_name: &self.stack_name,
            parameters: &self.parameters,
            conditions: &self.conditions,
            mappings: &self.mappings,
            ids,
        }
    }

    /// The resource's properties with every intrinsic resolved.
    pub fn properties(
        &self,
        logical_id: &str,
        ids: &BTreeMap<String, Ids>,
    ) -> anyhow::Result<Value> {
        let resource = self
            .resources
            .get(logical_id)
            .with_context(|| format!("no resource {logical_id}"))?;
        Ok(self
            .scope(ids)
            .resolve(&resource.properties)
            .with_context(|| format!("resource {logical_id} ({})", resource.kind))?
            .unwrap_or(Value::Null))
    }

    /// Every resource's local ids; `known` (ids moto gave, e.g. secret ARNs) take precedence.
    pub fn ids(
        &self,
        endpoint: &str,
        known: &BTreeMap<String, Ids>,
    ) -> anyhow::Result<BTreeMap<String, Ids>> {
        let endpoint = endpoint.trim_end_matches('/');
        let mut ids = known.clone();
        let mut pending: Vec<&String> = self
            .resources
            .keys()
            .filter(|id| !ids.contains_key(*id))
            .collect();
        // A name may refer to another resource: resolve in rounds until nothing is left.
        while !pending.is_empty() {
            let mut waiting = Vec::new();
            let mut last_error = None;
            for logical_id in pending.iter().copied() {
                let resource = &self.resources[logical_id];
                let scope = self.scope(&ids);
                let name_of = |property: &str| -> Result<Option<String>, ResolveError> {
                    match resource.properties.get(property) {
                        None => Ok(None),
                        Some(value) => {
                            Ok(scope.resolve(value)?.as_ref().and_then(intrinsics::scalar))
                        }
                    }
                };
                match physical::ids(&self.stack_name, endpoint, logical_id, resource, &name_of) {
                    Ok(found) => {
                        ids.insert(logical_id.clone(), found);
                    }
                    Err(ResolveError::Unknown { function, name })
                        if self.resources.contains_key(&name) =>
                    {
                        last_error = Some(ResolveError::Unknown { function, name });
                        waiting.push(logical_id);
                    }
                    Err(error) => {
                        return Err(error)
                            .with_context(|| format!("cannot name resource {logical_id}"));
                    }
                }
            }
            if waiting.len() == pending.len() {
                let error = last_error.map_or_else(String::new, |e| e.to_string());
                bail!("the names of {waiting:?} refer to each other: {error}");
            }
            pending = waiting;
        }
        Ok(ids)
    }

    /// The deployment with local ids only (secret ARNs as CloudFormation would name them):
    /// what [`deploy`] gives, without moto.
    pub fn deployment(&self, endpoint: &str) -> anyhow::Result<Deployment> {
        let ids = self.ids(endpoint, &BTreeMap::new())?;
        build::deployment(self, &ids)
    }
}
