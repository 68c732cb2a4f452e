//! Chat through the running stack, as other users and with secrets: a user of no team
//! cannot read a conversation or cite another team's documents; a provider key set as a
//! secret reaches the provider and never a response or a log line.

use serde_json::{Value, json};
use studio_local::mock_providers::{MockProviders, Script};
use studio_tests::http::{ApiClient, env, post_stream};

fn chat_body(model: &str, repositories: &[&str]) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "messages": [{"id": uuid::Uuid::new_v4().to_string(), "role": "user",
                      "parts": [{"type": "text", "text": "What do the field notes say?"}]}],
        "modelId": model, "repositoryIds": repositories,
    })
}

/// Posts a chat turn: status, body, conversation id.
async fn stream(user: &ApiClient, body: Value) -> (u16, String, Option<String>) {
    let (status, conversation, body) = post_stream(user, "/chat", &body).await;
    (status, body, conversation)
}

#[tokio::test]
async fn an_outsider_cannot_cite_a_teams_documents_or_read_its_conversations() {
    let staff = ApiClient::for_user("local-staff", "staff@example.com");
    let repository = staff
        .repository(&format!("notes-{}", uuid::Uuid::new_v4()))
        .await;
    let (status, body, conversation) =
        stream(&staff, chat_body("offline-answerer", &[&repository])).await;
    assert_eq!(status, 200, "{body}");
    let conversation = conversation.unwrap();

    let who = uuid::Uuid::new_v4();
    let outsider = ApiClient::for_user(
        &format!("outsider-{who}"),
        &format!("outsider-{who}@elsewhere.example"),
    );
    let (status, body, _) = stream(&outsider, chat_body("offline-answerer", &[&repository])).await;
    assert!(status == 403 || status == 404, "{status} {body}");
    assert!(!body.contains("source-document"), "{body}");
    let (status, read) = outsider
        .get(&format!("/conversations/{conversation}/messages"))
        .await;
    assert_eq!(status, 404, "{read}");
    let (_, listed) = outsider.get("/conversations").await;
    assert!(!listed.to_string().contains(&conversation), "{listed}");
    let (status, mine) = staff
        .get(&format!("/conversations/{conversation}/messages"))
        .await;
    assert_eq!(status, 200, "{mine}");
}

#[tokio::test]
async fn a_provider_key_stored_as_a_secret_is_used_and_never_shown_or_logged() {
    let key = format!("sk-test-{}", uuid::Uuid::new_v4().simple());
    let mock = MockProviders::start().await.unwrap();
    mock.mock.set_script(Script {
        reply: Some("Authorized answer.".into()),
        api_key: Some(key.clone()),
        ..Script::default()
    });
    let admin = ApiClient::for_user("local-admin", "admin@example.com");
    let model_id = format!("keyed-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut seen = Vec::new();
    let (status, created) = admin
        .post("/models", json!({"provider": "openai", "modelId": model_id, "name": model_id, "capabilities": ["chat"],
                                "config": {"base_url": mock.openai_base_url()}}))
        .await;
    assert_eq!(status, 200, "{created}");
    seen.push(created.to_string());
    let (status, set) = admin
        .call(
            reqwest::Method::PUT,
            "/settings/openai.api_key",
            Some(json!({"value": key, "isSecret": true})),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    seen.push(set.to_string());
    let (_, listed) = admin.get("/settings").await;
    seen.push(listed.to_string());

    // The executors read settings through a cache (1 s on the test stack).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let staff = ApiClient::for_user("local-staff", "staff@example.com");
    let (status, body, _) = stream(&staff, chat_body(&model_id, &[])).await;
    assert_eq!(status, 200, "{body}");
    let said: String = body
        .split(
            "

",
        )
        .filter_map(|frame| frame.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter(|chunk| chunk["type"] == "text-delta")
        .map(|chunk| chunk["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        said, "Authorized answer.",
        "the key reached the provider: {body}"
    );
    seen.push(body);
    let sent = &mock.mock.requests()[0];
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );

    for text in &seen {
        assert!(!text.contains(&key), "a response carried the key: {text}");
    }
    let logs = std::path::PathBuf::from(env("STUDIO_DEV_KEY_FILE"))
        .parent()
        .unwrap()
        .to_owned();
    for entry in std::fs::read_dir(&logs).unwrap().filter_map(Result::ok) {
        if entry.path().extension().is_some_and(|e| e == "log") {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            assert!(
                !text.contains(&key),
                "{} logged the key",
                entry.path().display()
            );
        }
    }
    admin
        .call(reqwest::Method::DELETE, "/settings/openai.api_key", None)
        .await;
}
