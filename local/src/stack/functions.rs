//! The stack's functions: api and chat-stream (several warm instances, as Lambda scales
//! out) behind the front door, file-processor, embedding-generator, textract-processor and
//! scheduled-executor behind event source mappings of their queues, and the scheduler's
//! minute tick for scheduled-executor.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use crate::front_door::{self, DevKey};
use crate::runner::{self, Function};

const FUNCTIONS: &[&str] = &[
    "api",
    "file-processor",
    "embedding-generator",
    "textract-processor",
    "scheduled-executor",
];

/// Running functions and the tasks that feed them; stopped by [`Functions::stop`].
#[derive(Debug)]
pub struct Functions {
    functions: Vec<Function>,
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
    runner::build_functions(root).await?;
    start_binaries(&runner::binaries_dir()?, state_dir, front_door_port, env).await
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
    let mut functions = Vec::new();
    for name in FUNCTIONS {
        functions.push(Function::start(name, &dir.join(name), &function_env, state_dir).await?);
    }
    let sqs = aws_sdk_sqs::Client::new(&super::local_sdk_config(value(
        env,
        "AWS_ENDPOINT_URL_SQS",
    )?));
    let api = Arc::clone(&functions[0].api);
    // Streams hold their instance for the whole answer: several serve concurrent chats.
    let chat_instances = std::env::var("STUDIO_CHAT_STREAM_INSTANCES")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(4)
        .clamp(1, 64);
    let mut chat = Vec::new();
    for _ in 0..chat_instances {
        let function = Function::start(
            "chat-stream",
            &dir.join("chat-stream"),
            &function_env,
            state_dir,
        )
        .await?;
        chat.push(Arc::clone(&function.api));
        functions.push(function);
    }
    let chat: Arc<dyn front_door::Invoke> = Arc::new(runner::Pool::new(&chat));
    let tasks = vec![
        runner::map_queue(
            sqs.clone(),
            value(env, "FILE_PROCESSING_QUEUE_URL")?.to_owned(),
            5,
            Arc::clone(&functions[1].api),
        ),
        runner::map_queue(
            sqs.clone(),
            value(env, "EMBEDDING_QUEUE_URL")?.to_owned(),
            10,
            Arc::clone(&functions[2].api),
        ),
        runner::map_queue(
            sqs.clone(),
            value(env, "OCR_COMPLETION_QUEUE_URL")?.to_owned(),
            5,
            Arc::clone(&functions[3].api),
        ),
        runner::map_queue(
            sqs,
            value(env, "ASSISTANT_RUNS_QUEUE_URL")?.to_owned(),
            5,
            Arc::clone(&functions[4].api),
        ),
        // EventBridge's `rate(1 minute)` rule (STUDIO_SCHEDULE_TICK_SECS to tick faster).
        runner::tick(
            std::time::Duration::from_secs(
                std::env::var("STUDIO_SCHEDULE_TICK_SECS")
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(60),
            ),
            Arc::clone(&functions[4].api),
        ),
    ];
    let key_file = state_dir.join("dev-jwt.key");
    let key = DevKey::load_or_create(&key_file)?;
    let (front_door, door) = front_door::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, front_door_port)),
        key,
        front_door::Routes {
            default: api,
            prefixes: vec![
                ("/chat", Arc::clone(&chat)),
                ("/compare", Arc::clone(&chat)),
                ("/v1", Arc::clone(&chat)),
                ("/executions/*/events", Arc::clone(&chat)),
            ],
        },
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
        if let Some(pid) = function.pid() {
            let var = function.name.to_uppercase().replace('-', "_");
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
        self.functions.iter().filter_map(Function::pid).collect()
    }

    /// The process id of the function called `name`.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.functions
            .iter()
            .find(|f| f.name == name)
            .and_then(Function::pid)
    }

    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        for function in self.functions {
            function.stop().await;
        }
    }
}
