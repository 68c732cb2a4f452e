//! Identity-based policy evaluation as AWS documents it: an explicit Deny wins, then an
//! Allow that matches, else the request is implicitly denied.

use std::collections::HashMap;

use super::policy::{Condition, Effect, Operator, Patterns, Policy, Statement};

/// Set by the Secrets Manager classifier when `SecretId` was a name, not an ARN: the
/// resource is then `...:secret:NAME` without the random suffix the service adds, and a
/// policy's secret ARN matches it with or without that `-XXXXXX` suffix.
pub const SECRET_BY_NAME_KEY: &str = "studio:SecretIdIsName";

/// What a caller asks: one action on resources that must all be allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// `service:Operation`, e.g. `s3:GetObject`.
    pub action: String,
    /// ARNs (or `*`); empty is read as `*`.
    pub resources: Vec<String>,
    /// Condition keys and their values (`aws:SecureTransport`, `iam:PassedToService`...).
    pub context: HashMap<String, Vec<String>>,
}

impl Request {
    pub fn new(action: impl Into<String>, resources: Vec<String>) -> Self {
        Self {
            action: action.into(),
            resources,
            context: HashMap::new(),
        }
    }

    pub fn with_context(mut self, key: &str, values: &[&str]) -> Self {
        self.context.insert(
            key.to_owned(),
            values.iter().map(|v| (*v).to_owned()).collect(),
        );
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ImplicitDeny,
    ExplicitDeny { sid: Option<String> },
}

/// The decision for the whole request: every resource must be allowed.
pub fn evaluate(policies: &[Policy], request: &Request) -> Decision {
    match refused_resource(policies, request) {
        None => Decision::Allow,
        Some((_, decision)) => decision,
    }
}

/// The first resource not allowed and why (an explicitly denied one before an implicitly
/// denied one), or `None` when the request is allowed.
pub fn refused_resource(policies: &[Policy], request: &Request) -> Option<(String, Decision)> {
    let star = ["*".to_owned()];
    let resources = if request.resources.is_empty() {
        &star[..]
    } else {
        &request.resources[..]
    };
    let mut implicit = None;
    for resource in resources {
        match evaluate_one(policies, request, resource) {
            Decision::Allow => {}
            explicit @ Decision::ExplicitDeny { .. } => return Some((resource.clone(), explicit)),
            Decision::ImplicitDeny => {
                implicit.get_or_insert_with(|| (resource.clone(), Decision::ImplicitDeny));
            }
        }
    }
    implicit
}

fn evaluate_one(policies: &[Policy], request: &Request, resource: &str) -> Decision {
    let by_name = request.context.contains_key(SECRET_BY_NAME_KEY);
    let mut allowed = false;
    for statement in policies.iter().flat_map(|p| &p.statements) {
        if !applies(statement, request, resource, by_name) {
            continue;
        }
        match statement.effect {
            Effect::Deny => {
                return Decision::ExplicitDeny {
                    sid: statement.sid.clone(),
                };
            }
            Effect::Allow => allowed = true,
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

fn applies(statement: &Statement, request: &Request, resource: &str, by_name: bool) -> bool {
    let action = |p: &String| {
        wildcard_match(
            &p.to_ascii_lowercase(),
            &request.action.to_ascii_lowercase(),
        )
    };
    let action_matches = match &statement.actions {
        Patterns::Only(patterns) => patterns.iter().any(action),
        Patterns::AllBut(patterns) => !patterns.iter().any(action),
    };
    let resource_fits = |p: &String| resource_matches(p, resource, by_name);
    let resource_matches = match &statement.resources {
        Patterns::Only(patterns) => patterns.iter().any(resource_fits),
        Patterns::AllBut(patterns) => !patterns.iter().any(resource_fits),
    };
    action_matches
        && resource_matches
        && statement
            .conditions
            .iter()
            .all(|c| condition_holds(c, &request.context))
}

/// Case-sensitive, with the Secrets Manager by-name rule (see [`SECRET_BY_NAME_KEY`]).
fn resource_matches(pattern: &str, resource: &str, by_name: bool) -> bool {
    if wildcard_match(pattern, resource) {
        return true;
    }
    if !by_name || !resource.starts_with("arn:aws:secretsmanager:") {
        return false;
    }
    // A pattern naming the secret's full ARN: drop its `-XXXXXX` suffix.
    let without_suffix = pattern
        .rsplit_once('-')
        .filter(|(_, suffix)| {
            suffix.len() == 6 && suffix.chars().all(|c| c.is_ascii_alphanumeric())
        })
        .is_some_and(|(base, _)| wildcard_match(base, resource));
    // A pattern like `NAME-*` or `NAME-??????`: any suffix would do.
    without_suffix || wildcard_match(pattern, &format!("{resource}-AAAAAA"))
}

fn condition_holds(condition: &Condition, context: &HashMap<String, Vec<String>>) -> bool {
    let present = context.get(&condition.key).filter(|v| !v.is_empty());
    if condition.operator == Operator::Null {
        let wants_absent = condition
            .values
            .iter()
            .any(|v| v.eq_ignore_ascii_case("true"));
        return wants_absent == present.is_none();
    }
    let Some(values) = present else {
        // AWS: an absent key fails a matching operator and satisfies a negated one.
        return condition.if_exists || condition.operator.is_negated();
    };
    // Several policy values: any may match (OR); a negated operator holds when none does.
    let any_match = values.iter().any(|actual| {
        condition
            .values
            .iter()
            .any(|expected| value_matches(condition.operator, expected, actual))
    });
    any_match != condition.operator.is_negated()
}

fn value_matches(operator: Operator, expected: &str, actual: &str) -> bool {
    match operator {
        Operator::StringEquals | Operator::StringNotEquals => expected == actual,
        Operator::StringEqualsIgnoreCase | Operator::StringNotEqualsIgnoreCase => {
            expected.eq_ignore_ascii_case(actual)
        }
        Operator::StringLike
        | Operator::StringNotLike
        | Operator::ArnEquals
        | Operator::ArnNotEquals
        | Operator::ArnLike
        | Operator::ArnNotLike => wildcard_match(expected, actual),
        Operator::Bool => expected.eq_ignore_ascii_case(actual),
        Operator::Null => false,
    }
}

/// `*` matches any run of characters (none included), `?` any one character.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "evaluate_template_tests.rs"]
mod template_tests;
