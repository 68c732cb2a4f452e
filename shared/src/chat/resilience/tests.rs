use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream;

use super::*;
use crate::ports::chat::{
    ChatEvent, ChatModel, ChatRequest, ChatStream, FinishReason, ProviderError, complete,
};

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
