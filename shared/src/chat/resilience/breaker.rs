//! A circuit breaker per provider address, shared by the whole process (so across warm
//! Lambda invocations): a provider that keeps failing is not called until a probe succeeds.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::Stream;

use crate::ports::chat::{ChatEvent, ChatModel, ChatRequest, ChatStream, ProviderError};

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
