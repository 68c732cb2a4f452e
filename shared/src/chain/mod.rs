//! The assistant chain runner: prompts run by position, a parallel group's prompts at
//! once; `{{variables}}` come from the inputs and earlier outputs; each prompt may search
//! repositories and call the tools it enables; every step is reported as an event and
//! every prompt's input, output, model, usage, cost, duration and status are recorded. A
//! failing prompt stops the prompts that depend on it; what finished stays.

pub mod execute;
pub mod store;
pub mod template;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::auth::Caller;
use crate::chat::rag::{self, Retrieved};
use crate::chat::relay::relay;
use crate::chat::service::{Ledger, Models};
use crate::chat::ui_stream::Citation;
use crate::chat::{ChatMessage, ChatRequest, Usage};
use crate::data_api::{DataApi, Decimal};
use crate::embed::Embedder;

/// At most this many prompts in a chain.
pub const MAX_PROMPTS: usize = 20;
/// At most this many bytes of inputs (as JSON).
pub const MAX_INPUT_BYTES: usize = 100 * 1024;
/// A tool's result is cut to this many characters in the prompt.
const MAX_TOOL_CHARS: usize = 8_000;

/// One prompt of a chain, as stored (`assistant_prompts`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainPrompt {
    pub id: Option<Uuid>,
    pub position: i32,
    pub name: String,
    pub content: String,
    /// An `ai_models` id or provider model id.
    pub model: String,
    pub system_context: Option<String>,
    pub repository_ids: Vec<Uuid>,
    pub enabled_tools: Vec<String>,
    pub timeout: Duration,
    pub parallel_group: Option<i32>,
}

/// Runs a named tool (`web_search`, `fetch_page`) with a JSON input.
#[async_trait]
pub trait Tools: Send + Sync {
    async fn call(&self, name: &str, input: Value) -> Result<Value, String>;
}

/// Where a run reports its progress: events in order, and each prompt's result.
#[async_trait]
pub trait Progress: Send + Sync {
    async fn event(&self, kind: &'static str, data: Value);
    async fn result(&self, result: &PromptResult);
}

/// The ports a run uses.
pub struct Services<'a> {
    pub db: &'a DataApi,
    pub models: &'a dyn Models,
    pub ledger: &'a dyn Ledger,
    pub embedder: &'a dyn Embedder,
    pub tools: &'a dyn Tools,
    pub progress: &'a dyn Progress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Completed,
    Failed,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptResult {
    pub prompt_id: Option<Uuid>,
    pub position: i32,
    pub name: String,
    pub input: String,
    pub output: String,
    pub ai_model_id: Option<Uuid>,
    pub model: Option<String>,
    pub usage: Usage,
    pub cost: Decimal,
    pub duration: Duration,
    pub status: Status,
    pub error: Option<String>,
    pub citations: Vec<Citation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainOutcome {
    pub results: Vec<PromptResult>,
    pub failed: bool,
    pub error: Option<String>,
    pub usage: Usage,
    /// The last completed prompt's output.
    pub output: Option<String>,
}

/// What one run is: who runs which prompts with which inputs.
pub struct ChainRun<'a> {
    pub execution_id: Uuid,
    pub caller: &'a Caller,
    pub team_id: Uuid,
    pub prompts: &'a [ChainPrompt],
    pub inputs: &'a Map<String, Value>,
    pub request_id: &'a str,
}

/// The prompts in running order, in stages: a stage is one prompt, or the consecutive
/// prompts sharing a parallel group.
fn stages(prompts: &[ChainPrompt]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..prompts.len()).collect();
    order.sort_by_key(|&i| prompts[i].position);
    let mut stages: Vec<Vec<usize>> = Vec::new();
    for index in order {
        let group = prompts[index].parallel_group;
        match stages.last_mut() {
            Some(stage) if group.is_some() && prompts[stage[0]].parallel_group == group => {
                stage.push(index)
            }
            _ => stages.push(vec![index]),
        }
    }
    stages
}

/// An input's text: strings as they are, lists (multi-select) joined with commas.
fn input_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Runs the chain to its end and returns every prompt's result.
pub async fn run(services: &Services<'_>, chain: &ChainRun<'_>) -> ChainOutcome {
    let progress = services.progress;
    progress
        .event(
            "execution-start",
            json!({"executionId": chain.execution_id, "prompts": chain.prompts.len()}),
        )
        .await;
    let mut values: HashMap<String, String> = chain
        .inputs
        .iter()
        .map(|(k, v)| (k.clone(), input_text(v)))
        .collect();
    // Names of prompts (and their `prompt_N` aliases) that did not complete.
    let mut broken: Vec<String> = Vec::new();
    let mut results: Vec<PromptResult> = Vec::new();
    let order = stages(chain.prompts);
    let mut ordinal = HashMap::new();
    for (n, index) in order.iter().flatten().enumerate() {
        ordinal.insert(*index, n + 1);
    }
    for stage in order {
        let runs = stage.iter().map(|&index| {
            let prompt = &chain.prompts[index];
            let depends_on_broken = template::references(&prompt.content)
                .iter()
                .any(|r| broken.iter().any(|b| b == template::key(r)));
            let values = &values;
            async move {
                if depends_on_broken {
                    return skipped(prompt, "an earlier prompt it uses did not complete");
                }
                run_prompt(services, chain, prompt, values).await
            }
        });
        let finished = futures_util::future::join_all(runs).await;
        for (result, &index) in finished.into_iter().zip(&stage) {
            let alias = format!("prompt_{}", ordinal[&index]);
            if result.status == Status::Completed {
                values.insert(alias, result.output.clone());
                values.insert(result.name.clone(), result.output.clone());
            } else {
                broken.push(alias);
                broken.push(result.name.clone());
            }
            progress.result(&result).await;
            progress
                .event(
                    "prompt-complete",
                    json!({
                        "position": result.position, "name": result.name, "status": result.status,
                        "error": result.error, "usage": result.usage, "durationMs": result.duration.as_millis() as u64,
                    }),
                )
                .await;
            results.push(result);
        }
    }
    let mut usage = Usage::default();
    for result in &results {
        usage.add(result.usage);
    }
    let failure = results
        .iter()
        .find(|r| r.status == Status::Failed)
        .map(|r| format!("{} failed: {}", r.name, r.error.clone().unwrap_or_default()));
    let output = results
        .iter()
        .rev()
        .find(|r| r.status == Status::Completed)
        .map(|r| r.output.clone());
    let outcome = ChainOutcome {
        failed: failure.is_some(),
        error: failure,
        usage,
        output,
        results,
    };
    let kind = if outcome.failed {
        "execution-failed"
    } else {
        "execution-complete"
    };
    progress
        .event(
            kind,
            json!({"executionId": chain.execution_id, "error": outcome.error, "usage": outcome.usage}),
        )
        .await;
    outcome
}

fn skipped(prompt: &ChainPrompt, reason: &str) -> PromptResult {
    PromptResult {
        prompt_id: prompt.id,
        position: prompt.position,
        name: prompt.name.clone(),
        input: String::new(),
        output: String::new(),
        ai_model_id: None,
        model: None,
        usage: Usage::default(),
        cost: Decimal("0".to_owned()),
        duration: Duration::ZERO,
        status: Status::Skipped,
        error: Some(reason.to_owned()),
        citations: Vec::new(),
    }
}

async fn run_prompt(
    services: &Services<'_>,
    chain: &ChainRun<'_>,
    prompt: &ChainPrompt,
    values: &HashMap<String, String>,
) -> PromptResult {
    let started = Instant::now();
    let mut result = skipped(prompt, "");
    result.error = None;
    let progress = services.progress;
    progress
        .event(
            "prompt-start",
            json!({"position": prompt.position, "name": prompt.name}),
        )
        .await;
    let fail = |mut result: PromptResult, error: String| {
        result.status = Status::Failed;
        result.error = Some(error);
        result.duration = started.elapsed();
        result
    };
    let input = match template::render(&prompt.content, values) {
        Ok(input) => input,
        Err(missing) => {
            return fail(result, format!("unknown variables: {}", missing.join(", ")));
        }
    };
    result.input = input.clone();
    let speaker = match services.models.speaker(chain.caller, &prompt.model).await {
        Ok(speaker) => speaker,
        Err(error) => return fail(result, error.message),
    };
    result.ai_model_id = Some(speaker.ai_model_id);
    result.model = Some(speaker.model_name.clone());
    let retrieved = if prompt.repository_ids.is_empty() {
        Retrieved::default()
    } else {
        match rag::retrieve(
            services.db,
            services.embedder,
            chain.caller,
            &prompt.repository_ids,
            &input,
            rag::PASSAGE_TOKEN_BUDGET,
        )
        .await
        {
            Ok(retrieved) => {
                progress
                    .event(
                        "knowledge-retrieved",
                        json!({"position": prompt.position, "citations": retrieved.citations}),
                    )
                    .await;
                retrieved
            }
            Err(error) => {
                return fail(
                    result,
                    format!("knowledge search failed: {}", error.message),
                );
            }
        }
    };
    result.citations = retrieved.citations.clone();
    let mut context: Vec<String> = speaker.system.iter().cloned().collect();
    context.extend(prompt.system_context.iter().cloned());
    for tool in &prompt.enabled_tools {
        let tool_input = match tool.as_str() {
            "fetch_page" => match input.split_whitespace().find(|w| w.starts_with("http")) {
                Some(url) => json!({"url": url.trim_end_matches(['.', ',', ')'])}),
                None => continue,
            },
            _ => json!({"query": input.chars().take(400).collect::<String>()}),
        };
        let called = services.tools.call(tool, tool_input.clone()).await;
        progress
            .event(
                "tool-call",
                json!({"position": prompt.position, "tool": tool, "input": tool_input,
                       "ok": called.is_ok(), "error": called.as_ref().err()}),
            )
            .await;
        match called {
            Ok(output) => {
                let text: String = output.to_string().chars().take(MAX_TOOL_CHARS).collect();
                context.push(format!("Results of the {tool} tool:\n{text}"));
            }
            Err(error) => return fail(result, format!("the {tool} tool failed: {error}")),
        }
    }
    let system = (!context.is_empty()).then(|| context.join("\n\n"));
    let request = ChatRequest {
        model: speaker.model_name.clone(),
        system: retrieved.system_prompt(system.as_deref()),
        messages: vec![ChatMessage::user(input)],
        max_output_tokens: speaker.max_output_tokens,
        temperature: None,
        reasoning_effort: None,
    };
    // The runner needs the whole answer, not the stream parts.
    let (sink, mut drain) = mpsc::channel(64);
    let drained = tokio::spawn(async move { while drain.recv().await.is_some() {} });
    let called =
        tokio::time::timeout(prompt.timeout, relay(&speaker.model, request, "p", &sink)).await;
    drop(sink);
    let _ = drained.await;
    let relayed = match called {
        Ok(relayed) => relayed,
        Err(_) => {
            return fail(
                result,
                format!("no answer within {} s", prompt.timeout.as_secs()),
            );
        }
    };
    result.usage = relayed.usage;
    match services
        .ledger
        .record(
            "assistant",
            chain.caller,
            chain.team_id,
            &speaker,
            &relayed,
            chain.request_id,
        )
        .await
    {
        Ok(cost) => result.cost = cost,
        Err(error) => tracing::error!(error = %error, "Usage could not be recorded"),
    }
    result.output = relayed.text.clone();
    if let Some(error) = relayed.error {
        return fail(result, error.to_string());
    }
    result.status = Status::Completed;
    result.duration = started.elapsed();
    result
}

#[cfg(test)]
mod tests;
