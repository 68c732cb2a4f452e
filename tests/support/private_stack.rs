//! Functions of a test's own, beside the test command's stack: a fresh database behind its
//! own Data API server (so its fault switch and request count are the test's alone), its
//! own bucket and queues with DLQs in the same moto (the template deployed as a stack of its
//! own), and the functions on them with their own front door. A test that turns faults on or
//! drives messages into a DLQ disturbs no one.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use studio_local::iam::{Gateway, Principals};
use studio_local::stack::functions::{self, Functions};
use studio_local::stack::moto::Resources;
use studio_local::template::{self, Deployment};
use studio_local::venv::Venv;
use uuid::Uuid;

use crate::TestDb;
use crate::http::{ApiClient, env};

pub struct PrivateStack {
    pub t: TestDb,
    pub functions: Functions,
    pub resources: Resources,
    /// The template as deployed for this stack.
    pub deployment: Deployment,
    /// Its functions' door to moto, holding them to their roles.
    pub gateway: Gateway,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
    state: PathBuf,
}

/// The folder of the binaries of the profile this program was built with (`scripts/test.sh`
/// builds every binary first): a test runs from `<profile>/deps`, a binary from `<profile>`.
pub fn binaries_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    if dir.ends_with("deps") {
        dir.parent().unwrap().to_owned()
    } else {
        dir.to_owned()
    }
}

/// A copy of infra/template.yaml edited by `edit` (e.g. shorter visibility timeouts), in a
/// file of its own.
pub fn edited_template(edit: impl FnOnce(String) -> String) -> PathBuf {
    let original = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    let text = std::fs::read_to_string(original).unwrap();
    let path = std::env::temp_dir().join(format!("template-{}.yaml", Uuid::new_v4().simple()));
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// `text` (a template) with the first `from` after the line that opens `resource` (its
/// logical id) replaced by `to`: one property of one resource.
pub fn set_in(text: &str, resource: &str, from: &str, to: &str) -> String {
    let opening = format!("\n  {resource}:\n");
    let start = text
        .find(&opening)
        .unwrap_or_else(|| panic!("no resource {resource}"));
    let at = start
        + text[start..]
            .find(from)
            .unwrap_or_else(|| panic!("no {from:?} in {resource}"));
    format!("{}{to}{}", &text[..at], &text[at + from.len()..])
}

/// The template with every work queue's `VisibilityTimeout: 900` set to `secs`.
pub fn template_with_visibility(secs: u32) -> PathBuf {
    edited_template(|text| {
        assert!(text.contains("VisibilityTimeout: 900"));
        text.replace(
            "VisibilityTimeout: 900",
            &format!("VisibilityTimeout: {secs}"),
        )
    })
}

impl PrivateStack {
    /// Deploys `template` (with `overrides`) as a stack of its own and starts the functions
    /// on it. Its `EnvironmentName` is the stack's name unless `overrides` set it, so that
    /// its bucket is its own.
    pub async fn start(template: &Path, overrides: &[(String, String)]) -> Self {
        // IAM of its own: its roles' keys, its Data API server and its door to moto ask it.
        let principals = Arc::new(Principals::new());
        let t = TestDb::migrated_with(|config| config.iam = Some(Arc::clone(&principals))).await;
        let prefix = format!("t{}", &Uuid::new_v4().simple().to_string()[..12]);
        let venv = Venv::for_checkout(&PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")));
        let moto_endpoint = env("STUDIO_MOTO_URL");
        let gateway = Gateway::start(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            moto_endpoint.clone(),
            Arc::clone(&principals),
        )
        .await
        .unwrap();
        let mut overrides = overrides.to_vec();
        if !overrides.iter().any(|(k, _)| k == "EnvironmentName") {
            overrides.push(("EnvironmentName".to_owned(), prefix.clone()));
        }
        overrides.push(("DatabaseName".to_owned(), t.name.clone()));
        let deployment = template::deploy(template, &overrides, &prefix, &moto_endpoint, &venv)
            .await
            .unwrap();
        let resources = Resources::from_deployment(&deployment).unwrap();
        let state = std::env::temp_dir().join(format!("studio-{prefix}"));
        std::fs::create_dir_all(&state).unwrap();
        let mut endpoints: Vec<(String, String)> = ["S3", "SQS", "SECRETS_MANAGER", "EVENTBRIDGE"]
            .into_iter()
            .map(|service| (format!("AWS_ENDPOINT_URL_{service}"), gateway.endpoint()))
            .collect();
        endpoints.extend([("AWS_ENDPOINT_URL_RDS_DATA".to_owned(), t.server.endpoint())]);
        // The test command's Bedrock, Textract and SES: they know none of this stack's
        // roles, so a call there is refused (no test of a private stack makes one).
        for service in ["BEDROCK_RUNTIME", "TEXTRACT", "SESV2"] {
            let name = format!("AWS_ENDPOINT_URL_{service}");
            endpoints.push((name.clone(), env(&name)));
        }
        let local = [("RUST_LOG".to_owned(), "info".to_owned())];
        let credentials = |spec: &template::FunctionSpec| {
            studio_local::stack::role_credentials(&principals, spec)
        };
        let functions = functions::start_binaries(
            &binaries_dir(),
            &deployment,
            &state,
            0,
            &functions::Services {
                endpoints: &endpoints,
                credentials: &credentials,
                local: &local,
            },
        )
        .await
        .unwrap();
        let sdk = studio_local::account::local_sdk_config(&moto_endpoint);
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        Self {
            sqs: aws_sdk_sqs::Client::new(&sdk),
            s3,
            t,
            functions,
            resources,
            deployment,
            gateway,
            state,
        }
    }

    /// A staff member of a new team, signed in to this stack's front door.
    pub async fn staff(&self) -> ApiClient {
        let team = self.t.team().await;
        self.member("staff", team).await
    }

    /// A new user with `role` in `team`, signed in to this stack's front door.
    pub async fn member(&self, role: &str, team: Uuid) -> ApiClient {
        let sub = format!("{role}-{}", Uuid::new_v4());
        self.t.member(&sub, role, team).await;
        ApiClient::new(
            &format!("http://{}", self.functions.front_door),
            &self.state.join("dev-jwt.key"),
            &sub,
            &format!("{sub}@example.org"),
        )
    }

    /// The queue URL of `name` (`file-processing`, `embedding`...) and of its DLQ.
    pub fn queue(&self, name: &str) -> (&str, &str) {
        let urls = &self.resources.queues[name];
        (&urls.url, &urls.dlq_url)
    }

    /// Bodies of the messages waiting in `queue_url` (received, so hidden for a while).
    pub async fn receive_all(&self, queue_url: &str) -> Vec<String> {
        let mut bodies = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return bodies;
            }
            bodies.extend(messages.into_iter().filter_map(|m| m.body));
        }
    }

    /// Where its functions' logs are (`<function>.log`, with Lambda's REPORT lines).
    pub fn state_dir(&self) -> &Path {
        &self.state
    }

    /// What a function wrote to its log file so far.
    pub fn log(&self, function: &str) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(&self.state).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(function) && name.ends_with(".log") {
                all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        all
    }

    pub async fn stop(self) {
        self.functions.stop().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = std::fs::remove_dir_all(&self.state);
    }
}
