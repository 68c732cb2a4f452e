//! The stack's functions: api and chat-stream (several warm instances, as Lambda scales
//! out) behind the front door, file-processor, embedding-generator, textract-processor and
//! scheduled-executor behind event source mappings of their queues, and the scheduler's
//! minute tick for scheduled-executor.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use crate::front_door::{self, DevKey};
use crate::lambda::event_sources::{self, QueueMapping};
use crate::lambda::{self, Function, FunctionConfig};

/// Running functions and the tasks that feed them; stopped by [`Functions::stop`].
#[derive(Debug)]
pub struct Functions {
    functions: Vec<Arc<Function>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub front_door: SocketAddr,
    /// Variables for clients of the front door.
    pub env: Vec<(String, String)>,
}

fn value<'a>(env: &'a [(String, String)], name: &str) -> anyhow::Result<&'a str> {
    env.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| anyhow::anyhow!("{name} is missing from the stack's environment"))
}

/// Builds (if needed) and starts every function with the stack's environment.
pub async fn start(
    root: &Path,
    state_dir: &Path,
    front_door_port: u16,
    env: &[(String, String)],
) -> anyhow::Result<Functions> {
    lambda::build_functions(root).await?;
    start_binaries(&lambda::binaries_dir()?, state_dir, front_door_port, env).await
}

/// Starts every function from the binaries in `dir` (port 0: any free front-door port).
pub async fn start_binaries(
    dir: &Path,
    state_dir: &Path,
    front_door_port: u16,
    env: &[(String, String)],
) -> anyhow::Result<Functions> {
    let mut function_env = env.to_vec();
    // The embedding model follows the caller's environment, like the provider.
    for name in [
        "EMBEDDING_MODEL_ID",
        "EMBEDDING_DIMENSIONS",
        "SETTINGS_CACHE_SECS",
        "MODELS_CACHE_SECS",
    ] {
        if let Ok(value) = std::env::var(name) {
            function_env.push((name.to_owned(), value));
        }
    }
    function_env.extend([
        (
            "EMBEDDING_PROVIDER".to_owned(),
            std::env::var("EMBEDDING_PROVIDER").unwrap_or_else(|_| "offline".to_owned()),
        ),
        // Textract's local equivalent (moto's Textract returns canned text).
        (
            "OCR_PROVIDER".to_owned(),
            std::env::var("OCR_PROVIDER").unwrap_or_else(|_| "tesseract".to_owned()),
        ),
        (
            "RUST_LOG".to_owned(),
            std::env::var("STUDIO_FUNCTION_LOG").unwrap_or_else(|_| "info".to_owned()),
        ),
    ]);
    let spec = |name: &str, timeout: u64, memory_mb: u32, max_instances: usize| FunctionConfig {
        name: name.to_owned(),
        binary: dir.join(name),
        env: {
            let mut env = function_env.clone();
            env.push(("AWS_LAMBDA_FUNCTION_NAME".to_owned(), name.to_owned()));
            env
        },
        timeout: std::time::Duration::from_secs(timeout),
        memory_mb,
        max_instances,
        throttles: false,
        log_dir: state_dir.to_owned(),
    };
    let chat_instances = std::env::var("STUDIO_CHAT_STREAM_INSTANCES")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(4)
        .clamp(1, 64);
    let configs = [
        spec("api", 29, 512, 10),
        spec("file-processor", 150, 1024, 5),
        spec("embedding-generator", 120, 512, 10),
        spec("textract-processor", 150, 512, 5),
        spec("scheduled-executor", 150, 512, 10),
        spec("chat-stream", 300, 512, chat_instances.max(10)),
    ];
    let mut functions = Vec::new();
    for config in configs {
        let warm = if config.name == "chat-stream" {
            chat_instances
        } else {
            1
        };
        let function = Function::new(config);
        function
            .warm(warm)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        functions.push(Arc::new(function));
    }
    let sqs = aws_sdk_sqs::Client::new(&super::local_sdk_config(value(
        env,
        "AWS_ENDPOINT_URL_SQS",
    )?));
    let api: Arc<dyn front_door::Invoke> = functions[0].clone();
    let chat: Arc<dyn front_door::Invoke> = functions[5].clone();
    let mapping =
        |var: &str, batch_size: u32, concurrency: usize| -> anyhow::Result<QueueMapping> {
            let url = value(env, var)?.to_owned();
            Ok(QueueMapping {
                queue_arn: queue_arn(&url),
                queue_url: url,
                batch_size,
                batching_window: std::time::Duration::ZERO,
                report_batch_item_failures: true,
                concurrency,
            })
        };
    let mut tasks = Vec::new();
    tasks.extend(event_sources::map_queue(
        sqs.clone(),
        mapping("FILE_PROCESSING_QUEUE_URL", 5, 5)?,
        functions[1].clone(),
    ));
    tasks.extend(event_sources::map_queue(
        sqs.clone(),
        mapping("EMBEDDING_QUEUE_URL", 10, 10)?,
        functions[2].clone(),
    ));
    tasks.extend(event_sources::map_queue(
        sqs.clone(),
        mapping("OCR_COMPLETION_QUEUE_URL", 5, 5)?,
        functions[3].clone(),
    ));
    tasks.extend(event_sources::map_queue(
        sqs,
        mapping("ASSISTANT_RUNS_QUEUE_URL", 5, 10)?,
        functions[4].clone(),
    ));
    tasks.push(event_sources::schedule(
        std::time::Duration::from_secs(
            std::env::var("STUDIO_SCHEDULE_TICK_SECS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(60),
        ),
        "arn:aws:events:us-east-1:123456789012:rule/studio-schedule-tick".to_owned(),
        functions[4].clone(),
    ));
    let key_file = state_dir.join("dev-jwt.key");
    let key = DevKey::load_or_create(&key_file)?;
    let (front_door, door) = front_door::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, front_door_port)),
        key,
        front_door::Routes::new(
            [
                ("ANY", "/{proxy+}", &api),
                ("POST", "/chat", &chat),
                ("POST", "/compare", &chat),
                ("POST", "/v1/chat/completions", &chat),
                ("GET", "/executions/{id}/events", &chat),
            ]
            .into_iter()
            .map(|(method, path, function)| front_door::Route {
                method: method.to_owned(),
                path: path.to_owned(),
                function: Arc::clone(function),
            })
            .collect(),
        ),
    )
    .await?;
    let mut all_tasks = tasks;
    all_tasks.push(door);
    let mut env = vec![
        ("STUDIO_API_URL".to_owned(), format!("http://{front_door}")),
        (
            "STUDIO_DEV_KEY_FILE".to_owned(),
            key_file.display().to_string(),
        ),
    ];
    // So tests can check that a hostile file did not take a function down.
    for function in &functions {
        if let Some(pid) = function.pids().first() {
            let var = function.config.name.to_uppercase().replace('-', "_");
            env.push((format!("STUDIO_{var}_PID"), pid.to_string()));
        }
    }
    Ok(Functions {
        functions,
        tasks: all_tasks,
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
        for function in self.functions {
            match Arc::try_unwrap(function) {
                Ok(function) => function.stop().await,
                Err(shared) => {
                    tracing::warn!(function = %shared.config.name, "A function is still in use at stop")
                }
            }
        }
    }
}

/// `arn:aws:sqs:us-east-1:123456789012:name` for moto's `http://host/123456789012/name`.
fn queue_arn(url: &str) -> String {
    let mut parts = url.rsplit('/');
    let name = parts.next().unwrap_or_default();
    let account = parts.next().unwrap_or("123456789012");
    format!("arn:aws:sqs:us-east-1:{account}:{name}")
}
