//! Model compare through the running stack: one prompt to an OpenAI-compatible model and a
//! Gemini model (each on its own mock provider), both answers streamed side by side with
//! their model and usage, one ledger row per side; a model the caller's roles do not allow
//! is refused before any provider is called.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use studio_local::mock_providers::{MockProviders, MockUsage, Script};
use studio_local::stack::seed::DEMO_TEAM_ID;
use studio_tests::http::{ApiClient, new_member, post_stream, ui_chunks};

fn admin() -> ApiClient {
    ApiClient::for_user("local-admin", "admin@example.com")
}

fn unique(name: &str) -> String {
    format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

async fn mock(reply: &str, usage: MockUsage) -> MockProviders {
    let mock = MockProviders::start().await.unwrap();
    mock.mock.set_script(Script {
        reply: Some(reply.to_owned()),
        usage,
        ..Script::default()
    });
    mock
}

/// A model of `provider` at `base_url` with these prices (USD per 1,000 tokens).
async fn model(provider: &str, base_url: String, prices: (&str, &str), roles: &[&str]) -> Value {
    let model_id = unique(&format!("compare-{provider}"));
    let (status, model) = admin()
        .post(
            "/models",
            json!({
                "provider": provider, "modelId": model_id, "name": format!("Compare {model_id}"),
                "capabilities": ["chat"], "allowedRoles": roles,
                "inputPricePer1k": prices.0, "outputPricePer1k": prices.1,
                "config": {"base_url": base_url},
            }),
        )
        .await;
    assert_eq!(status, 200, "{model}");
    model["data"].clone()
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// Each side's `data-part` data, by side.
fn by_side(chunks: &[Value], kind: &str) -> BTreeMap<String, Value> {
    chunks
        .iter()
        .filter(|c| c["type"] == kind)
        .map(|c| {
            (
                c["data"]["side"].as_str().unwrap().to_owned(),
                c["data"].clone(),
            )
        })
        .collect()
}

/// The text each side said: the deltas whose part id starts with the side.
fn text_of(chunks: &[Value], side: &str) -> String {
    chunks
        .iter()
        .filter(|c| c["type"] == "text-delta")
        .filter(|c| c["id"].as_str().unwrap().starts_with(&format!("{side}-")))
        .map(|c| c["delta"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn two_models_answer_side_by_side_with_their_usage_and_a_ledger_row_each() {
    let left_reply = "Left: the ridge trail is four kilometres long.";
    let right_reply = "Right: about four kilometres, with a steep final climb.";
    let left_usage = MockUsage {
        input: 40,
        output: 11,
        cached: 8,
        reasoning: 0,
    };
    let right_usage = MockUsage {
        input: 25,
        output: 7,
        cached: 0,
        reasoning: 2,
    };
    let (left_mock, right_mock) = (
        mock(left_reply, left_usage).await,
        mock(right_reply, right_usage).await,
    );
    let left = model(
        "openai_compatible",
        left_mock.openai_base_url(),
        ("0.001", "0.002"),
        &[],
    )
    .await;
    let right = model(
        "gemini",
        right_mock.gemini_base_url(),
        ("0.0005", "0.0015"),
        &[],
    )
    .await;
    // Gemini needs a key; executors read settings through a 1 s cache on the test stack.
    let admin = admin();
    let (status, set) = admin
        .call(
            reqwest::Method::PUT,
            "/settings/gemini.api_key",
            Some(json!({"value": "gemini-test-key", "isSecret": true})),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    let staff = new_member("staff", DEMO_TEAM_ID).await;
    let prompt = "How long is the ridge trail?";
    let (status, _, stream) = post_stream(
        &staff,
        "/compare",
        &json!({"prompt": prompt, "modelIds": [left["modelId"], right["id"]]}),
    )
    .await;
    assert_eq!(status, 200, "{stream}");
    let chunks = ui_chunks(&stream);
    assert!(!chunks.iter().any(|c| c["type"] == "error"), "{stream}");

    // Each side names its model, says what its provider sent, and reports its usage.
    let models = by_side(&chunks, "data-model");
    assert_eq!(models["a"]["modelId"], left["modelId"], "{stream}");
    assert_eq!(models["b"]["modelId"], right["modelId"], "{stream}");
    assert_eq!(text_of(&chunks, "a"), left_reply);
    assert_eq!(text_of(&chunks, "b"), right_reply);
    let usage = by_side(&chunks, "data-usage");
    assert_eq!(
        usage["a"]["usage"],
        json!({"inputTokens": 40, "outputTokens": 11, "cachedInputTokens": 8, "reasoningTokens": 0})
    );
    assert_eq!(
        usage["b"]["usage"],
        json!({"inputTokens": 25, "outputTokens": 7, "cachedInputTokens": 0, "reasoningTokens": 2})
    );
    // (32 * 0.001 + 8 * 0.001 + 11 * 0.002) / 1000; (25 * 0.0005 + 7 * 0.0015) / 1000.
    assert_eq!(d(usage["a"]["cost"].as_str().unwrap()), d("0.000062"));
    assert_eq!(d(usage["b"]["cost"].as_str().unwrap()), d("0.000023"));
    assert_eq!(usage["a"]["finishReason"], "stop");
    assert_eq!(usage["b"]["finishReason"], "stop");

    // Each provider was asked once, with the prompt.
    for (mock, api) in [(&left_mock, "openai"), (&right_mock, "gemini")] {
        let sent = mock.mock.requests();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].api, api);
        assert!(
            sent[0].body.to_string().contains(prompt),
            "{:?}",
            sent[0].body
        );
    }
    assert_eq!(
        left_mock.mock.requests()[0].model,
        left["modelId"].as_str().unwrap()
    );
    assert_eq!(
        right_mock.mock.requests()[0].model,
        right["modelId"].as_str().unwrap()
    );

    // The ledger has one row per side, with the same tokens and cost.
    let (status, report) = admin.get("/usage?groupBy=model").await;
    assert_eq!(status, 200, "{report}");
    let groups = report["data"]["groups"].as_array().unwrap();
    for (model, input, output, cached, cost) in [
        (&left, 40, 11, 8, "0.000062"),
        (&right, 25, 7, 0, "0.000023"),
    ] {
        let row = groups
            .iter()
            .find(|g| g["key"] == model["id"])
            .unwrap_or_else(|| panic!("no ledger row for {}: {report}", model["modelId"]));
        assert_eq!(row["calls"], 1, "{row}");
        assert_eq!(
            (
                &row["inputTokens"],
                &row["outputTokens"],
                &row["cachedTokens"]
            ),
            (&json!(input), &json!(output), &json!(cached)),
            "{row}"
        );
        assert_eq!(d(row["cost"].as_str().unwrap()), d(cost), "{row}");
    }

    admin
        .call(reqwest::Method::DELETE, "/settings/gemini.api_key", None)
        .await;
}

#[tokio::test]
async fn comparing_needs_the_tool_and_both_models_and_a_refusal_calls_no_provider() {
    let (open_mock, admin_mock) = (
        mock("Open to all.", MockUsage::default()).await,
        mock("Administrators only.", MockUsage::default()).await,
    );
    let open = model(
        "openai_compatible",
        open_mock.openai_base_url(),
        ("0.001", "0.002"),
        &[],
    )
    .await;
    let admin_only = model(
        "openai_compatible",
        admin_mock.openai_base_url(),
        ("0.001", "0.002"),
        &["administrator"],
    )
    .await;
    let refused = async |caller: &ApiClient, needle: &str| {
        let (status, _, refused) = post_stream(
            caller,
            "/compare",
            &json!({"prompt": "Which is better?", "modelIds": [open["id"], admin_only["id"]]}),
        )
        .await;
        assert_eq!(status, 403, "{refused}");
        let refused: Value = serde_json::from_str(&refused).unwrap();
        assert_eq!(refused["error"]["code"], "forbidden", "{refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{refused}"
        );
    };
    // Students' role does not grant model compare at all.
    let student = new_member("student", DEMO_TEAM_ID).await;
    refused(&student, "model_compare").await;
    // Staff may compare, but not with a model only administrators may use.
    let staff = new_member("staff", DEMO_TEAM_ID).await;
    refused(&staff, "administrator only").await;
    assert_eq!(open_mock.mock.request_count(), 0);
    assert_eq!(admin_mock.mock.request_count(), 0);

    // An administrator may compare the same two.
    let (status, _, stream) = post_stream(
        &admin(),
        "/compare",
        &json!({"prompt": "Which is better?", "modelIds": [open["id"], admin_only["id"]]}),
    )
    .await;
    assert_eq!(status, 200, "{stream}");
    let chunks = ui_chunks(&stream);
    assert_eq!(text_of(&chunks, "a"), "Open to all.");
    assert_eq!(text_of(&chunks, "b"), "Administrators only.");
}
