//! Google Gemini through the Generative Language API, streaming:
//! `POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`.
//!
//! Usage: Gemini's `candidatesTokenCount` excludes thinking, reported apart as
//! `thoughtsTokenCount`; the port counts reasoning inside output, so
//! `output_tokens = candidatesTokenCount + thoughtsTokenCount`. Each chunk repeats a
//! running `usageMetadata`: the last one is the total.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::AppError;
use crate::ports::chat::{
    ChatEvent, ChatModel, ChatRequest, ChatStream, FinishReason, ProviderError, ProviderSettings,
    ReasoningEffort, Role, Usage,
};
use crate::providers::http::{self, Decoder, Step};

pub const GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com";

pub struct GeminiChat {
    base: Url,
    api_key: String,
    timeout: Duration,
}

impl std::fmt::Debug for GeminiChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiChat")
            .field("base", &self.base.as_str())
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl GeminiChat {
    /// `base_url` defaults to Google's; the API key is required.
    pub fn new(settings: &ProviderSettings) -> Result<Self, AppError> {
        let base = settings.base_url.as_deref().unwrap_or(GEMINI_BASE_URL);
        let trimmed = base.trim_end_matches('/');
        let trimmed = trimmed.strip_suffix("/v1beta").unwrap_or(trimmed);
        let base = Url::parse(trimmed)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| AppError::validation(format!("{base:?} is not an http(s) URL")))?;
        let api_key = settings
            .api_key
            .clone()
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| AppError::validation("the gemini provider needs an API key"))?;
        Ok(Self {
            base,
            api_key,
            timeout: settings.timeout.unwrap_or(http::DEFAULT_TIMEOUT),
        })
    }

    fn url(&self, model: &str) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend([
                "v1beta",
                "models",
                &format!("{model}:streamGenerateContent"),
            ]);
        }
        url.query_pairs_mut().append_pair("alt", "sse");
        url
    }

    fn body(request: &ChatRequest) -> Value {
        let contents: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::User => "user",
                    Role::Assistant => "model",
                };
                json!({ "role": role, "parts": [{ "text": m.content }] })
            })
            .collect();
        let mut config = json!({});
        if let Some(max) = request.max_output_tokens {
            config["maxOutputTokens"] = json!(max);
        }
        if let Some(temperature) = request.temperature {
            config["temperature"] = json!(temperature);
        }
        if let Some(effort) = request.reasoning_effort {
            config["thinkingConfig"] = json!({
                "includeThoughts": true,
                "thinkingBudget": match effort {
                    ReasoningEffort::Low => 1024,
                    ReasoningEffort::Medium => 8192,
                    ReasoningEffort::High => 24576,
                },
            });
        }
        let mut body = json!({ "contents": contents, "generationConfig": config });
        if let Some(system) = &request.system {
            body["systemInstruction"] = json!({ "parts": [{ "text": system }] });
        }
        body
    }
}

#[async_trait]
impl ChatModel for GeminiChat {
    fn provider(&self) -> &str {
        "gemini"
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ProviderError> {
        let call = http::client()
            .post(self.url(&request.model))
            .header("x-goog-api-key", &self.api_key)
            .json(&Self::body(&request));
        let response = http::send(call, self.timeout).await.map_err(invalid_key)?;
        Ok(http::sse_stream(
            response,
            ChunkDecoder::default(),
            self.timeout,
        ))
    }
}

/// Gemini answers a bad key with 400 `API_KEY_INVALID`: that is a credentials problem.
fn invalid_key(error: ProviderError) -> ProviderError {
    match error {
        ProviderError::Rejected { message } if message.contains("API key") => {
            ProviderError::Unauthorized { message }
        }
        other => other,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk {
    #[serde(default)]
    candidates: Vec<Candidate>,
    usage_metadata: Option<UsageMetadata>,
    prompt_feedback: Option<PromptFeedback>,
    error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    text: Option<String>,
    #[serde(default)]
    thought: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
}

impl From<UsageMetadata> for Usage {
    fn from(u: UsageMetadata) -> Self {
        Self {
            input_tokens: u.prompt_token_count,
            output_tokens: u.candidates_token_count + u.thoughts_token_count,
            cached_input_tokens: u.cached_content_token_count,
            reasoning_tokens: u.thoughts_token_count,
        }
    }
}

fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" => FinishReason::Error,
        _ => FinishReason::Other,
    }
}

/// Gemini sends no end marker: the connection closes after the chunk with `finishReason`.
#[derive(Default)]
struct ChunkDecoder {
    usage: Option<Usage>,
    finish: Option<FinishReason>,
}

impl Decoder for ChunkDecoder {
    fn data(&mut self, data: &str) -> Result<Step, ProviderError> {
        let chunk: Chunk = http::parse_json("Gemini", data)?;
        if let Some(error) = chunk.error {
            let message = http::error_message(&json!({ "error": error }).to_string())
                .unwrap_or_else(|| "the provider reported an error".to_owned());
            return Err(ProviderError::Stream { message });
        }
        if let Some(usage) = chunk.usage_metadata {
            self.usage = Some(usage.into());
        }
        if chunk.prompt_feedback.and_then(|f| f.block_reason).is_some() {
            self.finish = Some(FinishReason::ContentFilter);
        }
        let mut events = Vec::new();
        if let Some(candidate) = chunk.candidates.into_iter().next() {
            for part in candidate.content.into_iter().flat_map(|c| c.parts) {
                match part.text.filter(|t| !t.is_empty()) {
                    Some(text) if part.thought => events.push(ChatEvent::ReasoningDelta(text)),
                    Some(text) => events.push(ChatEvent::TextDelta(text)),
                    None => {}
                }
            }
            if let Some(reason) = candidate.finish_reason {
                self.finish = Some(finish_reason(&reason));
            }
        }
        Ok(Step::Continue(events))
    }

    fn end(&mut self) -> Result<Vec<ChatEvent>, ProviderError> {
        let finish = self.finish.ok_or_else(|| ProviderError::Stream {
            message: "the stream ended before the answer was complete".to_owned(),
        })?;
        let mut events: Vec<ChatEvent> = self
            .usage
            .take()
            .map(ChatEvent::Usage)
            .into_iter()
            .collect();
        events.push(ChatEvent::Finish(finish));
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::chat::ChatMessage;

    #[test]
    fn thoughts_stream_as_reasoning_and_the_last_usage_counts() {
        let mut decoder = ChunkDecoder::default();
        let mut events = Vec::new();
        for data in [
            r#"{"candidates":[{"content":{"parts":[{"text":"Let me think.","thought":true}],"role":"model"},"index":0}],
                "usageMetadata":{"promptTokenCount":40,"totalTokenCount":40}}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"Paris"}],"role":"model"},"index":0}],
                "usageMetadata":{"promptTokenCount":40,"totalTokenCount":40}}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"."}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],
                "usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":9,"cachedContentTokenCount":16,
                "thoughtsTokenCount":21,"totalTokenCount":70}}"#,
        ] {
            if let Ok(Step::Continue(more)) = decoder.data(data) {
                events.extend(more);
            }
        }
        events.extend(decoder.end().unwrap());
        assert_eq!(
            events,
            vec![
                ChatEvent::ReasoningDelta("Let me think.".into()),
                ChatEvent::TextDelta("Paris".into()),
                ChatEvent::TextDelta(".".into()),
                ChatEvent::Usage(Usage {
                    input_tokens: 40,
                    output_tokens: 30,
                    cached_input_tokens: 16,
                    reasoning_tokens: 21,
                }),
                ChatEvent::Finish(FinishReason::Length),
            ]
        );
    }

    #[test]
    fn a_stream_without_finish_reason_was_cut_off() {
        let mut decoder = ChunkDecoder::default();
        let _ = decoder.data(r#"{"candidates":[{"content":{"parts":[{"text":"Par"}]}}]}"#);
        assert!(matches!(decoder.end(), Err(ProviderError::Stream { .. })));
        assert_eq!(finish_reason("SAFETY"), FinishReason::ContentFilter);
        assert_eq!(finish_reason("STOP"), FinishReason::Stop);
    }

    #[test]
    fn the_request_carries_system_instruction_roles_and_thinking() {
        let body = GeminiChat::body(&ChatRequest {
            model: "gemini-2.5-flash".into(),
            system: Some("Be brief.".into()),
            messages: vec![
                ChatMessage::user("Hi"),
                ChatMessage::assistant("Hello"),
                ChatMessage::user("Capital of France?"),
            ],
            max_output_tokens: Some(256),
            temperature: Some(0.5),
            reasoning_effort: Some(ReasoningEffort::Low),
        });
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "Be brief.");
        assert_eq!(body["contents"][1]["role"], "model");
        assert_eq!(
            body["contents"][2]["parts"][0]["text"],
            "Capital of France?"
        );
        assert_eq!(body["generationConfig"]["maxOutputTokens"], 256);
        assert_eq!(
            body["generationConfig"]["thinkingConfig"]["includeThoughts"],
            true
        );
        assert_eq!(
            body["generationConfig"]["thinkingConfig"]["thinkingBudget"],
            1024
        );
        let gemini = GeminiChat::new(&ProviderSettings {
            api_key: Some("k".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            gemini.url("gemini-2.0-flash").as_str(),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
        );
    }
}
