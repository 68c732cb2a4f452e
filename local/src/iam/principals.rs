//! Who is calling: access keys issued per role, the admin key, and the SigV4 credential
//! scope a request carries.
//!
//! Signatures are **not verified**: the access key id in the credential scope names the
//! caller. Locally every process runs as the same user and could read any role's secret
//! anyway; what this guards against is code using permissions its template does not give.

use crate::account::ACCOUNT_ID;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::Value;

use super::policy::{Policy, PolicyError};

/// The key the stack's own tooling and tests use: allowed everything.
pub const ADMIN_ACCESS_KEY_ID: &str = "local";

/// A role's credentials, for a function's `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// A caller: the session ARN AWS names in refusals, and the role's policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `arn:aws:sts::123456789012:assumed-role/<role>/<session>`.
    pub arn: String,
    pub role_arn: String,
    pub policies: Vec<Policy>,
    /// The admin key: every request allowed, classified or not.
    pub admin: bool,
}

/// Access key id -> principal.
#[derive(Debug)]
pub struct Principals {
    by_key: RwLock<HashMap<String, Arc<Principal>>>,
    /// Per stack run: every role's secret is derived from it.
    secret_seed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("{0} is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")]
    NotARole(String),
    #[error("roles {0} and {1} derive the same access key id")]
    Collision(String, String),
}

impl Default for Principals {
    fn default() -> Self {
        Self::new()
    }
}

impl Principals {
    /// Knows the admin key only.
    pub fn new() -> Self {
        let admin = Principal {
            arn: format!("arn:aws:iam::{ACCOUNT_ID}:root"),
            role_arn: String::new(),
            policies: Vec::new(),
            admin: true,
        };
        let by_key = HashMap::from([(ADMIN_ACCESS_KEY_ID.to_owned(), Arc::new(admin))]);
        Self {
            by_key: RwLock::new(by_key),
            secret_seed: fastrand::u64(..),
        }
    }

    /// Credentials for `role_arn` (the same ones every time within this run; issuing again
    /// replaces the policies). `session` is what the refusals name after the role, the
    /// function's name on Lambda.
    pub fn issue(
        &self,
        role_arn: &str,
        session: &str,
        policies: &[Value],
    ) -> Result<Credentials, IssueError> {
        let policies = Policy::parse_all(policies)?;
        let role = role_name(role_arn).ok_or_else(|| IssueError::NotARole(role_arn.to_owned()))?;
        let access_key_id = format!("ASIALOCAL{}", letters(fnv1a(role.as_bytes()), 12));
        let principal = Principal {
            arn: format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/{session}"),
            role_arn: role_arn.to_owned(),
            policies,
            admin: false,
        };
        let mut by_key = self.by_key.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = by_key.get(&access_key_id)
            && existing.role_arn != role_arn
        {
            return Err(IssueError::Collision(
                existing.role_arn.clone(),
                role_arn.to_owned(),
            ));
        }
        by_key.insert(access_key_id.clone(), Arc::new(principal));
        let secret = fnv1a(format!("{}:{role_arn}", self.secret_seed).as_bytes());
        Ok(Credentials {
            access_key_id,
            secret_access_key: format!(
                "{secret:016x}{:016x}",
                secret.rotate_left(29) ^ self.secret_seed
            ),
        })
    }

    /// The principal an access key id stands for; `None` for an unknown key.
    pub fn get(&self, access_key_id: &str) -> Option<Arc<Principal>> {
        self.by_key
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(access_key_id)
            .cloned()
    }
}

/// `NAME` of `arn:aws:iam::ACCOUNT:role/[path/]NAME`.
fn role_name(role_arn: &str) -> Option<&str> {
    let resource = role_arn.strip_prefix("arn:aws:iam::")?.split_once(':')?.1;
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    (!name.is_empty()).then_some(name)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn letters(mut n: u64, count: usize) -> String {
    (0..count)
        .map(|_| {
            let c = char::from(b'A' + (n % 26) as u8);
            n /= 26;
            c
        })
        .collect()
}

/// The `Credential=AKID/date/region/service/aws4_request` part of a SigV4 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
}

impl CredentialScope {
    /// From the `Authorization` header, else from a presigned URL's `X-Amz-Credential`.
    pub fn from_request(authorization: Option<&str>, query: &str) -> Option<Self> {
        if let Some(header) = authorization {
            let credential = header
                .strip_prefix("AWS4-HMAC-SHA256")?
                .split(',')
                .find_map(|part| part.trim().strip_prefix("Credential="))?;
            return Self::parse(credential);
        }
        let credential = super::form::query_param(query, "X-Amz-Credential")?;
        Self::parse(&credential)
    }

    fn parse(credential: &str) -> Option<Self> {
        let mut parts = credential.split('/');
        let access_key_id = parts.next().filter(|k| !k.is_empty())?.to_owned();
        let _date = parts.next()?;
        let region = parts.next()?.to_owned();
        let service = parts.next()?.to_owned();
        Some(Self {
            access_key_id,
            region,
            service,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROLE: &str = "arn:aws:iam::123456789012:role/studio-dev-ApiFunctionRole-1A2B";

    #[test]
    fn a_role_gets_the_same_access_key_every_time_in_a_run() {
        let principals = Principals::new();
        let policy = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
        let first = principals
            .issue(ROLE, "api", std::slice::from_ref(&policy))
            .unwrap();
        let again = principals.issue(ROLE, "api", &[policy]).unwrap();
        assert_eq!(first, again);
        assert!(first.access_key_id.starts_with("ASIALOCAL"));
        assert_eq!(first.access_key_id.len(), 21);
        assert!(
            first.access_key_id[9..]
                .chars()
                .all(|c| c.is_ascii_uppercase())
        );
        let principal = principals.get(&first.access_key_id).unwrap();
        assert_eq!(
            principal.arn,
            "arn:aws:sts::123456789012:assumed-role/studio-dev-ApiFunctionRole-1A2B/api"
        );
        assert!(principals.get("AKIAUNKNOWN").is_none());
        assert!(principals.get(ADMIN_ACCESS_KEY_ID).unwrap().admin);
    }

    #[test]
    fn an_unparseable_policy_is_refused_when_issuing() {
        let principals = Principals::new();
        assert!(matches!(
            principals.issue(ROLE, "api", &[json!("no")]),
            Err(IssueError::Policy(_))
        ));
        assert!(matches!(
            principals.issue("arn:aws:s3:::b", "api", &[]),
            Err(IssueError::NotARole(_))
        ));
    }

    #[test]
    fn the_credential_scope_is_read_from_the_header_or_a_presigned_url() {
        let header = "AWS4-HMAC-SHA256 Credential=ASIALOCALABC/20250101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=ff";
        let scope = CredentialScope::from_request(Some(header), "").unwrap();
        assert_eq!(
            (scope.access_key_id.as_str(), scope.service.as_str()),
            ("ASIALOCALABC", "sqs")
        );
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=local%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00";
        let scope = CredentialScope::from_request(None, query).unwrap();
        assert_eq!(
            (scope.access_key_id.as_str(), scope.service.as_str()),
            ("local", "s3")
        );
        assert!(CredentialScope::from_request(None, "a=b").is_none());
    }
}
