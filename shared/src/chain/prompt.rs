//! One prompt of a chain: its template rendered, its model resolved, knowledge and tools
//! gathered into its context, the model called within the prompt's timeout (cut to what
//! the invocation has left when the chain runner says so), usage recorded.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::mpsc;

use super::{ChainPrompt, ChainRun, MAX_TOOL_CHARS, PromptResult, Services, Status, template};
use crate::chat::rag::{self, Retrieved};
use crate::chat::relay::relay;
use crate::data_api::Decimal;
use crate::ports::chat::{ChatMessage, ChatRequest, Usage};

pub(super) fn skipped(prompt: &ChainPrompt, reason: &str) -> PromptResult {
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

/// Runs one prompt. `cut`: a time shorter than the prompt's timeout that the model call
/// must fit in (the rest of an executor invocation); a prompt that runs out of it fails
/// saying its timeout was cut.
pub(super) async fn run_prompt(
    services: &Services<'_>,
    chain: &ChainRun<'_>,
    prompt: &ChainPrompt,
    values: &HashMap<String, String>,
    cut: Option<Duration>,
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
    let limit = cut.map_or(prompt.timeout, |cut| cut.min(prompt.timeout));
    // The runner needs the whole answer, not the stream parts.
    let (sink, mut drain) = mpsc::channel(64);
    let drained = tokio::spawn(async move { while drain.recv().await.is_some() {} });
    let called = tokio::time::timeout(limit, relay(&speaker.model, request, "p", &sink)).await;
    drop(sink);
    let _ = drained.await;
    let relayed = match called {
        Ok(relayed) => relayed,
        Err(_) => {
            return fail(
                result,
                if limit < prompt.timeout {
                    format!(
                        "no answer within {} s (its timeout of {} s was cut to what one run of the executor has left)",
                        limit.as_secs(),
                        prompt.timeout.as_secs()
                    )
                } else {
                    format!("no answer within {} s", prompt.timeout.as_secs())
                },
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
