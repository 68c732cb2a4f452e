//! The chat-model port: one streaming interface every provider adapter implements
//! (OpenAI, Azure OpenAI, OpenAI-compatible servers, Bedrock ConverseStream, Gemini, the
//! offline answerer), and the request, event and usage types chat, compare and assistant
//! chains share.

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

/// Who said a message. The system prompt travels apart, in [`ChatRequest::system`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    Low,
    Medium,
    High,
}

/// One model call. `model` is the provider's own model id (`gpt-4o-mini`,
/// `anthropic.claude-3-haiku-20240307-v1:0`, `gemini-2.0-flash`...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub system: Option<String>,
    pub messages: Vec<ChatMessage>,
    pub max_output_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub reasoning_effort: Option<ReasoningEffort>,
}

/// Token counts as the provider reported them, read from each provider's own fields.
/// `input_tokens` includes cached input; `output_tokens` includes reasoning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    pub reasoning_tokens: u64,
}

impl Usage {
    /// Adds another report (providers may send usage in several events).
    pub fn add(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinishReason {
    Stop,
    Length,
    ContentFilter,
    ToolCalls,
    Error,
    Other,
}

impl FinishReason {
    /// The name stored in `messages.finish_reason` and sent in the UI message stream.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::ContentFilter => "content-filter",
            Self::ToolCalls => "tool-calls",
            Self::Error => "error",
            Self::Other => "other",
        }
    }
}

/// What a streaming model call yields, in order: deltas, then usage (once or more), then
/// one `Finish`. A stream that ends without `Finish` was cut off.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    TextDelta(String),
    ReasoningDelta(String),
    Usage(Usage),
    Finish(FinishReason),
}

/// Why a provider call failed. Before the first event, a retryable error lets the caller
/// fall back to another model; after it, the stream ends with an error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider is rate limiting requests: {message}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("the provider failed ({status}): {message}")]
    Unavailable { status: u16, message: String },
    #[error("the provider refused the credentials: {message}")]
    Unauthorized { message: String },
    #[error("the provider refused the request: {message}")]
    Rejected { message: String },
    #[error("the provider's stream broke: {message}")]
    Stream { message: String },
    #[error("the provider did not answer within {0:?}")]
    Timeout(Duration),
    /// Our own circuit breaker refused the call without reaching the provider.
    #[error("calls to {provider} are paused after repeated failures")]
    CircuitOpen { provider: String },
}

impl ProviderError {
    /// Whether another attempt (or another model) might succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Unavailable { .. }
                | Self::Stream { .. }
                | Self::Timeout(_)
                | Self::CircuitOpen { .. }
        )
    }
}

pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatEvent, ProviderError>> + Send>>;

/// A streaming chat model. `stream` returns once the provider accepted the request (its
/// response headers arrived); errors before that are returned, errors after it arrive as
/// the stream's last item.
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// The provider's name as `ai_models.provider` spells it (`openai`, `bedrock`...).
    fn provider(&self) -> &str;
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ProviderError>;
}

/// How to reach one provider, resolved by the executor configurator from settings (DB
/// first, environment fallback) and handed to the adapter that builds the model.
#[derive(Clone, Default, PartialEq)]
pub struct ProviderSettings {
    /// Base URL of the API (OpenAI-compatible servers, Azure endpoint, Gemini, mocks).
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    /// Azure OpenAI `api-version`.
    pub api_version: Option<String>,
    /// AWS region (Bedrock).
    pub region: Option<String>,
    /// How long to wait for the provider to accept a request (first byte), and at most
    /// between two reads of its stream; [`crate::providers::DEFAULT_TIMEOUT`] when unset.
    pub timeout: Option<Duration>,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_version", &self.api_version)
            .field("region", &self.region)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A whole answer, for callers that do not stream (assistant chains, non-streaming
/// `/v1/chat/completions`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub text: String,
    pub reasoning: String,
    pub usage: Usage,
    pub finish_reason: Option<FinishReason>,
}

/// Runs `request` and gathers the stream into one [`Completion`].
pub async fn complete(
    model: &dyn ChatModel,
    request: ChatRequest,
) -> Result<Completion, ProviderError> {
    let mut stream = model.stream(request).await?;
    let mut done = Completion::default();
    while let Some(event) = stream.next().await {
        match event? {
            ChatEvent::TextDelta(text) => done.text.push_str(&text),
            ChatEvent::ReasoningDelta(text) => done.reasoning.push_str(&text),
            ChatEvent::Usage(usage) => done.usage.add(usage),
            ChatEvent::Finish(reason) => done.finish_reason = Some(reason),
        }
    }
    Ok(done)
}
