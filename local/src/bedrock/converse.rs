//! Converse and ConverseStream: a deterministic answer that summarises the last user
//! message, with reasoning when the request asks for it, usage counted from the texts, and
//! the events ConverseStream sends (messageStart, contentBlockDelta, contentBlockStop,
//! messageStop, metadata).

use serde::Deserialize;
use serde_json::{Value, json};
use shared::chunk::estimate_tokens;

use super::errors::BedrockError;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    system: Vec<Block>,
    #[serde(default)]
    inference_config: InferenceConfig,
    #[serde(default)]
    additional_model_request_fields: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Message {
    role: String,
    #[serde(default)]
    content: Vec<Block>,
}

#[derive(Debug, Deserialize)]
struct Block {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InferenceConfig {
    max_tokens: Option<u64>,
}

/// The answer to one Converse call, before it is sent whole or as events.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub reasoning: Option<String>,
    /// The text in the pieces ConverseStream sends as deltas.
    pub deltas: Vec<String>,
    pub stop_reason: &'static str,
    pub input_tokens: usize,
    pub output_tokens: usize,
}

impl Answer {
    pub fn text(&self) -> String {
        self.deltas.concat()
    }
}

/// The answer for a request body, or Bedrock's ValidationException for a bad one.
pub fn answer(model: &str, body: &[u8]) -> Result<Answer, BedrockError> {
    let request: Request = serde_json::from_slice(body)
        .map_err(|e| BedrockError::validation(format!("The request body is invalid: {e}")))?;
    let Some(first) = request.messages.first() else {
        return Err(BedrockError::validation(
            "The model returned the following errors: messages: at least one message is required",
        ));
    };
    if first.role != "user" {
        return Err(BedrockError::validation(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
        ));
    }
    if request
        .messages
        .windows(2)
        .any(|pair| pair[0].role == pair[1].role)
    {
        return Err(BedrockError::validation(
            "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.",
        ));
    }
    let texts = |blocks: &[Block]| -> String {
        blocks
            .iter()
            .filter_map(|b| b.text.as_deref())
            .collect::<Vec<_>>()
            .join("\n")
    };
    if request
        .messages
        .iter()
        .any(|m| texts(&m.content).is_empty())
    {
        return Err(BedrockError::validation(
            "The text field in the ContentBlock object is blank. Add text to the text field, and try again.",
        ));
    }
    let input: String = std::iter::once(texts(&request.system))
        .chain(request.messages.iter().map(|m| texts(&m.content)))
        .collect::<Vec<_>>()
        .join("\n");
    let last_user = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| texts(&m.content))
        .unwrap_or_default();
    let summary: Vec<&str> = last_user.split_whitespace().take(12).collect();
    let text = format!(
        "You asked: \"{}\". This answer comes from the local Bedrock runtime ({model}).",
        summary.join(" ")
    );
    let reasoning =
        asks_for_reasoning(request.additional_model_request_fields.as_ref()).then(|| {
            format!(
                "The user wrote {} words; I will restate them.",
                last_user.split_whitespace().count()
            )
        });
    let mut deltas = words_in_pieces(&text, 3);
    let mut stop_reason = "end_turn";
    if let Some(max) = request.inference_config.max_tokens {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        while !deltas.is_empty() && estimate_tokens(&deltas.concat()) > max {
            deltas.pop();
            stop_reason = "max_tokens";
        }
    }
    let output_tokens =
        estimate_tokens(&deltas.concat()) + reasoning.as_deref().map_or(0, estimate_tokens);
    Ok(Answer {
        reasoning,
        deltas,
        stop_reason,
        input_tokens: estimate_tokens(&input),
        output_tokens,
    })
}

/// Claude's `thinking`, gpt-oss's `reasoning_effort`, Nova's `reasoningConfig`.
fn asks_for_reasoning(fields: Option<&Value>) -> bool {
    fields.is_some_and(|f| {
        [
            "thinking",
            "reasoning_effort",
            "reasoningConfig",
            "reasoning_config",
        ]
        .iter()
        .any(|key| f.get(key).is_some())
    })
}

/// `text` cut into pieces of `words` words, each keeping its following space.
fn words_in_pieces(text: &str, words: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut count = 0;
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            piece.push(' ');
        }
        if count == words {
            pieces.push(std::mem::take(&mut piece));
            count = 0;
        }
        piece.push_str(word);
        count += 1;
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

fn usage(answer: &Answer) -> Value {
    json!({
        "inputTokens": answer.input_tokens,
        "outputTokens": answer.output_tokens,
        "totalTokens": answer.input_tokens + answer.output_tokens,
    })
}

/// The Converse response body.
pub fn response(answer: &Answer, latency_ms: u64) -> Value {
    let mut content = Vec::new();
    if let Some(reasoning) = &answer.reasoning {
        content.push(json!({ "reasoningContent": { "reasoningText": { "text": reasoning, "signature": "local" } } }));
    }
    content.push(json!({ "text": answer.text() }));
    json!({
        "output": { "message": { "role": "assistant", "content": content } },
        "stopReason": answer.stop_reason,
        "usage": usage(answer),
        "metrics": { "latencyMs": latency_ms },
    })
}

/// One ConverseStream event: its `:event-type` and JSON payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: &'static str,
    pub payload: Value,
}

impl Event {
    fn new(kind: &'static str, payload: Value) -> Self {
        Self { kind, payload }
    }

    pub fn is_delta(&self) -> bool {
        self.kind == "contentBlockDelta"
    }
}

/// The events up to messageStop; [`metadata`] follows them.
pub fn events(answer: &Answer) -> Vec<Event> {
    let mut events = vec![Event::new("messageStart", json!({ "role": "assistant" }))];
    let mut index = 0;
    if let Some(reasoning) = &answer.reasoning {
        for piece in words_in_pieces(reasoning, 4) {
            events.push(Event::new(
                "contentBlockDelta",
                json!({ "contentBlockIndex": index, "delta": { "reasoningContent": { "text": piece } } }),
            ));
        }
        events.push(Event::new(
            "contentBlockDelta",
            json!({ "contentBlockIndex": index, "delta": { "reasoningContent": { "signature": "local" } } }),
        ));
        events.push(Event::new(
            "contentBlockStop",
            json!({ "contentBlockIndex": index }),
        ));
        index += 1;
    }
    for piece in &answer.deltas {
        events.push(Event::new(
            "contentBlockDelta",
            json!({ "contentBlockIndex": index, "delta": { "text": piece } }),
        ));
    }
    events.push(Event::new(
        "contentBlockStop",
        json!({ "contentBlockIndex": index }),
    ));
    events.push(Event::new(
        "messageStop",
        json!({ "stopReason": answer.stop_reason }),
    ));
    events
}

/// The last event: usage and metrics.
pub fn metadata(answer: &Answer, latency_ms: u64) -> Event {
    Event::new(
        "metadata",
        json!({ "usage": usage(answer), "metrics": { "latencyMs": latency_ms } }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(messages: Value) -> Vec<u8> {
        json!({ "messages": messages, "inferenceConfig": { "maxTokens": 512 } })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn the_answer_restates_the_last_user_message_and_counts_its_tokens() {
        let body = request(
            json!([{ "role": "user", "content": [{ "text": "What is the refund policy?" }] }]),
        );
        let answer = answer("m", &body).map_err(|e| e.message).unwrap();
        assert!(answer.text().contains("What is the refund policy?"));
        assert!(answer.deltas.len() > 3);
        assert_eq!(answer.stop_reason, "end_turn");
        assert_eq!(answer.output_tokens, estimate_tokens(&answer.text()));
        assert_eq!(
            answer.input_tokens,
            estimate_tokens("\nWhat is the refund policy?")
        );
    }

    #[test]
    fn conversations_bedrock_refuses_are_refused() {
        let assistant_first =
            request(json!([{ "role": "assistant", "content": [{ "text": "hi" }] }]));
        assert!(answer("m", &assistant_first).is_err());
        let twice = request(json!([
            { "role": "user", "content": [{ "text": "a" }] },
            { "role": "user", "content": [{ "text": "b" }] }
        ]));
        assert!(answer("m", &twice).is_err_and(|e| e.message.contains("alternate")));
    }

    #[test]
    fn a_small_token_limit_cuts_the_answer_with_max_tokens() {
        let body = json!({
            "messages": [{ "role": "user", "content": [{ "text": "Tell me everything about the quarterly report" }] }],
            "inferenceConfig": { "maxTokens": 5 }
        });
        let answer = answer("m", body.to_string().as_bytes())
            .map_err(|e| e.message)
            .unwrap();
        assert_eq!(answer.stop_reason, "max_tokens");
        assert!(answer.output_tokens <= 5);
    }
}
