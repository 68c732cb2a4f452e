//! Staying up when a provider is not: [`Fallback`] tries the next configured model when a
//! call fails before its first event, and a [`CircuitBreaker`] per provider (shared by the
//! whole process, so across warm Lambda invocations) stops calling one that keeps failing.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::{Stream, StreamExt, stream};

use crate::ports::chat::{ChatEvent, ChatModel, ChatRequest, ChatStream, ProviderError};

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

/// When a provider counts as failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures within `window` that open the circuit.
    pub failure_threshold: u32,
    pub window: Duration,
    /// How long an open circuit refuses calls before one probe may go through.
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Default)]
struct BreakerState {
    failures: u32,
    first_failure: Option<Instant>,
    open_until: Option<Instant>,
    probing: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Permit {
    Closed,
    Probe,
}

/// Closed -> (N failures in the window) open -> (cooldown) half-open: one probe call;
/// its success closes the circuit, its failure opens it again.
pub struct CircuitBreaker {
    provider: String,
    config: BreakerConfig,
    state: Mutex<BreakerState>,
}

impl CircuitBreaker {
    pub fn new(provider: impl Into<String>, config: BreakerConfig) -> Self {
        Self {
            provider: provider.into(),
            config,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BreakerState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether calls are being refused now.
    pub fn is_open(&self) -> bool {
        self.lock().open_until.is_some()
    }

    fn acquire(&self) -> Result<Permit, ProviderError> {
        let mut state = self.lock();
        match state.open_until {
            None => Ok(Permit::Closed),
            Some(until) if Instant::now() >= until && !state.probing => {
                state.probing = true;
                Ok(Permit::Probe)
            }
            Some(_) => Err(ProviderError::CircuitOpen {
                provider: self.provider.clone(),
            }),
        }
    }

    fn record(&self, permit: Permit, outcome: Result<(), &ProviderError>) {
        let mut state = self.lock();
        let failed = outcome
            .is_err_and(|e| e.is_transient() && !matches!(e, ProviderError::CircuitOpen { .. }));
        if permit == Permit::Probe {
            state.probing = false;
        }
        if !failed {
            *state = BreakerState::default();
            return;
        }
        let now = Instant::now();
        if permit == Permit::Probe {
            state.open_until = Some(now + self.config.cooldown);
            tracing::warn!(provider = %self.provider, "Circuit probe failed, staying open");
            return;
        }
        if state
            .first_failure
            .is_none_or(|first| now.duration_since(first) > self.config.window)
        {
            state.failures = 0;
            state.first_failure = Some(now);
        }
        state.failures += 1;
        if state.failures >= self.config.failure_threshold && state.open_until.is_none() {
            state.open_until = Some(now + self.config.cooldown);
            tracing::warn!(provider = %self.provider, failures = state.failures, "Circuit opened");
        }
    }

    /// A probe that ended without telling (the caller dropped the stream).
    fn release(&self, permit: Permit) {
        if permit == Permit::Probe {
            self.lock().probing = false;
        }
    }
}

/// The process-wide breaker for one provider endpoint.
pub fn breaker(provider: &str, base_url: &str) -> Arc<CircuitBreaker> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Arc<CircuitBreaker>>>> = OnceLock::new();
    let key = format!("{provider} {base_url}");
    let mut registry = REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    registry
        .entry(key)
        .or_insert_with(|| Arc::new(CircuitBreaker::new(provider, BreakerConfig::default())))
        .clone()
}

/// A model whose calls go through a circuit breaker.
pub struct Guarded {
    inner: Arc<dyn ChatModel>,
    breaker: Arc<CircuitBreaker>,
}

impl Guarded {
    pub fn new(inner: Arc<dyn ChatModel>, breaker: Arc<CircuitBreaker>) -> Self {
        Self { inner, breaker }
    }
}

#[async_trait]
impl ChatModel for Guarded {
    fn provider(&self) -> &str {
        self.inner.provider()
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ProviderError> {
        let permit = self.breaker.acquire()?;
        match self.inner.stream(request).await {
            Err(error) => {
                self.breaker.record(permit, Err(&error));
                Err(error)
            }
            Ok(stream) => Ok(Box::pin(Watched {
                stream,
                breaker: self.breaker.clone(),
                permit: Some(permit),
            })),
        }
    }
}

/// Reports a stream's outcome to its breaker: `Finish` is a success, an error a failure.
struct Watched {
    stream: ChatStream,
    breaker: Arc<CircuitBreaker>,
    permit: Option<Permit>,
}

impl Stream for Watched {
    type Item = Result<ChatEvent, ProviderError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = self.stream.as_mut().poll_next(cx);
        if let Poll::Ready(ready) = &item {
            let outcome = match ready {
                Some(Err(error)) => Some(Err(error)),
                Some(Ok(ChatEvent::Finish(_))) | None => Some(Ok(())),
                Some(Ok(_)) => None,
            };
            if let Some(outcome) = outcome
                && let Some(permit) = self.permit.take()
            {
                self.breaker.record(permit, outcome);
            }
        }
        item
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.breaker.release(permit);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ports::chat::{FinishReason, complete};

    type Outcome = Result<Vec<Result<ChatEvent, ProviderError>>, ProviderError>;

    /// Plays one scripted outcome per call and counts the calls.
    #[derive(Default)]
    struct Scripted {
        outcomes: Mutex<VecDeque<Outcome>>,
        calls: AtomicUsize,
        models: Mutex<Vec<String>>,
    }

    impl Scripted {
        fn new(outcomes: Vec<Outcome>) -> Arc<Self> {
            Arc::new(Self {
                outcomes: Mutex::new(outcomes.into()),
                ..Self::default()
            })
        }
    }

    #[async_trait]
    impl ChatModel for Scripted {
        fn provider(&self) -> &str {
            "scripted"
        }

        async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ProviderError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.models.lock().unwrap().push(request.model);
            let outcome = self.outcomes.lock().unwrap().pop_front();
            let events = outcome.unwrap_or_else(|| Ok(answer("ok")))?;
            Ok(Box::pin(stream::iter(events)))
        }
    }

    fn answer(text: &str) -> Vec<Result<ChatEvent, ProviderError>> {
        vec![
            Ok(ChatEvent::TextDelta(text.into())),
            Ok(ChatEvent::Finish(FinishReason::Stop)),
        ]
    }

    fn down() -> ProviderError {
        ProviderError::Unavailable {
            status: 500,
            message: "down".into(),
        }
    }

    fn candidates(models: &[&Arc<Scripted>]) -> Fallback {
        Fallback::new(
            models
                .iter()
                .enumerate()
                .map(|(n, model)| Candidate {
                    label: format!("model-{n}"),
                    model_id: format!("id-{n}"),
                    chat: (*model).clone(),
                })
                .collect(),
        )
    }

    #[tokio::test]
    async fn a_failure_before_the_first_event_falls_back_to_the_next_model() {
        let first = Scripted::new(vec![Err(down())]);
        let second = Scripted::new(vec![Ok(answer("from the fallback"))]);
        let answer = candidates(&[&first, &second])
            .start(ChatRequest::default())
            .await
            .unwrap();
        assert_eq!((answer.index, answer.label.as_str()), (1, "model-1"));
        assert_eq!(answer.failures.len(), 1);
        let text: Vec<_> = answer.stream.collect().await;
        assert_eq!(
            text[0],
            Ok(ChatEvent::TextDelta("from the fallback".into()))
        );
        assert_eq!(*second.models.lock().unwrap(), vec!["id-1".to_owned()]);
    }

    #[tokio::test]
    async fn an_error_as_first_item_also_falls_back_but_not_after_a_token() {
        let first = Scripted::new(vec![Ok(vec![Err(down())])]);
        let second = Scripted::new(vec![]);
        let answer = candidates(&[&first, &second])
            .start(ChatRequest::default())
            .await
            .unwrap();
        assert_eq!(answer.index, 1);

        let cut = vec![Ok(ChatEvent::TextDelta("half".into())), Err(down())];
        let first = Scripted::new(vec![Ok(cut)]);
        let second = Scripted::new(vec![]);
        let answer = candidates(&[&first, &second])
            .start(ChatRequest::default())
            .await
            .unwrap();
        assert_eq!(answer.index, 0);
        let items: Vec<_> = answer.stream.collect().await;
        assert_eq!(items.last(), Some(&Err(down())));
        assert_eq!(second.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_short_retry_after_is_retried_once_on_the_same_model() {
        let limited = || ProviderError::RateLimited {
            retry_after: Some(Duration::from_millis(10)),
            message: "slow down".into(),
        };
        let first = Scripted::new(vec![Err(limited()), Ok(answer("second try"))]);
        let second = Scripted::new(vec![]);
        let answer = candidates(&[&first, &second])
            .start(ChatRequest::default())
            .await
            .unwrap();
        assert_eq!(answer.index, 0);
        assert_eq!(first.calls.load(Ordering::SeqCst), 2);

        let first = Scripted::new(vec![Err(limited()), Err(limited())]);
        let answer = candidates(&[&first, &second])
            .start(ChatRequest::default())
            .await
            .unwrap();
        assert_eq!(answer.index, 1);
    }

    #[tokio::test]
    async fn a_rejected_request_does_not_fall_back_and_the_last_error_is_returned() {
        let rejected = ProviderError::Rejected {
            message: "bad".into(),
        };
        let first = Scripted::new(vec![Err(rejected.clone())]);
        let second = Scripted::new(vec![]);
        let error = candidates(&[&first, &second])
            .start(ChatRequest::default())
            .await
            .err();
        assert_eq!(error, Some(rejected));

        let first = Scripted::new(vec![Err(down())]);
        let second = Scripted::new(vec![Err(down())]);
        let error = candidates(&[&first, &second])
            .start(ChatRequest::default())
            .await
            .err();
        assert_eq!(error, Some(down()));
    }

    #[tokio::test]
    async fn the_circuit_opens_probes_once_and_closes_on_success() {
        let config = BreakerConfig {
            failure_threshold: 3,
            window: Duration::from_secs(60),
            cooldown: Duration::ZERO,
        };
        let inner = Scripted::new(vec![Err(down()), Ok(vec![Err(down())]), Err(down())]);
        let breaker = Arc::new(CircuitBreaker::new("scripted", config));
        let guarded = Guarded::new(inner.clone(), breaker.clone());
        for _ in 0..3 {
            assert!(complete(&guarded, ChatRequest::default()).await.is_err());
        }
        assert!(breaker.is_open());
        // Cooldown over: one probe may go; while it runs, others are refused.
        let probe = guarded.stream(ChatRequest::default()).await.unwrap();
        assert!(matches!(
            guarded.stream(ChatRequest::default()).await.err(),
            Some(ProviderError::CircuitOpen { .. })
        ));
        assert_eq!(inner.calls.load(Ordering::SeqCst), 4);
        let items: Vec<_> = probe.collect().await;
        assert_eq!(
            items.last(),
            Some(&Ok(ChatEvent::Finish(FinishReason::Stop)))
        );
        assert!(!breaker.is_open());
    }

    #[tokio::test]
    async fn refused_requests_never_reach_the_provider() {
        let config = BreakerConfig {
            failure_threshold: 2,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(600),
        };
        let inner = Scripted::new(vec![Err(down()), Err(down())]);
        let guarded = Guarded::new(inner.clone(), Arc::new(CircuitBreaker::new("s", config)));
        for _ in 0..5 {
            let _ = complete(&guarded, ChatRequest::default()).await;
        }
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_registry_shares_one_breaker_per_provider_address() {
        let a = breaker("openai", "https://api.openai.com/v1");
        let b = breaker("openai", "https://api.openai.com/v1");
        let c = breaker("openai", "http://localhost:11434/v1");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
