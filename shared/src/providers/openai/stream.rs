//! The chat completions stream as OpenAI sends it: `data:` chunks of deltas, usage and a
//! finish reason, decoded into chat events.

use serde::Deserialize;

use serde_json::{Value, json};

use crate::ports::chat::{ChatEvent, FinishReason, ProviderError, Usage};
use crate::providers::http::{self, Decoder, Step};

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<WireUsage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
    /// vLLM, DeepSeek and most compatible servers.
    reasoning_content: Option<String>,
    /// Ollama and OpenRouter.
    reasoning: Option<String>,
}

/// The final chunk's `usage` when `stream_options.include_usage` is set.
#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    reasoning_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(usage: WireUsage) -> Self {
        Self {
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
            cached_input_tokens: usage
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            reasoning_tokens: usage
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "content_filter" => FinishReason::ContentFilter,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        _ => FinishReason::Other,
    }
}

/// Chat completion chunks -> events. The finish reason arrives before the usage chunk, so
/// both are held until `[DONE]` to keep the port's order (usage, then finish).
#[derive(Default)]
pub(super) struct ChunkDecoder {
    usage: Option<Usage>,
    finish: Option<FinishReason>,
}

impl ChunkDecoder {
    fn closing(&mut self, finish: FinishReason) -> Vec<ChatEvent> {
        let mut events: Vec<ChatEvent> = self
            .usage
            .take()
            .map(ChatEvent::Usage)
            .into_iter()
            .collect();
        events.push(ChatEvent::Finish(finish));
        events
    }
}

impl Decoder for ChunkDecoder {
    fn data(&mut self, data: &str) -> Result<Step, ProviderError> {
        if data.trim() == "[DONE]" {
            let finish = self.finish.unwrap_or(FinishReason::Stop);
            return Ok(Step::Done(self.closing(finish)));
        }
        let chunk: Chunk = http::parse_json("OpenAI", data)?;
        if let Some(error) = chunk.error {
            let message = http::error_message(&json!({ "error": error }).to_string())
                .unwrap_or_else(|| "the provider reported an error".to_owned());
            return Err(ProviderError::Stream { message });
        }
        let mut events = Vec::new();
        if let Some(choice) = chunk.choices.into_iter().next() {
            let reasoning = choice.delta.reasoning_content.or(choice.delta.reasoning);
            if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
                events.push(ChatEvent::ReasoningDelta(text));
            }
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                events.push(ChatEvent::TextDelta(text));
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(finish_reason(&reason));
            }
        }
        // Some servers repeat a running total in every chunk: the last one counts.
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into());
        }
        Ok(Step::Continue(events))
    }

    fn end(&mut self) -> Result<Vec<ChatEvent>, ProviderError> {
        match self.finish {
            Some(finish) => Ok(self.closing(finish)),
            None => Err(ProviderError::Stream {
                message: "the stream ended before the answer was complete".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(lines: &[&str]) -> (Vec<ChatEvent>, Option<ProviderError>) {
        let mut decoder = ChunkDecoder::default();
        let mut events = Vec::new();
        for line in lines {
            match decoder.data(line) {
                Ok(Step::Continue(more)) => events.extend(more),
                Ok(Step::Done(more)) => {
                    events.extend(more);
                    return (events, None);
                }
                Err(e) => return (events, Some(e)),
            }
        }
        match decoder.end() {
            Ok(more) => {
                events.extend(more);
                (events, None)
            }
            Err(e) => (events, Some(e)),
        }
    }

    #[test]
    fn usage_is_read_from_openai_field_names() {
        let (events, error) = decode(&[
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}"#,
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}"#,
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":null}"#,
            r#"{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":48,"total_tokens":168,
               "prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},
               "completion_tokens_details":{"reasoning_tokens":32,"audio_tokens":0}}}"#,
            "[DONE]",
        ]);
        assert_eq!(error, None);
        assert_eq!(
            events,
            vec![
                ChatEvent::TextDelta("Hi".into()),
                ChatEvent::Usage(Usage {
                    input_tokens: 120,
                    output_tokens: 48,
                    cached_input_tokens: 64,
                    reasoning_tokens: 32,
                }),
                ChatEvent::Finish(FinishReason::Length),
            ]
        );
    }

    #[test]
    fn both_reasoning_field_names_become_reasoning_deltas() {
        let (events, _) = decode(&[
            r#"{"choices":[{"delta":{"reasoning_content":"think"}}]}"#,
            r#"{"choices":[{"delta":{"reasoning":"ing"}}]}"#,
            r#"{"choices":[{"delta":{"content":"ok"},"finish_reason":"stop"}]}"#,
            "[DONE]",
        ]);
        assert_eq!(
            events,
            vec![
                ChatEvent::ReasoningDelta("think".into()),
                ChatEvent::ReasoningDelta("ing".into()),
                ChatEvent::TextDelta("ok".into()),
                ChatEvent::Finish(FinishReason::Stop),
            ]
        );
    }

    #[test]
    fn an_error_event_or_a_cut_stream_ends_with_a_stream_error() {
        let (events, error) = decode(&[
            r#"{"choices":[{"delta":{"content":"par"}}]}"#,
            r#"{"error":{"message":"The server had an error","type":"server_error"}}"#,
        ]);
        assert_eq!(events, vec![ChatEvent::TextDelta("par".into())]);
        assert_eq!(
            error,
            Some(ProviderError::Stream {
                message: "The server had an error".into()
            })
        );
        let (_, error) = decode(&[r#"{"choices":[{"delta":{"content":"par"}}]}"#]);
        assert!(matches!(error, Some(ProviderError::Stream { .. })));
    }

    #[test]
    fn a_finished_answer_without_done_still_finishes() {
        let (events, error) = decode(&[
            r#"{"choices":[{"delta":{"content":"x"},"finish_reason":"content_filter"}]}"#,
        ]);
        assert_eq!(error, None);
        assert_eq!(
            events.last(),
            Some(&ChatEvent::Finish(FinishReason::ContentFilter))
        );
    }
}
