//! The assistant chain runner: prompts run by position, a parallel group's prompts at
//! once; `{{variables}}` come from the inputs and earlier outputs; each prompt may search
//! repositories and call the tools it enables; every step is reported as an event and
//! every prompt's input, output, model, usage, cost, duration and status are recorded. A
//! failing prompt stops the prompts that depend on it; what finished stays. A run may
//! span invocations ([`run_from`]): it resumes from the results stored so far and pauses
//! before a stage that does not fit in what its invocation has left.

mod budget;
pub mod execute;
pub mod lease;
mod prompt;
pub mod scheduled;
mod start;
pub mod store;
mod sweep;
pub mod template;

pub use budget::Budget;
pub use start::start_manual;
pub use sweep::Swept;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::auth::Caller;
use crate::chat::service::{Ledger, Models};
use crate::chat::ui_stream::Citation;
use crate::data_api::{DataApi, Decimal};
use crate::ports::chat::Usage;
use crate::ports::embed::Embedder;
use prompt::{run_prompt, skipped};

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
    /// How long the model may take. A timeout longer than what one executor invocation
    /// has left is cut to fit (see [`run_from`]): a prompt always runs within one
    /// invocation, and its error says so when the cut timeout runs out.
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

/// A prompt cut to fit gets at least this long.
const MIN_CUT: Duration = Duration::from_secs(1);

/// What one invocation's share of a run came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Every prompt has its result.
    Finished(ChainOutcome),
    /// The next stage does not fit in what the invocation has left: the run continues in
    /// another invocation, from the results stored so far.
    Paused { done: usize },
}

/// Runs the chain to its end and returns every prompt's result.
pub async fn run(services: &Services<'_>, chain: &ChainRun<'_>) -> ChainOutcome {
    let (results, _) = run_stages(services, chain, Vec::new(), None).await;
    finish(services, chain, results).await
}

/// Runs the prompts that have no result in `done` (results stored by earlier invocations),
/// stage by stage, while they fit in `budget`. A stage whose longest timeout does not fit
/// in what is left pauses the run, unless it is the first this invocation runs: then its
/// prompts run with their timeouts cut to what is left (a prompt whose timeout could never
/// fit in one invocation would otherwise never run), so every invocation makes progress.
pub async fn run_from(
    services: &Services<'_>,
    chain: &ChainRun<'_>,
    done: Vec<PromptResult>,
    budget: &Budget,
) -> Step {
    let (results, paused) = run_stages(services, chain, done, Some(budget)).await;
    if paused {
        services
            .progress
            .event(
                "execution-paused",
                json!({"executionId": chain.execution_id, "done": results.len(),
                       "reason": "the next prompts do not fit in this invocation; the run continues in another"}),
            )
            .await;
        return Step::Paused {
            done: results.len(),
        };
    }
    Step::Finished(finish(services, chain, results).await)
}

/// The results, and whether the run paused before its end.
async fn run_stages(
    services: &Services<'_>,
    chain: &ChainRun<'_>,
    done: Vec<PromptResult>,
    budget: Option<&Budget>,
) -> (Vec<PromptResult>, bool) {
    let progress = services.progress;
    let (kind, data) = if done.is_empty() {
        (
            "execution-start",
            json!({"executionId": chain.execution_id, "prompts": chain.prompts.len()}),
        )
    } else {
        (
            "execution-resume",
            json!({"executionId": chain.execution_id, "prompts": chain.prompts.len(), "done": done.len()}),
        )
    };
    progress.event(kind, data).await;
    let mut values: HashMap<String, String> = chain
        .inputs
        .iter()
        .map(|(k, v)| (k.clone(), input_text(v)))
        .collect();
    // Names of prompts (and their `prompt_N` aliases) that did not complete.
    let mut broken: Vec<String> = Vec::new();
    let order = stages(chain.prompts);
    let mut ordinal = HashMap::new();
    for (n, index) in order.iter().flatten().enumerate() {
        ordinal.insert(*index, n + 1);
    }
    let note = |result: &PromptResult,
                index: usize,
                values: &mut HashMap<String, String>,
                broken: &mut Vec<String>| {
        let alias = format!("prompt_{}", ordinal[&index]);
        if result.status == Status::Completed {
            values.insert(alias, result.output.clone());
            values.insert(result.name.clone(), result.output.clone());
        } else {
            broken.push(alias);
            broken.push(result.name.clone());
        }
    };
    let mut results: Vec<PromptResult> = Vec::new();
    for result in done {
        if let Some(index) = chain
            .prompts
            .iter()
            .position(|p| p.position == result.position)
        {
            note(&result, index, &mut values, &mut broken);
            results.push(result);
        }
    }
    let mut ran = 0;
    for stage in order {
        let todo: Vec<(usize, bool)> = stage
            .iter()
            .filter(|&&i| {
                !results
                    .iter()
                    .any(|r| r.position == chain.prompts[i].position)
            })
            .map(|&index| {
                let depends_on_broken = template::references(&chain.prompts[index].content)
                    .iter()
                    .any(|r| broken.iter().any(|b| b == template::key(r)));
                (index, depends_on_broken)
            })
            .collect();
        let need = todo
            .iter()
            .filter(|(_, skip)| !skip)
            .map(|&(i, _)| chain.prompts[i].timeout)
            .max();
        let mut cut = None;
        if let (Some(budget), Some(need)) = (budget, need) {
            let left = budget.left();
            if need > left {
                if ran > 0 {
                    return (results, true);
                }
                cut = Some(left.max(MIN_CUT));
            }
        }
        let runs = todo.iter().map(|&(index, depends_on_broken)| {
            let prompt = &chain.prompts[index];
            let values = &values;
            async move {
                if depends_on_broken {
                    return skipped(prompt, "an earlier prompt it uses did not complete");
                }
                run_prompt(services, chain, prompt, values, cut).await
            }
        });
        let finished = futures_util::future::join_all(runs).await;
        ran += todo.len();
        for (result, &(index, _)) in finished.into_iter().zip(&todo) {
            note(&result, index, &mut values, &mut broken);
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
    (results, false)
}

/// The outcome of a run whose every prompt has its result; reported as the last event.
async fn finish(
    services: &Services<'_>,
    chain: &ChainRun<'_>,
    mut results: Vec<PromptResult>,
) -> ChainOutcome {
    results.sort_by_key(|r| r.position);
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
    services
        .progress
        .event(
            kind,
            json!({"executionId": chain.execution_id, "error": outcome.error, "usage": outcome.usage}),
        )
        .await;
    outcome
}

#[cfg(test)]
mod tests;
