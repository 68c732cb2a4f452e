//! Relays one model call into UI message stream chunks while gathering what was said, so
//! the answer can be stored whatever happens to the stream.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::resilience::Fallback;
use super::ui_stream::UiChunk;
use crate::ports::chat::{ChatEvent, ChatRequest, ChatStream, FinishReason, ProviderError, Usage};

/// What one model call produced, complete or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Relayed {
    pub text: String,
    pub reasoning: String,
    pub usage: Usage,
    pub finish: FinishReason,
    /// Why the call failed, when it did (before or during the stream).
    pub error: Option<ProviderError>,
    /// From the call to the first delta.
    pub first_token: Option<Duration>,
    pub latency: Duration,
    /// Which of the fallback's candidates answered (0: the model asked for).
    pub answered_by: usize,
}

impl Relayed {
    /// The message parts stored for this answer, as the AI SDK's `UIMessage` has them.
    pub fn parts(&self) -> Vec<serde_json::Value> {
        let mut parts = Vec::new();
        if !self.reasoning.is_empty() {
            parts.push(serde_json::json!({"type": "reasoning", "text": self.reasoning}));
        }
        if !self.text.is_empty() {
            parts.push(serde_json::json!({"type": "text", "text": self.text}));
        }
        parts
    }
}

/// Streams `request` to `model` (its first candidate that answers), sending text and
/// reasoning parts with ids `{id}-text` and `{id}-reasoning` to `out`. A client that went
/// away does not stop the call: the whole answer is still gathered and stored.
pub async fn relay(
    model: &Fallback,
    request: ChatRequest,
    id: &str,
    out: &mpsc::Sender<UiChunk>,
) -> Relayed {
    let started = Instant::now();
    let mut answered_by = 0;
    let stream: Result<ChatStream, ProviderError> = match model.start(request).await {
        Ok(answer) => {
            answered_by = answer.index;
            Ok(answer.stream)
        }
        Err(error) => Err(error),
    };
    let mut relayed = Relayed {
        text: String::new(),
        reasoning: String::new(),
        usage: Usage::default(),
        finish: FinishReason::Stop,
        error: None,
        first_token: None,
        latency: Duration::ZERO,
        answered_by,
    };
    let text_id = format!("{id}-text");
    let reasoning_id = format!("{id}-reasoning");
    let (mut text_open, mut reasoning_open) = (false, false);
    let send = |chunk: UiChunk| async move {
        let _ = out.send(chunk).await;
    };
    match stream {
        Err(error) => relayed.error = Some(error),
        Ok(mut stream) => {
            let mut finished = false;
            while let Some(event) = stream.next().await {
                match event {
                    Ok(ChatEvent::TextDelta(delta)) => {
                        relayed.first_token.get_or_insert_with(|| started.elapsed());
                        if reasoning_open {
                            reasoning_open = false;
                            send(UiChunk::ReasoningEnd {
                                id: reasoning_id.clone(),
                            })
                            .await;
                        }
                        if !text_open {
                            text_open = true;
                            send(UiChunk::TextStart {
                                id: text_id.clone(),
                            })
                            .await;
                        }
                        relayed.text.push_str(&delta);
                        send(UiChunk::TextDelta {
                            id: text_id.clone(),
                            delta,
                        })
                        .await;
                    }
                    Ok(ChatEvent::ReasoningDelta(delta)) => {
                        relayed.first_token.get_or_insert_with(|| started.elapsed());
                        if !reasoning_open {
                            reasoning_open = true;
                            send(UiChunk::ReasoningStart {
                                id: reasoning_id.clone(),
                            })
                            .await;
                        }
                        relayed.reasoning.push_str(&delta);
                        send(UiChunk::ReasoningDelta {
                            id: reasoning_id.clone(),
                            delta,
                        })
                        .await;
                    }
                    Ok(ChatEvent::Usage(usage)) => relayed.usage.add(usage),
                    Ok(ChatEvent::Finish(reason)) => {
                        finished = true;
                        relayed.finish = reason;
                    }
                    Err(error) => {
                        relayed.error = Some(error);
                        break;
                    }
                }
            }
            if !finished && relayed.error.is_none() {
                relayed.error = Some(ProviderError::Stream {
                    message: "the answer ended before the model finished".to_owned(),
                });
            }
        }
    }
    if reasoning_open {
        send(UiChunk::ReasoningEnd { id: reasoning_id }).await;
    }
    if text_open {
        send(UiChunk::TextEnd { id: text_id }).await;
    }
    if relayed.error.is_some() {
        relayed.finish = FinishReason::Error;
    }
    relayed.latency = started.elapsed();
    relayed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::resilience::Candidate;
    use crate::ports::chat::{ChatModel, ChatStream};
    use async_trait::async_trait;
    use std::sync::Arc;

    struct Scripted(Vec<Result<ChatEvent, ProviderError>>);

    #[async_trait]
    impl ChatModel for Scripted {
        fn provider(&self) -> &str {
            "scripted"
        }
        async fn stream(&self, _: ChatRequest) -> Result<ChatStream, ProviderError> {
            Ok(Box::pin(futures_util::stream::iter(self.0.clone())))
        }
    }

    async fn run(events: Vec<Result<ChatEvent, ProviderError>>) -> (Relayed, Vec<UiChunk>) {
        let (tx, mut rx) = mpsc::channel(100);
        let model = Fallback::new(vec![Candidate {
            label: "scripted".into(),
            model_id: "scripted".into(),
            chat: Arc::new(Scripted(events)),
        }]);
        let relayed = relay(&model, ChatRequest::default(), "m", &tx).await;
        drop(tx);
        let mut chunks = Vec::new();
        while let Some(chunk) = rx.recv().await {
            chunks.push(chunk);
        }
        (relayed, chunks)
    }

    #[tokio::test]
    async fn deltas_become_text_parts_and_usage_is_summed() {
        let usage = Usage {
            input_tokens: 10,
            output_tokens: 3,
            cached_input_tokens: 4,
            reasoning_tokens: 1,
        };
        let (relayed, chunks) = run(vec![
            Ok(ChatEvent::ReasoningDelta("hmm".into())),
            Ok(ChatEvent::TextDelta("Hel".into())),
            Ok(ChatEvent::TextDelta("lo".into())),
            Ok(ChatEvent::Usage(usage)),
            Ok(ChatEvent::Finish(FinishReason::Stop)),
        ])
        .await;
        assert_eq!(relayed.text, "Hello");
        assert_eq!(relayed.reasoning, "hmm");
        assert_eq!(relayed.usage, usage);
        assert_eq!(relayed.finish, FinishReason::Stop);
        let kinds: Vec<String> = chunks
            .iter()
            .map(|c| {
                serde_json::to_value(c).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "reasoning-start",
                "reasoning-delta",
                "reasoning-end",
                "text-start",
                "text-delta",
                "text-delta",
                "text-end"
            ]
        );
    }

    #[tokio::test]
    async fn a_broken_stream_keeps_what_was_said_and_finishes_as_error() {
        let (relayed, chunks) = run(vec![
            Ok(ChatEvent::TextDelta("Partial".into())),
            Err(ProviderError::Stream {
                message: "connection reset".into(),
            }),
        ])
        .await;
        assert_eq!(relayed.text, "Partial");
        assert_eq!(relayed.finish, FinishReason::Error);
        assert!(relayed.error.is_some());
        assert_eq!(
            chunks.last(),
            Some(&UiChunk::TextEnd {
                id: "m-text".into()
            })
        );
    }

    #[tokio::test]
    async fn a_stream_without_finish_is_an_error() {
        let (relayed, _) = run(vec![Ok(ChatEvent::TextDelta("x".into()))]).await;
        assert_eq!(relayed.finish, FinishReason::Error);
    }
}
