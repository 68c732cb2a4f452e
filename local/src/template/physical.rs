//! Local physical ids of a template's resources: what `Ref` and `Fn::GetAtt` give for each
//! (queue URLs and ARNs, bucket names, role and function ARNs...), as CloudFormation would
//! name them in account 123456789012, us-east-1.

use crate::account::{ACCOUNT_ID, REGION};
use std::collections::BTreeMap;

use serde_json::Value;

use super::Resource;
use super::resolve_error::ResolveError;

/// Every resource's ids, by logical id.
pub(super) type IdMap = BTreeMap<String, Ids>;

/// What a resource's `Ref` and attributes resolve to.
#[derive(Debug, Clone, PartialEq)]
pub struct Ids {
    pub reference: String,
    pub attributes: BTreeMap<String, String>,
    /// A type modelled loosely: an attribute it does not list still gets a plausible id.
    pub loose: bool,
}

impl Ids {
    fn new(reference: String, attributes: &[(&str, String)]) -> Self {
        Self {
            reference,
            attributes: attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            loose: false,
        }
    }

    pub fn attribute(&self, name: &str) -> Option<String> {
        self.attributes.get(name).cloned().or_else(|| {
            self.loose
                .then(|| format!("{}-{}", self.reference, name.to_lowercase()))
        })
    }
}

/// The `AWS::StackId` of a local stack.
pub fn stack_id(stack: &str) -> String {
    format!(
        "arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{stack}/{}",
        local_id(stack, 32)
    )
}

/// A stable lowercase alphanumeric id of `len` characters derived from `seed`.
pub fn local_id(seed: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut out = String::with_capacity(len);
    for round in 0..len {
        for byte in seed.bytes().chain(round.to_le_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        out.push(char::from(
            ALPHABET[(hash % ALPHABET.len() as u64) as usize],
        ));
    }
    out
}

/// Resolves one of the resource's naming properties (QueueName, BucketName...), `None` if unset.
pub type NameOf<'a> = dyn Fn(&str) -> Result<Option<String>, ResolveError> + 'a;

/// The ids of `resource`. `name_of` may fail with [`ResolveError::Unknown`] while the ids
/// of the resources it names are not known yet.
pub fn ids(
    stack: &str,
    endpoint: &str,
    logical_id: &str,
    resource: &Resource,
    name_of: &NameOf<'_>,
) -> Result<Ids, ResolveError> {
    let default_name = format!("{stack}-{logical_id}");
    let named = |property: &str| -> Result<String, ResolveError> {
        Ok(name_of(property)?.unwrap_or_else(|| default_name.clone()))
    };
    let arn = |service: &str, rest: &str| format!("arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{rest}");
    let ids = match resource.kind.as_str() {
        "AWS::SQS::Queue" => {
            let mut name = named("QueueName")?;
            let fifo = resource.properties.get("FifoQueue").is_some_and(truthy);
            if fifo && !name.ends_with(".fifo") {
                name.push_str(".fifo");
            }
            let url = format!("{endpoint}/{ACCOUNT_ID}/{name}");
            Ids::new(
                url.clone(),
                &[
                    ("Arn", arn("sqs", &name)),
                    ("QueueName", name),
                    ("QueueUrl", url),
                ],
            )
        }
        "AWS::S3::Bucket" => {
            let name = name_of("BucketName")?.unwrap_or_else(|| default_name.to_lowercase());
            Ids::new(
                name.clone(),
                &[
                    ("Arn", format!("arn:aws:s3:::{name}")),
                    ("DomainName", format!("{name}.s3.amazonaws.com")),
                    (
                        "RegionalDomainName",
                        format!("{name}.s3.{REGION}.amazonaws.com"),
                    ),
                    (
                        "WebsiteURL",
                        format!("http://{name}.s3-website-{REGION}.amazonaws.com"),
                    ),
                ],
            )
        }
        // Deploying replaces the ARN with the one moto gives the secret.
        "AWS::SecretsManager::Secret" => {
            let secret = arn("secretsmanager", &format!("secret:{}", named("Name")?));
            Ids::new(secret.clone(), &[("Id", secret)])
        }
        "AWS::RDS::DBCluster" => {
            let cluster = crate::account::LOCAL_CLUSTER_ARN.to_owned();
            Ids::new(
                cluster.clone(),
                &[
                    ("DBClusterArn", cluster),
                    (
                        "MasterUserSecret.SecretArn",
                        arn("secretsmanager", &format!("secret:{default_name}-master")),
                    ),
                    ("Endpoint.Address", "127.0.0.1".to_owned()),
                    ("Endpoint.Port", "5432".to_owned()),
                    ("ReadEndpoint.Address", "127.0.0.1".to_owned()),
                    (
                        "DBClusterResourceId",
                        format!("cluster-{}", local_id(&default_name, 26)),
                    ),
                ],
            )
        }
        "AWS::IAM::Role" => {
            let name = named("RoleName")?;
            let path = name_of("Path")?.unwrap_or_else(|| "/".to_owned());
            Ids::new(
                name.clone(),
                &[
                    ("Arn", format!("arn:aws:iam::{ACCOUNT_ID}:role{path}{name}")),
                    (
                        "RoleId",
                        format!("AROA{}", local_id(&name, 17).to_uppercase()),
                    ),
                ],
            )
        }
        "AWS::IAM::ManagedPolicy" => {
            let policy = format!(
                "arn:aws:iam::{ACCOUNT_ID}:policy/{}",
                named("ManagedPolicyName")?
            );
            Ids::new(policy.clone(), &[("PolicyArn", policy)])
        }
        "AWS::Lambda::Function" => {
            let name = match binary_of(resource) {
                Some(binary) => binary,
                None => named("FunctionName")?,
            };
            Ids::new(
                name.clone(),
                &[("Arn", arn("lambda", &format!("function:{name}")))],
            )
        }
        "AWS::Lambda::Version" | "AWS::Lambda::Alias" => {
            let function = named("FunctionName")?;
            let function = if function.starts_with("arn:") {
                function
            } else {
                arn("lambda", &format!("function:{function}"))
            };
            let qualifier = match resource.kind.as_str() {
                "AWS::Lambda::Version" => "1".to_owned(),
                _ => named("Name")?,
            };
            Ids::new(
                format!("{function}:{qualifier}"),
                &[("Version", qualifier), ("FunctionArn", function)],
            )
        }
        "AWS::SNS::Topic" => {
            let name = named("TopicName")?;
            let topic = arn("sns", &name);
            Ids::new(topic.clone(), &[("TopicArn", topic), ("TopicName", name)])
        }
        "AWS::Logs::LogGroup" => {
            let name = named("LogGroupName")?;
            let group = arn("logs", &format!("log-group:{name}:*"));
            Ids::new(name, &[("Arn", group)])
        }
        "AWS::Events::Rule" => {
            let name = named("Name")?;
            let rule = arn("events", &format!("rule/{name}"));
            Ids::new(name, &[("Arn", rule)])
        }
        "AWS::SES::EmailIdentity" => Ids::new(named("EmailIdentity")?, &[]),
        "AWS::ApiGateway::RestApi" => Ids::new(
            local_id(&default_name, 10),
            &[("RootResourceId", local_id(&format!("{default_name}/"), 10))],
        ),
        "AWS::Cognito::UserPool" => {
            let id = format!("{REGION}_{}", local_id(&default_name, 9));
            let provider = format!("cognito-idp.{REGION}.amazonaws.com/{id}");
            Ids::new(
                id.clone(),
                &[
                    ("Arn", arn("cognito-idp", &format!("userpool/{id}"))),
                    ("ProviderURL", format!("https://{provider}")),
                    ("ProviderName", provider),
                ],
            )
        }
        kind => loose(kind, &default_name),
    };
    Ok(ids)
}

/// Any other resource: a plausible id, an ARN, and a plausible value for any attribute.
fn loose(kind: &str, default_name: &str) -> Ids {
    let mut parts = kind.split("::").skip(1);
    let service = parts.next().unwrap_or("custom").to_lowercase();
    let rest = parts.next().unwrap_or("resource").to_lowercase();
    let reference = format!("{default_name}-{}", local_id(default_name, 8));
    let mut ids = Ids::new(
        reference.clone(),
        &[(
            "Arn",
            format!("arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{rest}/{reference}"),
        )],
    );
    ids.loose = true;
    ids
}

/// `Metadata.BuildProperties.Binary` of a function built with cargo-lambda.
pub fn binary_of(resource: &Resource) -> Option<String> {
    resource
        .metadata
        .pointer("/BuildProperties/Binary")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn truthy(value: &Value) -> bool {
    value
        .as_bool()
        .unwrap_or_else(|| value.as_str() == Some("true"))
}
