//! The chat provider adapters against the mock provider servers, which speak each
//! provider's real wire format: deltas, usage, errors, cut streams, fallback and the
//! circuit breaker, as a chat user would notice them. No stack needed.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use shared::chat;
use shared::ports;
use shared::ports::chat::{
    ChatEvent, ChatMessage, ChatModel, ChatRequest, FinishReason, ProviderError, ProviderSettings,
    Usage,
};
use studio_local::mock_providers::{Fault, MockProviders, MockUsage, Script, split_deltas};

const KEY: &str = "sk-mock-test-key";
const REPLY: &str = "Paris is the capital of France, on the Seine.";

async fn mock() -> MockProviders {
    let mock = MockProviders::start().await.unwrap();
    mock.mock.set_script(Script {
        reply: Some(REPLY.to_owned()),
        api_key: Some(KEY.to_owned()),
        ..Script::default()
    });
    mock
}

fn settings(base_url: String) -> ProviderSettings {
    ProviderSettings {
        base_url: Some(base_url),
        api_key: Some(KEY.to_owned()),
        timeout: Some(Duration::from_secs(10)),
        ..ProviderSettings::default()
    }
}

async fn openai(mock: &MockProviders) -> Arc<dyn ChatModel> {
    chat::build("openai", &settings(mock.openai_base_url()))
        .await
        .unwrap()
}

async fn gemini(mock: &MockProviders) -> Arc<dyn ChatModel> {
    chat::build("gemini", &settings(mock.gemini_base_url()))
        .await
        .unwrap()
}

fn request(model: &str) -> ChatRequest {
    ChatRequest {
        model: model.to_owned(),
        system: Some("Answer from the passages.\n[1] Atlas (page 3)\nParis is large.".to_owned()),
        messages: vec![ChatMessage::user("What is the capital of France?")],
        max_output_tokens: Some(200),
        ..ChatRequest::default()
    }
}

/// Every item of the stream, errors included.
async fn drain(
    model: &dyn ChatModel,
    request: ChatRequest,
) -> Result<Vec<Result<ChatEvent, ProviderError>>, ProviderError> {
    Ok(model.stream(request).await?.collect().await)
}

fn texts(items: &[Result<ChatEvent, ProviderError>]) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| match item {
            Ok(ChatEvent::TextDelta(text)) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn expected_usage() -> Usage {
    let MockUsage {
        input,
        output,
        cached,
        reasoning,
    } = MockUsage::default();
    Usage {
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: cached,
        reasoning_tokens: reasoning,
    }
}

// ---- OpenAI (and Azure, compatible servers) ----

#[tokio::test]
async fn an_openai_answer_streams_as_the_providers_deltas_with_its_usage() {
    let mock = mock().await;
    mock.mock
        .update(|s| s.reasoning = Some("The user asks about France.".to_owned()));
    let items = drain(&*openai(&mock).await, request("gpt-4o-mini"))
        .await
        .unwrap();

    assert_eq!(texts(&items), split_deltas(REPLY));
    assert!(texts(&items).len() > 3);
    let reasoning: String = items
        .iter()
        .filter_map(|i| match i {
            Ok(ChatEvent::ReasoningDelta(text)) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasoning, "The user asks about France.");
    let usage = items.iter().find_map(|i| match i {
        Ok(ChatEvent::Usage(usage)) => Some(*usage),
        _ => None,
    });
    assert_eq!(usage, Some(expected_usage()));
    assert!(usage.is_some_and(|u| u.input_tokens > 0
        && u.output_tokens > 0
        && u.cached_input_tokens > 0
        && u.reasoning_tokens > 0));
    assert_eq!(
        items.last(),
        Some(&Ok(ChatEvent::Finish(FinishReason::Stop)))
    );

    let sent = mock.mock.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].model, "gpt-4o-mini");
    assert_eq!(
        sent[0].header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(sent[0].body["stream"], true);
    assert_eq!(sent[0].body["stream_options"]["include_usage"], true);
    assert_eq!(sent[0].body["max_completion_tokens"], 200);
    assert_eq!(sent[0].body["messages"][0]["role"], "system");
    assert!(
        sent[0].body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("[1] Atlas (page 3)")
    );
}

#[tokio::test]
async fn a_whole_completion_gathers_text_usage_and_finish() {
    let mock = mock().await;
    mock.mock.update(|s| {
        s.reply = None;
        s.finish_reason = "length".to_owned();
    });
    let done = ports::chat::complete(&*openai(&mock).await, request("gpt-4o"))
        .await
        .unwrap();
    assert_eq!(done.text, "What is the capital of France?");
    assert_eq!(done.usage, expected_usage());
    assert_eq!(done.finish_reason, Some(FinishReason::Length));
}

#[tokio::test]
async fn a_429_with_retry_after_is_rate_limited_for_that_long() {
    let mock = mock().await;
    mock.mock.fail_next(
        1,
        Fault::RateLimited {
            retry_after: "7".to_owned(),
        },
    );
    let error = openai(&mock)
        .await
        .stream(request("gpt-4o"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(wait), ref message }
            if wait == Duration::from_secs(7) && message.contains("Rate limit")),
        "{error:?}"
    );
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_500_is_the_provider_being_unavailable() {
    let mock = mock().await;
    mock.mock.fail_next(1, Fault::ServerError);
    let error = openai(&mock)
        .await
        .stream(request("gpt-4o"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, ProviderError::Unavailable { status: 500, ref message }
            if message.contains("server had an error")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_as_unauthorized() {
    let mock = mock().await;
    let mut wrong = settings(mock.openai_base_url());
    wrong.api_key = Some("sk-wrong".to_owned());
    let model = chat::build("openai", &wrong).await.unwrap();
    let error = model.stream(request("gpt-4o")).await.err().unwrap();
    assert!(
        matches!(error, ProviderError::Unauthorized { .. }),
        "{error:?}"
    );
    assert!(!error.is_transient());
}

#[tokio::test]
async fn a_connection_cut_mid_stream_ends_with_a_stream_error_after_the_deltas() {
    let mock = mock().await;
    mock.mock
        .fail_next(1, Fault::Disconnect { after_deltas: 3 });
    let items = drain(&*openai(&mock).await, request("gpt-4o"))
        .await
        .unwrap();
    assert_eq!(texts(&items), split_deltas(REPLY)[..3].to_vec());
    assert!(
        matches!(items.last(), Some(Err(ProviderError::Stream { .. }))),
        "{:?}",
        items.last()
    );
    assert!(!items.iter().any(|i| matches!(i, Ok(ChatEvent::Finish(_)))));
}

#[tokio::test]
async fn a_slow_first_token_still_completes() {
    let mock = mock().await;
    mock.mock
        .fail_next(1, Fault::SlowFirstToken { delay_ms: 400 });
    let done = ports::chat::complete(&*openai(&mock).await, request("gpt-4o"))
        .await
        .unwrap();
    assert_eq!(done.text, REPLY);
    assert_eq!(done.finish_reason, Some(FinishReason::Stop));
}

#[tokio::test]
async fn a_first_token_slower_than_the_timeout_is_a_timeout() {
    let mock = mock().await;
    mock.mock
        .fail_next(1, Fault::SlowFirstToken { delay_ms: 3_000 });
    let mut quick = settings(mock.openai_base_url());
    quick.timeout = Some(Duration::from_millis(200));
    let model = chat::build("openai", &quick).await.unwrap();
    let error = ports::chat::complete(&*model, request("gpt-4o"))
        .await
        .err()
        .unwrap();
    assert_eq!(error, ProviderError::Timeout(Duration::from_millis(200)));
}

#[tokio::test]
async fn azure_calls_the_deployment_with_the_api_key_header() {
    let mock = mock().await;
    let mut azure = settings(mock.azure_endpoint());
    azure.api_version = Some("2024-10-21".to_owned());
    let model = chat::build("azure", &azure).await.unwrap();
    assert_eq!(model.provider(), "azure");
    let done = ports::chat::complete(&*model, request("prod-gpt4o"))
        .await
        .unwrap();
    assert_eq!(done.text, REPLY);
    assert_eq!(done.usage, expected_usage());

    let sent = &mock.mock.requests()[0];
    assert_eq!(sent.api, "azure");
    assert_eq!(sent.path, "/openai/deployments/prod-gpt4o/chat/completions");
    assert_eq!(sent.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(sent.header("api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
}

#[tokio::test]
async fn an_openai_compatible_server_needs_no_key() {
    let mock = MockProviders::start().await.unwrap();
    let model = chat::build(
        "openai_compatible",
        &ProviderSettings {
            base_url: Some(mock.openai_base_url()),
            ..ProviderSettings::default()
        },
    )
    .await
    .unwrap();
    let done = ports::chat::complete(&*model, request("llama3.2"))
        .await
        .unwrap();
    assert_eq!(done.text, Script::default().reply.unwrap());
    let sent = &mock.mock.requests()[0];
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.body["max_tokens"], 200);
}

// ---- Gemini ----

#[tokio::test]
async fn a_gemini_answer_streams_as_the_providers_deltas_with_its_usage() {
    let mock = mock().await;
    mock.mock
        .update(|s| s.reasoning = Some("Thinking about France.".to_owned()));
    let mut asked = request("gemini-2.5-flash");
    asked.reasoning_effort = Some(ports::chat::ReasoningEffort::Medium);
    let items = drain(&*gemini(&mock).await, asked).await.unwrap();

    assert_eq!(texts(&items), split_deltas(REPLY));
    assert!(items.contains(&Ok(ChatEvent::ReasoningDelta("Thinking ".to_owned()))));
    let usage = items.iter().find_map(|i| match i {
        Ok(ChatEvent::Usage(usage)) => Some(*usage),
        _ => None,
    });
    assert_eq!(usage, Some(expected_usage()));
    assert_eq!(
        items.last(),
        Some(&Ok(ChatEvent::Finish(FinishReason::Stop)))
    );

    let sent = &mock.mock.requests()[0];
    assert_eq!(sent.api, "gemini");
    assert_eq!(sent.model, "gemini-2.5-flash");
    assert_eq!(sent.query.as_deref(), Some("alt=sse"));
    assert_eq!(sent.header("x-goog-api-key"), Some(KEY));
    assert!(
        sent.body["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("[1] Atlas (page 3)")
    );
    assert_eq!(sent.body["contents"][0]["role"], "user");
    assert_eq!(sent.body["generationConfig"]["maxOutputTokens"], 200);
    assert_eq!(
        sent.body["generationConfig"]["thinkingConfig"]["includeThoughts"],
        true
    );
}

#[tokio::test]
async fn gemini_errors_map_like_the_others() {
    let mock = mock().await;
    mock.mock.fail_next(
        1,
        Fault::RateLimited {
            retry_after: "4".to_owned(),
        },
    );
    mock.mock.fail_next(1, Fault::ServerError);
    let model = gemini(&mock).await;
    let error = model
        .stream(request("gemini-2.0-flash"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(wait), .. } if wait == Duration::from_secs(4)),
        "{error:?}"
    );
    let error = model
        .stream(request("gemini-2.0-flash"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, ProviderError::Unavailable { status: 500, .. }),
        "{error:?}"
    );

    let mut wrong = settings(mock.gemini_base_url());
    wrong.api_key = Some("wrong".to_owned());
    let error = chat::build("gemini", &wrong)
        .await
        .unwrap()
        .stream(request("gemini-2.0-flash"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, ProviderError::Unauthorized { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_gemini_stream_cut_mid_answer_ends_with_a_stream_error() {
    let mock = mock().await;
    mock.mock
        .fail_next(1, Fault::Disconnect { after_deltas: 2 });
    let items = drain(&*gemini(&mock).await, request("gemini-2.0-flash"))
        .await
        .unwrap();
    assert_eq!(texts(&items), split_deltas(REPLY)[..2].to_vec());
    assert!(matches!(
        items.last(),
        Some(Err(ProviderError::Stream { .. }))
    ));
}

#[tokio::test]
async fn a_slow_gemini_first_token_still_completes() {
    let mock = mock().await;
    mock.mock
        .fail_next(1, Fault::SlowFirstToken { delay_ms: 400 });
    let done = ports::chat::complete(&*gemini(&mock).await, request("gemini-2.0-flash"))
        .await
        .unwrap();
    assert_eq!(done.text, REPLY);
    assert_eq!(done.usage, expected_usage());
}

// ---- Fallback and circuit breaker ----

async fn fallback(mock: &MockProviders, models: &[&str]) -> chat::Fallback {
    let provider = openai(mock).await;
    chat::Fallback::new(
        models
            .iter()
            .map(|model| chat::Candidate {
                label: (*model).to_owned(),
                model_id: (*model).to_owned(),
                chat: provider.clone(),
            })
            .collect(),
    )
}

#[tokio::test]
async fn a_500_before_any_token_falls_back_to_the_second_model() {
    let mock = mock().await;
    mock.mock.fail_next_for("gpt-4o", 1, Fault::ServerError);
    let answer = fallback(&mock, &["gpt-4o", "gpt-4o-mini"])
        .await
        .start(request("ignored"))
        .await
        .unwrap();
    assert_eq!(answer.label, "gpt-4o-mini");
    assert_eq!(answer.index, 1);
    let items: Vec<_> = answer.stream.collect().await;
    assert_eq!(texts(&items), split_deltas(REPLY));
    let asked: Vec<String> = mock.mock.requests().into_iter().map(|r| r.model).collect();
    assert_eq!(asked, ["gpt-4o", "gpt-4o-mini"]);
}

#[tokio::test]
async fn a_failure_after_tokens_were_sent_does_not_fall_back() {
    let mock = mock().await;
    mock.mock
        .fail_next_for("gpt-4o", 1, Fault::Disconnect { after_deltas: 2 });
    let answer = fallback(&mock, &["gpt-4o", "gpt-4o-mini"])
        .await
        .start(request("ignored"))
        .await
        .unwrap();
    assert_eq!(answer.label, "gpt-4o");
    let items: Vec<_> = answer.stream.collect().await;
    assert_eq!(texts(&items), split_deltas(REPLY)[..2].to_vec());
    assert!(matches!(
        items.last(),
        Some(Err(ProviderError::Stream { .. }))
    ));
    assert_eq!(mock.mock.request_count(), 1);
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out_on_the_same_model() {
    let mock = mock().await;
    mock.mock.fail_next_for(
        "gpt-4o",
        1,
        Fault::RateLimited {
            retry_after: "1".to_owned(),
        },
    );
    let answer = fallback(&mock, &["gpt-4o", "gpt-4o-mini"])
        .await
        .start(request("ignored"))
        .await
        .unwrap();
    assert_eq!(answer.label, "gpt-4o");
    let asked: Vec<String> = mock.mock.requests().into_iter().map(|r| r.model).collect();
    assert_eq!(asked, ["gpt-4o", "gpt-4o"]);
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_and_the_provider_is_left_alone() {
    let mock = mock().await;
    mock.mock.fail_next(100, Fault::ServerError);
    let model = openai(&mock).await;
    let threshold = shared::chat::resilience::BreakerConfig::default().failure_threshold as usize;
    for _ in 0..threshold {
        let error = model.stream(request("gpt-4o")).await.err().unwrap();
        assert!(
            matches!(error, ProviderError::Unavailable { .. }),
            "{error:?}"
        );
    }
    for _ in 0..3 {
        let error = model.stream(request("gpt-4o")).await.err().unwrap();
        assert!(
            matches!(error, ProviderError::CircuitOpen { .. }),
            "{error:?}"
        );
    }
    assert_eq!(mock.mock.request_count(), threshold);
}

// ---- Offline ----

#[tokio::test]
async fn the_offline_answerer_quotes_the_passages_with_their_markers() {
    let model = chat::build("offline", &ProviderSettings::default())
        .await
        .unwrap();
    let mut asked = request("offline");
    asked.system = Some(
        "Use the passages below.\n\n[1] Atlas (page 3)\nParis is the capital of France. It lies on the Seine.\n\n[2] Rivers\nThe Seine flows into the English Channel at Le Havre.\n"
            .to_owned(),
    );
    let done = ports::chat::complete(&*model, asked).await.unwrap();
    assert!(done.text.contains("offline"), "{}", done.text);
    assert!(
        done.text.contains(
            "Paris is the capital of France. It lies on the Seine.\" [1] (Atlas, page 3)"
        ),
        "{}",
        done.text
    );
    assert!(done.text.contains("[2] (Rivers)"), "{}", done.text);
    assert!(done.usage.input_tokens > 0 && done.usage.output_tokens > 0);
}

#[tokio::test]
async fn bedrock_builds_and_unknown_providers_are_refused_with_a_reason() {
    let bedrock = chat::build("bedrock", &ProviderSettings::default())
        .await
        .unwrap();
    assert_eq!(bedrock.provider(), "bedrock");
    let error = chat::build("mystery", &ProviderSettings::default())
        .await
        .err()
        .unwrap();
    assert_eq!(error.code, shared::ErrorCode::Validation);
    assert!(error.message.contains("mystery"), "{}", error.message);
}
