//! Staying up when a provider is not: [`Fallback`] tries the next configured model when a
//! call fails before its first event, and a [`CircuitBreaker`] per provider (shared by the
//! whole process, so across warm Lambda invocations) stops calling one that keeps failing.

mod breaker;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, stream};

use crate::ports::chat::{ChatModel, ChatRequest, ChatStream, ProviderError};

pub use breaker::{BreakerConfig, CircuitBreaker, Guarded, breaker};

/// A 429 asking to wait at most this long is retried once on the same model.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(2);

/// One model a [`Fallback`] may use.
#[derive(Clone)]
pub struct Candidate {
    /// How the caller names it (an `ai_models.id`, a display name...).
    pub label: String,
    /// The provider's model id, set on the request sent to `chat`.
    pub model_id: String,
    pub chat: Arc<dyn ChatModel>,
}

/// A started answer and who gives it.
pub struct Answer {
    /// Index of the answering candidate.
    pub index: usize,
    pub label: String,
    pub model_id: String,
    pub stream: ChatStream,
    /// The candidates that failed before it, with why.
    pub failures: Vec<(String, ProviderError)>,
}

/// Ordered candidates: the configured model first, then its fallbacks.
pub struct Fallback {
    candidates: Vec<Candidate>,
}

impl Fallback {
    pub fn new(candidates: Vec<Candidate>) -> Self {
        Self { candidates }
    }

    /// Starts the answer with the first candidate that yields a first event. A transient
    /// failure before that moves on to the next candidate; after it, the stream carries the
    /// error as usual. With no candidate left, the last error is returned.
    pub async fn start(&self, request: ChatRequest) -> Result<Answer, ProviderError> {
        let mut failures = Vec::new();
        let last = self.candidates.len().saturating_sub(1);
        for (index, candidate) in self.candidates.iter().enumerate() {
            let mut retried = false;
            let error = loop {
                let mut attempt = request.clone();
                attempt.model.clone_from(&candidate.model_id);
                match first_event(candidate.chat.stream(attempt).await).await {
                    Ok(stream) => {
                        return Ok(Answer {
                            index,
                            label: candidate.label.clone(),
                            model_id: candidate.model_id.clone(),
                            stream,
                            failures,
                        });
                    }
                    Err(ProviderError::RateLimited {
                        retry_after: Some(wait),
                        ..
                    }) if !retried && wait <= MAX_RETRY_WAIT => {
                        retried = true;
                        tokio::time::sleep(wait).await;
                    }
                    Err(error) => break error,
                }
            };
            if index == last || !error.is_transient() {
                return Err(error);
            }
            tracing::warn!(model = %candidate.label, %error, "Model failed before answering, trying its fallback");
            failures.push((candidate.label.clone(), error));
        }
        Err(ProviderError::Rejected {
            message: "no model is configured".to_owned(),
        })
    }
}

/// Waits for the stream's first item: an error there fails the call; an event is put back.
async fn first_event(
    started: Result<ChatStream, ProviderError>,
) -> Result<ChatStream, ProviderError> {
    let mut stream = started?;
    match stream.next().await {
        Some(Err(error)) => Err(error),
        Some(Ok(event)) => Ok(Box::pin(
            stream::once(async move { Ok(event) }).chain(stream),
        )),
        None => Ok(Box::pin(stream::empty())),
    }
}

#[async_trait]
impl ChatModel for Fallback {
    fn provider(&self) -> &str {
        self.candidates
            .first()
            .map_or("none", |c| c.chat.provider())
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ProviderError> {
        Ok(self.start(request).await?.stream)
    }
}

#[cfg(test)]
mod tests;
