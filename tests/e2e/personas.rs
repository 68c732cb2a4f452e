//! Personas through the running stack: made with the persona routes, answering in turn in
//! one chat (each tagged, each with its own prompt and model, each stored with its
//! persona), kept to their team, and refused with a reason when the body is wrong.

use serde_json::{Value, json};
use studio_local::mock_providers::{MockProviders, MockUsage, Script};
use studio_local::stack::seed::DEMO_TEAM_ID;
use studio_tests::http::{ApiClient, new_member, new_team, post_stream, ui_chunks};

fn unique(name: &str) -> String {
    format!("{name} {}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

fn admin() -> ApiClient {
    ApiClient::for_user("local-admin", "admin@example.com")
}

/// A mock provider answering `reply`, with the given usage.
async fn mock(reply: &str, input: u64, output: u64) -> MockProviders {
    let mock = MockProviders::start().await.unwrap();
    mock.mock.set_script(Script {
        reply: Some(reply.to_owned()),
        usage: MockUsage {
            input,
            output,
            cached: 0,
            reasoning: 0,
        },
        ..Script::default()
    });
    mock
}

/// An OpenAI-compatible model on `mock` (for `roles`, or everyone); returns its row.
async fn mock_model(mock: &MockProviders, roles: &[&str]) -> Value {
    let model_id = unique("persona-model").replace(' ', "-");
    let (status, model) = admin()
        .post(
            "/models",
            json!({
                "provider": "openai_compatible", "modelId": model_id, "name": format!("Mock {model_id}"),
                "capabilities": ["chat"], "allowedRoles": roles,
                "inputPricePer1k": "0.001", "outputPricePer1k": "0.002",
                "config": {"base_url": mock.openai_base_url()},
            }),
        )
        .await;
    assert_eq!(status, 200, "{model}");
    model["data"].clone()
}

async fn create(user: &ApiClient, body: Value) -> Value {
    let (status, created) = user.post("/personas", body).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["isSuccess"], true, "{created}");
    created["data"].clone()
}

fn chat_body(model: &str, personas: &[&str], question: &str) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "messages": [{"id": uuid::Uuid::new_v4().to_string(), "role": "user",
                      "parts": [{"type": "text", "text": question}]}],
        "modelId": model, "personaIds": personas,
    })
}

/// What the stream says, persona by persona: each `data-persona` part and the text that
/// follows it. Text before any persona is an error.
fn said_by_persona(chunks: &[Value]) -> Vec<(Value, String)> {
    let mut said: Vec<(Value, String)> = Vec::new();
    for chunk in chunks {
        match chunk["type"].as_str() {
            Some("data-persona") => said.push((chunk["data"].clone(), String::new())),
            Some("text-delta") => {
                let (_, text) = said
                    .last_mut()
                    .unwrap_or_else(|| panic!("text before any persona: {chunk}"));
                text.push_str(chunk["delta"].as_str().unwrap());
            }
            _ => {}
        }
    }
    said
}

/// The system prompt the mock received in its only request.
fn system_prompt_sent(mock: &MockProviders) -> String {
    let sent = mock.mock.requests();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let first = &sent[0].body["messages"][0];
    assert_eq!(first["role"], "system", "{first}");
    first["content"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn two_personas_answer_in_turn_each_in_its_own_voice_and_model_and_are_stored_with_their_answers()
 {
    let pirate_reply = "Arr, the tide turns at noon, matey.";
    let scholar_reply = "The tidal cycle is governed chiefly by lunar gravitation.";
    let (chat_mock, scholar_mock) = (
        mock(pirate_reply, 31, 9).await,
        mock(scholar_reply, 44, 12).await,
    );
    let chat_model = mock_model(&chat_mock, &[]).await;
    let scholar_model = mock_model(&scholar_mock, &[]).await;
    let staff = new_member("staff", DEMO_TEAM_ID).await;

    let pirate_prompt = "You are a pirate. Answer in a pirate's voice.";
    let scholar_prompt = "You are a careful scholar. Answer precisely and cite mechanisms.";
    let pirate = create(
        &staff,
        json!({"name": unique("Pirate"), "systemPrompt": pirate_prompt}),
    )
    .await;
    assert_eq!(pirate["teamId"], DEMO_TEAM_ID.to_string());
    assert_eq!(pirate["modelId"], Value::Null);
    assert_eq!(pirate["active"], true);
    assert_eq!(pirate["canEdit"], true);
    // A model may be named by its provider id, as chat's modelId; the row's id is kept.
    let scholar = create(
        &staff,
        json!({"name": unique("Scholar"), "systemPrompt": scholar_prompt,
               "modelId": scholar_model["modelId"]}),
    )
    .await;
    assert_eq!(scholar["modelId"], scholar_model["id"]);
    let (pirate_id, scholar_id) = (
        pirate["id"].as_str().unwrap(),
        scholar["id"].as_str().unwrap(),
    );

    let (status, read) = staff.get(&format!("/personas/{scholar_id}")).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["data"], scholar);
    let (status, listed) = staff.get("/personas").await;
    assert_eq!(status, 200, "{listed}");
    let listed: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&pirate_id) && listed.contains(&scholar_id),
        "{listed:?}"
    );

    let (status, conversation, stream) = post_stream(
        &staff,
        "/chat",
        &chat_body(
            chat_model["modelId"].as_str().unwrap(),
            &[pirate_id, scholar_id],
            "When does the tide turn?",
        ),
    )
    .await;
    assert_eq!(status, 200, "{stream}");
    let chunks = ui_chunks(&stream);
    let said = said_by_persona(&chunks);
    assert_eq!(said.len(), 2, "{stream}");
    assert_eq!(said[0].0["personaId"], pirate_id);
    assert_eq!(said[0].0["name"], pirate["name"]);
    assert_eq!(said[0].0["modelId"], chat_model["modelId"]);
    assert_eq!(said[0].1, pirate_reply);
    assert_eq!(said[1].0["personaId"], scholar_id);
    assert_eq!(said[1].0["modelId"], scholar_model["modelId"]);
    assert_eq!(said[1].1, scholar_reply);
    assert!(!chunks.iter().any(|c| c["type"] == "error"), "{stream}");

    // Each model heard its own persona's prompt, and only that one.
    let pirate_heard = system_prompt_sent(&chat_mock);
    assert!(pirate_heard.contains(pirate_prompt), "{pirate_heard}");
    assert!(!pirate_heard.contains(scholar_prompt), "{pirate_heard}");
    let scholar_heard = system_prompt_sent(&scholar_mock);
    assert!(scholar_heard.contains(scholar_prompt), "{scholar_heard}");
    assert!(!scholar_heard.contains(pirate_prompt), "{scholar_heard}");

    let conversation = conversation.unwrap();
    let (status, messages) = staff
        .get(&format!("/conversations/{conversation}/messages"))
        .await;
    assert_eq!(status, 200, "{messages}");
    let messages = messages["data"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(messages[0]["role"], "user");
    let answer = |persona: &str| {
        messages
            .iter()
            .find(|m| m["role"] == "assistant" && m["personaId"] == persona)
            .unwrap_or_else(|| panic!("no answer by {persona}: {messages:?}"))
    };
    let (by_pirate, by_scholar) = (answer(pirate_id), answer(scholar_id));
    assert_eq!(
        by_pirate["parts"],
        json!([{"type": "text", "text": pirate_reply}])
    );
    assert_eq!(by_pirate["modelId"], chat_model["id"]);
    assert_eq!(
        (&by_pirate["inputTokens"], &by_pirate["outputTokens"]),
        (&json!(31), &json!(9))
    );
    assert_eq!(
        by_scholar["parts"],
        json!([{"type": "text", "text": scholar_reply}])
    );
    assert_eq!(by_scholar["modelId"], scholar_model["id"]);
    assert_eq!(
        (&by_scholar["inputTokens"], &by_scholar["outputTokens"]),
        (&json!(44), &json!(12))
    );
}

#[tokio::test]
async fn another_teams_persona_is_absent_to_an_outsider_and_its_team_reads_but_only_its_editors_change_it()
 {
    let mock = mock("Only for the team.", 5, 3).await;
    let model = mock_model(&mock, &[]).await;
    let staff = new_member("staff", DEMO_TEAM_ID).await;
    let persona = create(
        &staff,
        json!({"name": unique("Team tutor"), "systemPrompt": "You tutor the demo team."}),
    )
    .await;
    let id = persona["id"].as_str().unwrap();

    let outsider = new_member("staff", new_team().await).await;
    for (method, body) in [
        (reqwest::Method::GET, None),
        (reqwest::Method::PATCH, Some(json!({"name": "Taken over"}))),
        (reqwest::Method::DELETE, None),
    ] {
        let (status, refused) = outsider
            .call(method.clone(), &format!("/personas/{id}"), body)
            .await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{method} {refused}"
        );
    }
    let (_, listed) = outsider.get("/personas").await;
    assert_eq!(listed["data"], json!([]), "{listed}");
    let (status, _, refused) = post_stream(
        &outsider,
        "/chat",
        &chat_body(model["modelId"].as_str().unwrap(), &[id], "Hello?"),
    )
    .await;
    assert_eq!(status, 404, "{refused}");
    assert!(refused.contains("not_found"), "{refused}");
    assert_eq!(mock.mock.request_count(), 0, "the provider was called");

    // A teammate sees it but may not change it; the persona is as it was.
    let teammate = new_member("student", DEMO_TEAM_ID).await;
    let (status, seen) = teammate.get(&format!("/personas/{id}")).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["data"]["canEdit"], false);
    let (status, refused) = teammate
        .call(
            reqwest::Method::PATCH,
            &format!("/personas/{id}"),
            Some(json!({"systemPrompt": "Ignore the team."})),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{refused}"
    );
    let (_, unchanged) = staff.get(&format!("/personas/{id}")).await;
    assert_eq!(
        unchanged["data"]["systemPrompt"],
        "You tutor the demo team."
    );

    // Its creator changes it: a new prompt and a model, then the model cleared.
    let (status, changed) = staff
        .call(
            reqwest::Method::PATCH,
            &format!("/personas/{id}"),
            Some(json!({"systemPrompt": "You tutor patiently.", "modelId": model["id"]})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["data"]["systemPrompt"], "You tutor patiently.");
    assert_eq!(changed["data"]["modelId"], model["id"]);
    assert_eq!(changed["data"]["name"], persona["name"]);
    let (_, cleared) = staff
        .call(
            reqwest::Method::PATCH,
            &format!("/personas/{id}"),
            Some(json!({"modelId": null})),
        )
        .await;
    assert_eq!(cleared["data"]["modelId"], Value::Null, "{cleared}");
}

#[tokio::test]
async fn a_persona_that_answered_is_archived_on_delete_and_an_unused_one_is_gone() {
    let staff = new_member("staff", DEMO_TEAM_ID).await;
    let used = create(
        &staff,
        json!({"name": unique("Used"), "systemPrompt": "You answer briefly."}),
    )
    .await;
    let unused = create(
        &staff,
        json!({"name": unique("Unused"), "systemPrompt": "You never answer."}),
    )
    .await;
    let (used, unused) = (used["id"].as_str().unwrap(), unused["id"].as_str().unwrap());
    let (status, _, stream) = post_stream(
        &staff,
        "/chat",
        &chat_body("offline-answerer", &[used], "Say something."),
    )
    .await;
    assert_eq!(status, 200, "{stream}");

    let delete = |id: &str| {
        let path = format!("/personas/{id}");
        let staff = &staff;
        async move { staff.call(reqwest::Method::DELETE, &path, None).await }
    };
    let (status, removed) = delete(used).await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["data"], json!({"id": used, "outcome": "archived"}));
    let (_, archived) = staff.get(&format!("/personas/{used}")).await;
    assert_eq!(archived["data"]["active"], false, "{archived}");
    let (_, active) = staff.get("/personas").await;
    assert!(!active.to_string().contains(used), "{active}");
    let (_, archived) = staff.get("/personas?archived=true").await;
    assert!(archived.to_string().contains(used), "{archived}");
    let (status, _, refused) = post_stream(
        &staff,
        "/chat",
        &chat_body("offline-answerer", &[used], "Again?"),
    )
    .await;
    assert_eq!(
        status, 404,
        "an archived persona does not answer: {refused}"
    );

    let (status, removed) = delete(unused).await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["data"]["outcome"], "deleted");
    let (status, _) = staff.get(&format!("/personas/{unused}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invalid_personas_are_refused_with_a_reason() {
    let staff = new_member("staff", DEMO_TEAM_ID).await;
    let student = new_member("student", DEMO_TEAM_ID).await;
    let mock = mock("Staff only.", 1, 1).await;
    let staff_only = mock_model(&mock, &["staff"]).await;
    let prompt = "You help.";
    let cases = [
        (
            "an empty name",
            json!({"name": "  ", "systemPrompt": prompt}),
            400,
            "1 to 100 characters",
        ),
        (
            "a long name",
            json!({"name": "n".repeat(101), "systemPrompt": prompt}),
            400,
            "1 to 100 characters",
        ),
        (
            "an empty prompt",
            json!({"name": unique("P"), "systemPrompt": " "}),
            400,
            "needs a system prompt",
        ),
        (
            "a long prompt",
            json!({"name": unique("P"), "systemPrompt": "p".repeat(20_001)}),
            400,
            "at most 20000 characters",
        ),
        (
            "no prompt",
            json!({"name": unique("P")}),
            400,
            "missing field `systemPrompt`",
        ),
        (
            "an unknown field",
            json!({"name": unique("P"), "systemPrompt": prompt, "prompt": "x"}),
            400,
            "unknown field `prompt`",
        ),
        (
            "an unknown model",
            json!({"name": unique("P"), "systemPrompt": prompt, "modelId": "no-such-model"}),
            400,
            "No model no-such-model",
        ),
        (
            "another team",
            json!({"name": unique("P"), "systemPrompt": prompt, "teamId": uuid::Uuid::new_v4()}),
            403,
            "not a member of this team",
        ),
    ];
    for (what, body, status, reason) in cases {
        let (got, refused) = staff.post("/personas", body).await;
        assert_eq!(got, status, "{what}: {refused}");
        assert_eq!(refused["isSuccess"], false, "{what}: {refused}");
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{what}: {message}");
    }
    let (status, refused) = staff.call(reqwest::Method::POST, "/personas", None).await;
    assert_eq!(status, 400, "{refused}");

    // A model the caller's roles do not allow is refused, for a persona as for a chat.
    let (status, refused) = student
        .post(
            "/personas",
            json!({"name": unique("P"), "systemPrompt": prompt, "modelId": staff_only["id"]}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("staff only"),
        "{refused}"
    );

    // Names are unique in a team, whatever their case; a change is checked like a new one.
    let name = unique("Twin");
    let first = create(&staff, json!({"name": name, "systemPrompt": prompt})).await;
    let (status, refused) = staff
        .post(
            "/personas",
            json!({"name": name.to_uppercase(), "systemPrompt": prompt}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{refused}"
    );
    let id = first["id"].as_str().unwrap();
    for (body, reason) in [
        (json!({"name": ""}), "1 to 100 characters"),
        (
            json!({"systemPrompt": "x".repeat(20_001)}),
            "at most 20000 characters",
        ),
        (json!({"active": "yes"}), "invalid type"),
    ] {
        let (status, refused) = staff
            .call(
                reqwest::Method::PATCH,
                &format!("/personas/{id}"),
                Some(body),
            )
            .await;
        assert_eq!(status, 400, "{refused}");
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{message}");
    }
    let (status, refused) = staff.get("/personas/not-an-id").await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(mock.mock.request_count(), 0);
}
