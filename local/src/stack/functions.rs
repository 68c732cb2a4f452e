//! The template's functions, run as Lambda runs them: each is a pool of sandboxes with the
//! template's binary, limits and environment, behind the event sources the template gives
//! it (API routes through the front door, SQS event source mappings, schedules).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::front_door::{self, DevKey};
use crate::lambda::event_sources::{self, QueueMapping};
use crate::lambda::{self, Function, FunctionConfig};
use crate::template::{self, Deployment, FunctionSpec};

/// Instances a function may run at once when the template reserves no concurrency: the
/// account's concurrency, scaled to this machine (`STUDIO_MAX_INSTANCES`).
const LOCAL_MAX_INSTANCES: usize = 10;
/// Batches an SQS mapping runs at once when `ScalingConfig` sets no maximum (Lambda starts
/// with five pollers).
const DEFAULT_POLLERS: usize = 5;

/// Running functions and the tasks that feed them; stopped by [`Functions::stop`].
#[derive(Debug)]
pub struct Functions {
    functions: Vec<Arc<Function>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub front_door: SocketAddr,
    /// Variables for clients of the front door.
    pub env: Vec<(String, String)>,
}

/// What every function's environment gets besides the template's own variables: where the
/// AWS services are (`AWS_ENDPOINT_URL_*`), and each role's credentials.
pub struct Services<'a> {
    pub endpoints: &'a [(String, String)],
    /// The access key pair a function's role stands for.
    pub credentials: &'a dyn Fn(&FunctionSpec) -> anyhow::Result<(String, String)>,
    /// Settings of third-party providers the settings store does not hold yet (the web
    /// search mock), and the tuning knobs the test command shortens.
    pub local: &'a [(String, String)],
}

/// The key the local mock of Brave Search accepts.
pub const LOCAL_SEARCH_KEY: &str = "local-brave-key";

/// The only variables a function gets besides the template's own, its endpoints and its
/// credentials: `RUST_LOG` (`STUDIO_FUNCTION_LOG`), the cache knobs the test command
/// shortens, and the web search provider's settings, which no template parameter holds
/// yet: the caller's `WEB_SEARCH_*`, else the Brave mock started here.
pub async fn local_settings() -> anyhow::Result<(
    Vec<(String, String)>,
    Option<crate::mock_search::MockSearch>,
)> {
    let mut local = vec![(
        "RUST_LOG".to_owned(),
        std::env::var("STUDIO_FUNCTION_LOG").unwrap_or_else(|_| "info".to_owned()),
    )];
    let passed = [
        "SETTINGS_CACHE_SECS",
        "MODELS_CACHE_SECS",
        "WEB_SEARCH_PROVIDER",
        "WEB_SEARCH_API_KEY",
        "WEB_SEARCH_BASE_URL",
    ];
    for name in passed {
        if let Ok(value) = std::env::var(name) {
            local.push((name.to_owned(), value));
        }
    }
    if std::env::var_os("WEB_SEARCH_PROVIDER").is_some() {
        return Ok((local, None));
    }
    let mock = crate::mock_search::MockSearch::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        LOCAL_SEARCH_KEY,
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot start the mock search server: {e}"))?;
    local.extend([
        ("WEB_SEARCH_PROVIDER".to_owned(), "brave".to_owned()),
        ("WEB_SEARCH_API_KEY".to_owned(), LOCAL_SEARCH_KEY.to_owned()),
        ("WEB_SEARCH_BASE_URL".to_owned(), mock.base_url()),
    ]);
    Ok((local, Some(mock)))
}

/// Builds (if needed) and starts the deployment's functions.
pub async fn start(
    root: &Path,
    deployment: &Deployment,
    state_dir: &Path,
    front_door_port: u16,
    services: &Services<'_>,
) -> anyhow::Result<Functions> {
    lambda::build_functions(root).await?;
    start_binaries(
        &lambda::binaries_dir()?,
        deployment,
        state_dir,
        front_door_port,
        services,
    )
    .await
}

/// The sandbox configuration of a function of the template.
fn config(
    spec: &FunctionSpec,
    (key, secret): (String, String),
    dir: &Path,
    state_dir: &Path,
    services: &Services<'_>,
) -> FunctionConfig {
    let mut env = vec![
        ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), spec.name.clone()),
        ("AWS_ACCESS_KEY_ID".to_owned(), key),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), secret),
    ];
    env.extend(services.endpoints.iter().cloned());
    env.extend(spec.environment.iter().cloned());
    env.extend(services.local.iter().cloned());
    let local_max = std::env::var("STUDIO_MAX_INSTANCES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(LOCAL_MAX_INSTANCES);
    let reserved = spec.reserved_concurrency.map(|n| n as usize);
    FunctionConfig {
        name: spec.name.clone(),
        binary: dir.join(&spec.binary),
        env,
        timeout: spec.timeout,
        memory_mb: spec.memory_mb,
        max_instances: reserved.unwrap_or(local_max.max(warm_instances(spec))),
        throttles: reserved.is_some(),
        log_dir: state_dir.to_owned(),
    }
}

/// Instances started before the first request: several for a function that streams
/// (each stream holds its instance; `STUDIO_CHAT_STREAM_INSTANCES`, default 4), one for
/// the others, so a function that cannot start says so at `studio up`.
fn warm_instances(spec: &FunctionSpec) -> usize {
    if spec.api.iter().any(|route| route.streaming) {
        std::env::var("STUDIO_CHAT_STREAM_INSTANCES")
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(4)
            .clamp(1, 64)
    } else {
        1
    }
}

/// Starts the deployment's functions from the binaries in `dir` (port 0: any free port).
pub async fn start_binaries(
    dir: &Path,
    deployment: &Deployment,
    state_dir: &Path,
    front_door_port: u16,
    services: &Services<'_>,
) -> anyhow::Result<Functions> {
    let sqs_endpoint = services
        .endpoints
        .iter()
        .find(|(k, _)| k == "AWS_ENDPOINT_URL_SQS")
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| anyhow::anyhow!("no SQS endpoint for the event source mappings"))?;
    let tick = std::env::var("STUDIO_SCHEDULE_TICK_SECS")
        .ok()
        .and_then(|n| n.parse().ok())
        .map(Duration::from_secs);
    let mut functions = Vec::new();
    let mut tasks = Vec::new();
    let mut routes = Vec::new();
    // db-init runs as the deploy's custom resource (`studio up` applies the migrations).
    for spec in deployment
        .functions
        .iter()
        .filter(|f| !f.api.is_empty() || !f.sqs.is_empty() || !f.schedules.is_empty())
    {
        let (key, secret) = (services.credentials)(spec)?;
        // A mapping reads its queue with the function's execution role, as Lambda does.
        let sqs =
            aws_sdk_sqs::Client::new(&crate::account::sdk_config_as(sqs_endpoint, &key, &secret));
        let function = Arc::new(Function::new(config(
            spec,
            (key, secret),
            dir,
            state_dir,
            services,
        )));
        function
            .warm(warm_instances(spec))
            .await
            .map_err(|e| anyhow::anyhow!("{} did not start: {e}", spec.name))?;
        for source in spec.sqs.iter().filter(|s| s.enabled) {
            let pollers = source
                .maximum_concurrency
                .map_or(DEFAULT_POLLERS, |n| n as usize)
                .min(function.config.max_instances);
            tasks.extend(event_sources::map_queue(
                sqs.clone(),
                QueueMapping {
                    queue_url: source.queue_url.clone(),
                    queue_arn: source.queue_arn.clone(),
                    batch_size: source.batch_size,
                    batching_window: source.max_batching_window,
                    report_batch_item_failures: source.report_batch_item_failures,
                    concurrency: pollers,
                },
                Arc::clone(&function),
            ));
        }
        for schedule in spec.schedules.iter().filter(|s| s.enabled) {
            // The test command ticks faster than the template's rate (STUDIO_SCHEDULE_TICK_SECS).
            let Some(every) = tick.or_else(|| template::parse_schedule(&schedule.expression))
            else {
                continue;
            };
            tasks.push(event_sources::schedule(
                every,
                format!(
                    "arn:aws:events:us-east-1:123456789012:rule/{}",
                    schedule.rule_name
                ),
                Arc::clone(&function),
            ));
        }
        for route in &spec.api {
            routes.push(front_door::Route {
                method: route.method.clone(),
                path: route.path.clone(),
                function: Arc::clone(&function) as Arc<dyn crate::lambda::Invoke>,
            });
        }
        functions.push(function);
    }
    let key_file = state_dir.join("dev-jwt.key");
    let key = DevKey::load_or_create(&key_file)?;
    let (front_door, door) = front_door::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, front_door_port)),
        key,
        front_door::Routes::new(routes),
    )
    .await?;
    tasks.push(door);
    let env = vec![
        ("STUDIO_API_URL".to_owned(), format!("http://{front_door}")),
        (
            "STUDIO_DEV_KEY_FILE".to_owned(),
            key_file.display().to_string(),
        ),
    ];
    Ok(Functions {
        functions,
        tasks,
        front_door,
        env,
    })
}

impl Functions {
    pub fn pids(&self) -> Vec<u32> {
        self.functions.iter().flat_map(|f| f.pids()).collect()
    }

    /// The process ids of the idle instances of the function called `name`.
    pub fn pids_of(&self, name: &str) -> Vec<u32> {
        self.functions
            .iter()
            .filter(|f| f.config.name == name)
            .flat_map(|f| f.pids())
            .collect()
    }

    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        for function in &self.functions {
            function.stop().await;
        }
    }
}
