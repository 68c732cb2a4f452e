//! Amazon Bedrock chat through ConverseStream: one request shape for every Bedrock model,
//! its event stream mapped onto [`ChatEvent`]s, its errors onto [`ProviderError`]s.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::types::{
    self as bedrock_types, ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput,
    InferenceConfiguration, ReasoningContentBlockDelta, StopReason, SystemContentBlock,
};
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::{Document, Number};
use futures_util::stream;
use serde_json::{Value, json};

use super::runtime::{self as bedrock, Failure};
use crate::ports::chat::{
    ChatEvent, ChatModel, ChatRequest, ChatStream, FinishReason, ProviderError, ProviderSettings,
    ReasoningEffort, Role, Usage,
};

type Receiver = aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver<
    ConverseStreamOutput,
    bedrock_types::error::ConverseStreamOutputError,
>;

/// Claude needs room for the answer beyond the thinking budget.
const ANSWER_ROOM: i32 = 4096;

pub struct BedrockChat {
    client: aws_sdk_bedrockruntime::Client,
    /// How long to wait for Bedrock to accept the request (its response headers).
    timeout: Option<Duration>,
}

impl std::fmt::Debug for BedrockChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BedrockChat")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl BedrockChat {
    /// A client for the region and endpoint of `settings`, with the ambient AWS
    /// credentials (the function's role on Lambda).
    pub async fn from_settings(settings: &ProviderSettings) -> Self {
        let sdk = bedrock::sdk_config(settings).await;
        Self::new(&sdk, settings.base_url.as_deref(), settings.timeout)
    }

    /// A client from an SDK configuration, `endpoint` overriding its URL.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        endpoint: Option<&str>,
        timeout: Option<Duration>,
    ) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(bedrock::CONNECT_TIMEOUT)
            .build();
        Self {
            client: bedrock::runtime_client(sdk, endpoint, timeouts),
            timeout,
        }
    }
}

#[async_trait]
impl ChatModel for BedrockChat {
    fn provider(&self) -> &str {
        "bedrock"
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ProviderError> {
        let messages = request
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::User => ConversationRole::User,
                    Role::Assistant => ConversationRole::Assistant,
                };
                bedrock_types::Message::builder()
                    .role(role)
                    .content(ContentBlock::Text(m.content.clone()))
                    .build()
                    .map_err(|e| ProviderError::Rejected {
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let reasoning = request
            .reasoning_effort
            .and_then(|effort| reasoning_fields(&request.model, effort));
        let thinking_budget = reasoning
            .as_ref()
            .and_then(|r| r["thinking"]["budget_tokens"].as_i64())
            .and_then(|b| i32::try_from(b).ok());
        let mut inference = InferenceConfiguration::builder();
        let max_tokens = request
            .max_output_tokens
            .map(|m| i32::try_from(m).unwrap_or(i32::MAX));
        inference = match (max_tokens, thinking_budget) {
            (requested, Some(budget)) => inference.max_tokens(
                requested
                    .unwrap_or(0)
                    .max(budget.saturating_add(ANSWER_ROOM)),
            ),
            (Some(requested), None) => inference.max_tokens(requested),
            (None, None) => inference,
        };
        // Claude refuses a temperature other than 1 while thinking.
        if thinking_budget.is_none()
            && let Some(temperature) = request.temperature
        {
            inference = inference.temperature(temperature);
        }
        let mut call = self
            .client
            .converse_stream()
            .model_id(&request.model)
            .set_messages(Some(messages))
            .inference_config(inference.build());
        if let Some(system) = request.system.filter(|s| !s.trim().is_empty()) {
            call = call.system(SystemContentBlock::Text(system));
        }
        if let Some(fields) = reasoning {
            call = call.additional_model_request_fields(document(fields));
        }
        let sent = match self.timeout {
            Some(limit) => tokio::time::timeout(limit, call.send())
                .await
                .map_err(|_| ProviderError::Timeout(limit))?,
            None => call.send().await,
        };
        let output = sent.map_err(|error| {
            let classified = bedrock::classify(&error);
            let message = classified.message;
            match classified.failure {
                Failure::Throttled => ProviderError::RateLimited {
                    retry_after: None,
                    message,
                },
                // No HTTP status means Bedrock was not reached: a gateway would say 502.
                Failure::Unavailable => ProviderError::Unavailable {
                    status: classified.status.unwrap_or(502),
                    message,
                },
                Failure::TimedOut => ProviderError::Timeout(bedrock::CONNECT_TIMEOUT),
                Failure::Unauthorized => ProviderError::Unauthorized { message },
                Failure::Rejected => ProviderError::Rejected { message },
            }
        })?;
        Ok(events(output.stream))
    }
}

/// The model's own reasoning switch, for the families that take one through
/// `additionalModelRequestFields`; other models answer without it.
fn reasoning_fields(model: &str, effort: ReasoningEffort) -> Option<Value> {
    let name = match effort {
        ReasoningEffort::Low => "low",
        ReasoningEffort::Medium => "medium",
        ReasoningEffort::High => "high",
    };
    if model.contains("anthropic.claude") {
        let budget = match effort {
            ReasoningEffort::Low => 1024,
            ReasoningEffort::Medium => 4096,
            ReasoningEffort::High => 16384,
        };
        Some(json!({ "thinking": { "type": "enabled", "budget_tokens": budget } }))
    } else if model.contains("openai.gpt-oss") {
        Some(json!({ "reasoning_effort": name }))
    } else if model.contains("amazon.nova-2") {
        Some(json!({ "reasoningConfig": { "type": "enabled", "maxReasoningEffort": name } }))
    } else {
        None
    }
}

fn document(value: Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(b),
        Value::Number(n) => Document::Number(match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Number::PosInt(u),
            (None, Some(i)) => Number::NegInt(i),
            _ => Number::Float(n.as_f64().unwrap_or_default()),
        }),
        Value::String(s) => Document::String(s),
        Value::Array(items) => Document::Array(items.into_iter().map(document).collect()),
        Value::Object(map) => {
            Document::Object(map.into_iter().map(|(k, v)| (k, document(v))).collect())
        }
    }
}

fn finish_reason(reason: &StopReason) -> FinishReason {
    match reason {
        StopReason::EndTurn | StopReason::StopSequence => FinishReason::Stop,
        StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => FinishReason::Length,
        StopReason::ContentFiltered | StopReason::GuardrailIntervened => {
            FinishReason::ContentFilter
        }
        StopReason::ToolUse => FinishReason::ToolCalls,
        _ => FinishReason::Other,
    }
}

struct Reading {
    receiver: Receiver,
    /// messageStop comes before metadata; the port wants usage before `Finish`.
    finish: Option<FinishReason>,
    done: bool,
}

/// The event stream as chat events: deltas, usage, then `Finish` once the stream ends;
/// a broken or truncated stream ends with `ProviderError::Stream`.
fn events(receiver: Receiver) -> ChatStream {
    let reading = Reading {
        receiver,
        finish: None,
        done: false,
    };
    Box::pin(stream::unfold(reading, |mut r| async move {
        while !r.done {
            match r.receiver.recv().await {
                Ok(Some(event)) => {
                    if let Some(event) = chat_event(event, &mut r.finish) {
                        return Some((Ok(event), r));
                    }
                }
                Ok(None) => {
                    r.done = true;
                    return Some(match r.finish.take() {
                        Some(reason) => (Ok(ChatEvent::Finish(reason)), r),
                        None => (
                            Err(ProviderError::Stream {
                                message: "the stream ended before messageStop".to_owned(),
                            }),
                            r,
                        ),
                    });
                }
                Err(error) => {
                    r.done = true;
                    let message = match (error.code(), error.message()) {
                        (Some(code), Some(message)) => format!("{code}: {message}"),
                        _ => DisplayErrorContext(&error).to_string(),
                    };
                    return Some((Err(ProviderError::Stream { message }), r));
                }
            }
        }
        None
    }))
}

fn chat_event(event: ConverseStreamOutput, finish: &mut Option<FinishReason>) -> Option<ChatEvent> {
    match event {
        ConverseStreamOutput::ContentBlockDelta(delta) => match delta.delta? {
            ContentBlockDelta::Text(text) => Some(ChatEvent::TextDelta(text)),
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(text)) => {
                Some(ChatEvent::ReasoningDelta(text))
            }
            _ => None,
        },
        ConverseStreamOutput::MessageStop(stop) => {
            *finish = Some(finish_reason(&stop.stop_reason));
            None
        }
        ConverseStreamOutput::Metadata(metadata) => {
            let usage = metadata.usage?;
            let count = |n: i32| u64::try_from(n).unwrap_or(0);
            let cached = count(usage.cache_read_input_tokens.unwrap_or(0));
            let written = count(usage.cache_write_input_tokens.unwrap_or(0));
            // Bedrock counts cache reads and writes apart from inputTokens; the port's
            // input includes them. Reasoning is not reported apart from output.
            Some(ChatEvent::Usage(Usage {
                input_tokens: count(usage.input_tokens) + cached + written,
                output_tokens: count(usage.output_tokens),
                cached_input_tokens: cached,
                reasoning_tokens: 0,
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons_map_to_finish_reasons() {
        let cases = [
            ("end_turn", FinishReason::Stop),
            ("stop_sequence", FinishReason::Stop),
            ("max_tokens", FinishReason::Length),
            ("content_filtered", FinishReason::ContentFilter),
            ("guardrail_intervened", FinishReason::ContentFilter),
            ("tool_use", FinishReason::ToolCalls),
            ("something_new", FinishReason::Other),
        ];
        for (name, expected) in cases {
            assert_eq!(finish_reason(&StopReason::from(name)), expected, "{name}");
        }
    }

    #[test]
    fn reasoning_goes_only_to_models_that_take_it_in_their_own_words() {
        let claude = reasoning_fields(
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            ReasoningEffort::Medium,
        );
        assert_eq!(
            claude.map(|f| f["thinking"]["budget_tokens"].clone()),
            Some(json!(4096))
        );
        assert_eq!(
            reasoning_fields("openai.gpt-oss-120b-1:0", ReasoningEffort::High),
            Some(json!({ "reasoning_effort": "high" }))
        );
        assert_eq!(
            reasoning_fields("amazon.titan-text-express-v1", ReasoningEffort::Low),
            None
        );
    }
}
