//! `POST /v1/chat/completions`: the studio as a governed OpenAI-compatible gateway. Same
//! access checks, ledger and optional `repositoryIds` as chat; OpenAI's request and
//! response shapes (streamed `chat.completion.chunk`s or one `chat.completion`).

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::rag::{self, Retrieved};
use super::relay::relay;
use super::service::{Ledger, Models, Speaker};
use super::ui_stream::UiChunk;
use crate::auth::Caller;
use crate::data_api::DataApi;
use crate::error::{AppError, ErrorCode};
use crate::ports::chat::{ChatMessage, ChatRequest, FinishReason, ReasoningEffort, Role, Usage};
use crate::ports::embed::Embedder;

#[derive(Debug, Clone, Deserialize)]
pub struct CompletionBody {
    pub model: String,
    pub messages: Vec<OpenAiMessage>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// The studio's extension: repositories to ground the answer in.
    #[serde(default, rename = "repositoryIds")]
    pub repository_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OpenAiMessage {
    pub role: String,
    #[serde(default)]
    pub content: Value,
}

impl OpenAiMessage {
    fn text(&self) -> String {
        match &self.content {
            Value::String(text) => text.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        }
    }
}

pub struct PreparedCompletion {
    pub caller: Caller,
    pub team_id: Uuid,
    pub speaker: Speaker,
    pub request: ChatRequest,
    pub stream: bool,
    pub include_usage: bool,
    pub request_id: String,
}

pub async fn prepare(
    db: &DataApi,
    models: &dyn Models,
    embedder: &dyn Embedder,
    caller: Caller,
    body: &[u8],
    request_id: String,
) -> Result<PreparedCompletion, AppError> {
    let body: CompletionBody = serde_json::from_slice(body)
        .map_err(|e| AppError::validation(format!("The completion request is not valid: {e}")))?;
    let mut system = Vec::new();
    let mut messages = Vec::new();
    let mut size = 0;
    for message in &body.messages {
        let text = message.text();
        size += text.chars().count();
        match message.role.as_str() {
            "system" | "developer" => system.push(text),
            "user" => messages.push(ChatMessage::user(text)),
            "assistant" => messages.push(ChatMessage::assistant(text)),
            other => {
                return Err(AppError::validation(format!(
                    "messages[].role {other:?} is not supported here (system, developer, user, assistant)"
                )));
            }
        }
    }
    if size > super::request::MAX_PROMPT_CHARS {
        return Err(AppError::new(
            ErrorCode::TooLarge,
            format!(
                "The messages are {size} characters long; at most {} go to a model",
                super::request::MAX_PROMPT_CHARS
            ),
        ));
    }
    let Some(question) = messages
        .last()
        .filter(|m| m.role == Role::User)
        .map(|m| m.content.clone())
    else {
        return Err(AppError::validation("The last message must be the user's"));
    };
    let speaker = models.speaker(&caller, &body.model).await?;
    let retrieved: Retrieved = rag::retrieve(
        db,
        embedder,
        &caller,
        &body.repository_ids,
        &question,
        rag::PASSAGE_TOKEN_BUDGET,
    )
    .await?;
    let client_system = (!system.is_empty()).then(|| system.join("\n\n"));
    let system = match (&speaker.system, client_system) {
        (Some(ours), Some(theirs)) => Some(format!("{ours}\n\n{theirs}")),
        (ours, theirs) => ours.clone().or(theirs),
    };
    let request = ChatRequest {
        model: speaker.model_name.clone(),
        system: retrieved.system_prompt(system.as_deref()),
        messages,
        max_output_tokens: body
            .max_completion_tokens
            .or(body.max_tokens)
            .or(speaker.max_output_tokens),
        temperature: body.temperature,
        reasoning_effort: body.reasoning_effort,
    };
    Ok(PreparedCompletion {
        team_id: caller.default_team()?,
        caller,
        speaker,
        request,
        stream: body.stream,
        include_usage: body.stream_options.is_some_and(|o| o.include_usage),
        request_id,
    })
}

/// Runs the completion, sending text deltas, errors and a finish carrying the usage.
pub async fn run(ledger: &dyn Ledger, completion: PreparedCompletion, out: mpsc::Sender<UiChunk>) {
    let relayed = relay(
        &completion.speaker.model,
        completion.request.clone(),
        "c",
        &out,
    )
    .await;
    if let Some(error) = &relayed.error {
        let _ = out
            .send(UiChunk::Error {
                error_text: error.to_string(),
            })
            .await;
    }
    if let Err(error) = ledger
        .record(
            "openai_compat",
            &completion.caller,
            completion.team_id,
            &completion.speaker,
            &relayed,
            &completion.request_id,
        )
        .await
    {
        tracing::error!(error = %error, "Usage could not be recorded");
    }
    let _ = out
        .send(UiChunk::finish(
            relayed.finish,
            Some(json!({ "usage": relayed.usage })),
        ))
        .await;
}

fn finish_reason(reason: &str) -> &'static str {
    match reason {
        "length" => "length",
        "content-filter" => "content_filter",
        "tool-calls" => "tool_calls",
        _ => "stop",
    }
}

fn usage_json(usage: &Usage) -> Value {
    json!({
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    })
}

/// Encodes the run's chunks as OpenAI's streamed `chat.completion.chunk` frames.
pub struct ChunkEncoder {
    id: String,
    model: String,
    created: i64,
    include_usage: bool,
    started: bool,
}

impl ChunkEncoder {
    pub fn new(model: &str, include_usage: bool) -> Self {
        Self {
            id: format!("chatcmpl-{}", Uuid::new_v4().simple()),
            model: model.to_owned(),
            created: chrono::Utc::now().timestamp(),
            include_usage,
            started: false,
        }
    }

    fn frame(&self, choices: Value, usage: Option<Value>) -> String {
        let mut chunk = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "choices": choices,
        });
        if let Some(usage) = usage {
            chunk["usage"] = usage;
        }
        format!("data: {chunk}\n\n")
    }

    pub fn encode(&mut self, chunk: UiChunk) -> Option<String> {
        match chunk {
            UiChunk::TextDelta { delta, .. } => {
                let mut message = json!({ "content": delta });
                if !self.started {
                    self.started = true;
                    message["role"] = json!("assistant");
                }
                Some(self.frame(
                    json!([{"index": 0, "delta": message, "finish_reason": null}]),
                    None,
                ))
            }
            UiChunk::Finish {
                finish_reason: reason,
                message_metadata,
            } => {
                let mut frames = self.frame(
                    json!([{"index": 0, "delta": {}, "finish_reason": finish_reason(reason)}]),
                    None,
                );
                if self.include_usage {
                    let usage: Usage = message_metadata
                        .and_then(|m| serde_json::from_value(m["usage"].clone()).ok())
                        .unwrap_or_default();
                    frames.push_str(&self.frame(json!([]), Some(usage_json(&usage))));
                }
                Some(frames)
            }
            UiChunk::Error { error_text } => Some(format!(
                "data: {}\n\n",
                json!({"error": {"message": error_text, "type": "provider_error"}})
            )),
            _ => None,
        }
    }
}

/// Gathers the run's chunks into one `chat.completion`, or the provider's error.
pub async fn collect(model: &str, mut chunks: mpsc::Receiver<UiChunk>) -> Result<Value, AppError> {
    let (mut text, mut usage, mut reason, mut error) =
        (String::new(), Usage::default(), "stop", None);
    while let Some(chunk) = chunks.recv().await {
        match chunk {
            UiChunk::TextDelta { delta, .. } => text.push_str(&delta),
            UiChunk::Error { error_text } => error = Some(error_text),
            UiChunk::Finish {
                finish_reason: r,
                message_metadata,
            } => {
                reason = finish_reason(r);
                if let Some(u) =
                    message_metadata.and_then(|m| serde_json::from_value(m["usage"].clone()).ok())
                {
                    usage = u;
                }
                if r == FinishReason::Error.as_str() && error.is_none() {
                    error = Some("the model failed".to_owned());
                }
            }
            _ => {}
        }
    }
    if let Some(error) = error
        && text.is_empty()
    {
        return Err(AppError::new(ErrorCode::ProviderError, error));
    }
    Ok(json!({
        "id": format!("chatcmpl-{}", Uuid::new_v4().simple()),
        "object": "chat.completion",
        "created": chrono::Utc::now().timestamp(),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": reason}],
        "usage": usage_json(&usage),
    }))
}
