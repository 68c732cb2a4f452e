//! Bedrock chat through the real `aws-sdk-bedrockruntime` client against the local Bedrock
//! runtime's binary event stream: the answer, its usage and finish, and each way a call
//! fails (throttled, 5xx, refused, cut mid-stream, slow to start).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use shared::chunk::estimate_tokens;
use shared::ports;
use shared::ports::chat::{
    ChatEvent, ChatMessage, ChatModel, ChatRequest, FinishReason, ProviderError, ProviderSettings,
    ReasoningEffort,
};
use shared::providers::bedrock::BedrockChat;
use studio_local::bedrock::{BedrockServer, Fault, Script};

const CLAUDE: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const QUESTION: &str = "What is the refund policy for damaged goods?";

async fn server_with(faults: Vec<Fault>) -> BedrockServer {
    let server = BedrockServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap();
    server.script(Script {
        faults,
        ..Script::default()
    });
    server
}

fn model(server: &BedrockServer, timeout: Duration) -> BedrockChat {
    let sdk = studio_local::account::local_sdk_config(&server.endpoint());
    BedrockChat::new(&sdk, None, Some(timeout))
}

fn request() -> ChatRequest {
    ChatRequest {
        model: CLAUDE.into(),
        system: Some("Answer briefly.".into()),
        messages: vec![ChatMessage::user(QUESTION)],
        max_output_tokens: Some(512),
        temperature: Some(0.2),
        reasoning_effort: None,
    }
}

async fn all_events(
    model: &BedrockChat,
    request: ChatRequest,
) -> Vec<Result<ChatEvent, ProviderError>> {
    model.stream(request).await.unwrap().collect().await
}

fn text_of(events: &[Result<ChatEvent, ProviderError>]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(ChatEvent::TextDelta(text)) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_answer_streams_in_deltas_then_usage_then_a_stop() {
    let server = server_with(vec![]).await;
    // Built as the configurator builds it: region and endpoint from settings,
    // credentials from the environment (the stack's).
    let bedrock = BedrockChat::from_settings(&ProviderSettings {
        base_url: Some(server.endpoint()),
        region: Some("us-east-1".into()),
        timeout: Some(Duration::from_secs(10)),
        ..ProviderSettings::default()
    })
    .await;
    assert_eq!(bedrock.provider(), "bedrock");
    let events = all_events(&bedrock, request()).await;

    let deltas = events
        .iter()
        .filter(|e| matches!(e, Ok(ChatEvent::TextDelta(_))))
        .count();
    assert!(deltas > 2, "the text arrives in pieces: {events:?}");
    let text = text_of(&events);
    assert!(text.contains(QUESTION), "{text}");
    let n = events.len();
    assert_eq!(events[n - 1], Ok(ChatEvent::Finish(FinishReason::Stop)));
    let Ok(ChatEvent::Usage(usage)) = &events[n - 2] else {
        panic!("usage comes right before the finish: {events:?}");
    };
    assert_eq!(
        usage.input_tokens as usize,
        estimate_tokens(&format!("Answer briefly.\n{QUESTION}"))
    );
    assert_eq!(usage.output_tokens as usize, estimate_tokens(&text));
    assert!(usage.output_tokens > 0);
    assert_eq!((usage.cached_input_tokens, usage.reasoning_tokens), (0, 0));
    assert_eq!(server.calls()[0].operation, "converse-stream");
}

#[tokio::test]
async fn reasoning_streams_apart_from_the_answer_and_a_small_limit_ends_with_length() {
    let server = server_with(vec![]).await;
    let bedrock = model(&server, Duration::from_secs(10));
    let done = ports::chat::complete(
        &bedrock,
        ChatRequest {
            reasoning_effort: Some(ReasoningEffort::Low),
            ..request()
        },
    )
    .await
    .unwrap();
    assert!(done.reasoning.contains("words"), "{done:?}");
    assert!(done.text.contains(QUESTION));
    assert_eq!(done.finish_reason, Some(FinishReason::Stop));

    let short = ports::chat::complete(
        &bedrock,
        ChatRequest {
            max_output_tokens: Some(6),
            ..request()
        },
    )
    .await
    .unwrap();
    assert_eq!(short.finish_reason, Some(FinishReason::Length));
    assert!(short.usage.output_tokens <= 6);
}

#[tokio::test]
async fn throttling_and_outages_fail_the_call_before_any_event() {
    let server = server_with(vec![
        Fault::Throttle,
        Fault::ServerError,
        Fault::Unavailable,
    ])
    .await;
    let bedrock = model(&server, Duration::from_secs(10));
    match bedrock.stream(request()).await {
        Err(ProviderError::RateLimited { message, .. }) => {
            assert!(message.contains("ThrottlingException"), "{message}")
        }
        Err(other) => panic!("429 is rate limiting, not {other:?}"),
        Ok(_) => panic!("a throttled call has no stream"),
    }
    for expected in [500, 503] {
        match bedrock.stream(request()).await {
            Err(error @ ProviderError::Unavailable { status, .. }) => {
                assert_eq!(status, expected);
                assert!(error.is_transient(), "another model may be tried");
            }
            Err(other) => panic!("{expected} is an outage, not {other:?}"),
            Ok(_) => panic!("a failed call has no stream"),
        }
    }
}

#[tokio::test]
async fn a_conversation_bedrock_refuses_is_rejected_with_its_reason() {
    let server = server_with(vec![]).await;
    let bedrock = model(&server, Duration::from_secs(10));
    let error = bedrock
        .stream(ChatRequest {
            messages: vec![ChatMessage::assistant("Hello"), ChatMessage::user("Hi")],
            ..request()
        })
        .await
        .err()
        .unwrap();
    match error {
        ProviderError::Rejected { message } => {
            assert!(
                message.contains("must start with a user message"),
                "{message}"
            )
        }
        other => panic!("a refused conversation is rejected, not {other:?}"),
    }
}

#[tokio::test]
async fn a_stream_cut_mid_answer_ends_with_a_stream_error_after_the_deltas_sent() {
    let server = server_with(vec![Fault::Disconnect { after_deltas: 2 }]).await;
    let bedrock = model(&server, Duration::from_secs(10));
    let events = all_events(&bedrock, request()).await;
    let (last, before) = events.split_last().unwrap();
    assert!(
        matches!(last, Err(ProviderError::Stream { .. })),
        "the stream ends with its error: {events:?}"
    );
    assert_eq!(
        before
            .iter()
            .filter(|e| matches!(e, Ok(ChatEvent::TextDelta(_))))
            .count(),
        2
    );
    assert!(
        before
            .iter()
            .all(|e| matches!(e, Ok(ChatEvent::TextDelta(_)))),
        "no usage or finish for a cut answer: {events:?}"
    );
}

#[tokio::test]
async fn a_slow_first_token_still_arrives_because_the_timeout_only_bounds_acceptance() {
    let server = server_with(vec![Fault::SlowFirstToken { delay_ms: 600 }]).await;
    let bedrock = model(&server, Duration::from_millis(200));
    let done = ports::chat::complete(&bedrock, request()).await.unwrap();
    assert!(done.text.contains(QUESTION));
    assert_eq!(done.finish_reason, Some(FinishReason::Stop));
}

#[tokio::test]
async fn converse_answers_the_sdk_in_one_piece() {
    let server = server_with(vec![]).await;
    let sdk = studio_local::account::local_sdk_config(&server.endpoint());
    let client = aws_sdk_bedrockruntime::Client::new(&sdk);
    let message = aws_sdk_bedrockruntime::types::Message::builder()
        .role(aws_sdk_bedrockruntime::types::ConversationRole::User)
        .content(aws_sdk_bedrockruntime::types::ContentBlock::Text(
            QUESTION.into(),
        ))
        .build()
        .unwrap();
    let output = client
        .converse()
        .model_id(CLAUDE)
        .messages(message)
        .send()
        .await
        .unwrap();
    let text = output
        .output()
        .and_then(|o| o.as_message().ok())
        .and_then(|m| m.content().first())
        .and_then(|c| c.as_text().ok())
        .cloned()
        .unwrap_or_default();
    assert!(text.contains(QUESTION), "{text}");
    assert_eq!(
        output.stop_reason(),
        &aws_sdk_bedrockruntime::types::StopReason::EndTurn
    );
    let usage = output.usage().unwrap();
    assert_eq!(usage.output_tokens() as usize, estimate_tokens(&text));
}
