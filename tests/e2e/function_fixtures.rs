//! The chat-stream and scheduled-executor binaries, run as Lambda runs them (under the
//! local Runtime API, with the running stack's environment), fed their `events/` fixtures.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use studio_local::runtime_api::{Answer, FunctionProcess, RuntimeApi};

fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join(name);
    assert!(
        binary.exists(),
        "{} is built by scripts/test.sh",
        binary.display()
    );
    binary
}

async fn started(name: &str) -> (RuntimeApi, FunctionProcess) {
    let api = RuntimeApi::start().await.unwrap();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let mut function = api.spawn_function(&binary(name), &env).unwrap();
    api.wait_ready(&mut function, Duration::from_secs(20))
        .await
        .unwrap();
    (api, function)
}

#[tokio::test]
async fn the_chat_fixture_streams_an_ai_sdk_answer_from_the_offline_model() {
    let (api, _function) = started("chat-stream").await;
    let event = include_str!("../../events/chat-stream/chat.json");
    let Answer::Streamed(mut stream) = api.invoke_answer(event.into()).await.unwrap() else {
        panic!("chat-stream answered without streaming");
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(bytes).unwrap();
    let (prelude, body) = text.split_once("\0\0\0\0\0\0\0\0").unwrap();
    let prelude: Value = serde_json::from_str(prelude).unwrap();
    assert_eq!(prelude["statusCode"], 200, "{prelude}");
    assert_eq!(prelude["headers"]["x-vercel-ai-ui-message-stream"], "v1");
    assert!(prelude["headers"]["x-conversation-id"].is_string());
    let chunks: Vec<Value> = body
        .split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    assert_eq!(chunks.first().unwrap()["type"], "start");
    assert_eq!(chunks.last().unwrap()["type"], "finish");
    let answer: String = chunks
        .iter()
        .filter(|c| c["type"] == "text-delta")
        .map(|c| c["delta"].as_str().unwrap())
        .collect();
    assert!(answer.to_lowercase().contains("offline"), "{answer}");
    assert!(body.ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn the_scheduled_executor_takes_its_tick_and_queue_fixtures() {
    let (api, _function) = started("scheduled-executor").await;
    let tick: Value =
        serde_json::from_str(include_str!("../../events/scheduled-executor/tick.json")).unwrap();
    let ran = api.invoke(&tick).await.unwrap();
    assert!(ran["ran"].is_array(), "{ran}");
    // A queued run whose execution does not exist (or was taken) is acknowledged, not retried.
    let queued: Value = serde_json::from_str(include_str!(
        "../../events/scheduled-executor/assistant-run.json"
    ))
    .unwrap();
    let response = api.invoke(&queued).await.unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    // Anything else is refused with a reason.
    let refused = api.invoke(&json!({"hello": "world"})).await.unwrap_err();
    assert!(refused.to_string().contains("Scheduled Event"), "{refused}");
}
