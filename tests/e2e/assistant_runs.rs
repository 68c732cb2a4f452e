//! Assistant chains and schedules through the running stack: the API queues a run, the
//! scheduled-executor binary runs it against a mock OpenAI-compatible provider (started
//! here), with knowledge from a repository and the web_search tool (the stack's Brave
//! mock); a schedule created through the API fires and its e-mail lands in the mailbox.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use studio_local::mock_providers::{Fault, MockProviders, Script};
use studio_tests::http::{ApiClient, env};

fn staff() -> ApiClient {
    ApiClient::for_user("local-staff", "staff@example.com")
}

async fn mock_model(mock: &MockProviders, model_id: &str) -> String {
    let admin = ApiClient::for_user("local-admin", "admin@example.com");
    let (status, model) = admin
        .post(
            "/models",
            json!({
                "provider": "openai_compatible", "modelId": model_id, "name": format!("Mock {model_id}"),
                "capabilities": ["chat"], "inputPricePer1k": "0.001", "outputPricePer1k": "0.002",
                "config": {"base_url": mock.openai_base_url()},
            }),
        )
        .await;
    assert_eq!(status, 200, "{model}");
    model["data"]["id"].as_str().unwrap().to_owned()
}

fn unique(name: &str) -> String {
    format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

async fn run_to_end(user: &ApiClient, assistant: &str, inputs: Value) -> Value {
    let (status, queued) = user
        .post(
            &format!("/assistants/{assistant}/executions"),
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(status, 200, "{queued}");
    let execution = queued["data"]["executionId"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let (_, shown) = user.get(&format!("/executions/{execution}")).await;
        let status = shown["data"]["execution"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if status == "completed" || status == "failed" {
            return shown["data"].clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "execution stuck in {status}: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_chain_with_a_parallel_pair_knowledge_and_web_search_runs_and_a_failing_prompt_stops_its_dependants()
 {
    let mock = MockProviders::start().await.unwrap();
    mock.mock.set_script(Script {
        reply: None,
        ..Script::default()
    });
    let model_id = unique("chain-model");
    let model = mock_model(&mock, &model_id).await;
    let user = staff();
    let repository = user.repository(&unique("tides")).await;
    let fact = "Spring tides at Penhallow Cove rise 6.2 metres above chart datum.";
    let (status, item) = user
        .post(
            &format!("/repositories/{repository}/items"),
            json!({"type": "text", "name": "tides.md", "text": format!("# Tides\n\n{fact}\n")}),
        )
        .await;
    assert_eq!(status, 200, "{item}");
    let settled = user
        .settle(item["data"]["item"]["id"].as_str().unwrap())
        .await;
    assert_eq!(settled["status"], "completed", "{settled}");

    let definition = json!({
        "name": unique("Tide brief"),
        "inputFields": [{"name": "topic", "label": "Topic", "type": "short_text", "required": true}],
        "prompts": [
            {"name": "Research", "content": "Research {{topic}} at Penhallow Cove", "modelId": model,
             "repositoryIds": [repository], "enabledTools": ["web_search"]},
            {"name": "Short", "content": "Shorten: {{prompt_1.output}}", "modelId": model, "parallelGroup": 1},
            {"name": "Long", "content": "Expand: {{Research}}", "modelId": model, "parallelGroup": 1},
        ],
    });
    let (status, assistant) = user.post("/assistants", definition).await;
    assert_eq!(status, 200, "{assistant}");
    let assistant = assistant["data"]["id"].as_str().unwrap().to_owned();

    let run = run_to_end(&user, &assistant, json!({"topic": "spring tides"})).await;
    assert_eq!(run["execution"]["status"], "completed", "{run}");
    let results = run["results"].as_array().unwrap();
    let outputs: Vec<&str> = results
        .iter()
        .map(|r| r["output"].as_str().unwrap())
        .collect();
    assert_eq!(outputs[0], "Research spring tides at Penhallow Cove");
    assert_eq!(outputs[1], format!("Shorten: {}", outputs[0]));
    assert_eq!(outputs[2], format!("Expand: {}", outputs[0]));
    for result in results {
        assert_eq!(result["status"], "completed");
        assert_eq!(
            (
                result["inputTokens"].as_i64(),
                result["outputTokens"].as_i64()
            ),
            (Some(57), Some(23)),
            "{result}"
        );
        assert_ne!(result["cost"], "0", "{result}");
    }
    assert_eq!(results[0]["citations"][0]["title"], "tides.md");
    // The first prompt's model call carried the passage and the search results.
    let first = mock
        .mock
        .requests()
        .into_iter()
        .find(|r| r.body.to_string().contains("Research spring tides"))
        .unwrap();
    let sent = first.body.to_string();
    assert!(
        sent.contains("6.2 metres"),
        "knowledge reached the model: {sent}"
    );
    assert!(
        sent.contains("web_search"),
        "search results reached the model: {sent}"
    );
    let events: Vec<String> = run["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let position = e["data"]["position"]
                .as_i64()
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            format!("{}{position}", e["eventType"].as_str().unwrap())
        })
        .collect();
    let at = |name: &str| {
        events
            .iter()
            .position(|e| e == name)
            .unwrap_or_else(|| panic!("{name} in {events:?}"))
    };
    assert_eq!(events.first().map(String::as_str), Some("execution-start"));
    assert_eq!(
        events.last().map(String::as_str),
        Some("execution-complete")
    );
    assert!(at("prompt-start:0") < at("knowledge-retrieved:0"));
    assert!(at("tool-call:0") < at("prompt-complete:0"));
    assert!(at("prompt-complete:0") < at("prompt-start:1").min(at("prompt-start:2")));
    assert!(
        at("prompt-start:1").max(at("prompt-start:2"))
            < at("prompt-complete:1").min(at("prompt-complete:2"))
    );

    // The same events as a server-sent event stream, ending once the run has finished.
    let execution = run["execution"]["id"].as_str().unwrap();
    let sse = reqwest::Client::new()
        .get(format!(
            "{}/executions/{execution}/events",
            env("STUDIO_API_URL")
        ))
        .bearer_auth(user.token())
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    assert_eq!(sse.headers()["content-type"], "text/event-stream");
    let text = sse.text().await.unwrap();
    let streamed: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("event: "))
        .collect();
    assert_eq!(streamed.first(), Some(&"execution-start"), "{text}");
    assert_eq!(
        streamed.iter().rev().nth(1),
        Some(&"execution-complete"),
        "{text}"
    );
    assert_eq!(streamed.last(), Some(&"end"), "{text}");
    let outsider = ApiClient::for_user(
        &format!("outsider-{execution}"),
        &format!("outsider-{execution}@elsewhere.example"),
    );
    let (status, _) = outsider.get(&format!("/executions/{execution}")).await;
    assert_eq!(status, 404, "another user cannot read the run");

    // A failing middle prompt: its provider keeps answering 500.
    let broken_id = unique("broken-model");
    let broken = mock_model(&mock, &broken_id).await;
    mock.mock.fail_next_for(&broken_id, 50, Fault::ServerError);
    let definition = json!({
        "name": unique("Fragile brief"),
        "prompts": [
            {"name": "One", "content": "Start", "modelId": model},
            {"name": "Two", "content": "Continue {{One}}", "modelId": broken},
            {"name": "Three", "content": "Finish {{Two}}", "modelId": model},
        ],
    });
    let (_, fragile) = user.post("/assistants", definition).await;
    let fragile = fragile["data"]["id"].as_str().unwrap().to_owned();
    let run = run_to_end(&user, &fragile, json!({})).await;
    assert_eq!(run["execution"]["status"], "failed");
    assert!(
        run["execution"]["error"]
            .as_str()
            .unwrap()
            .contains("Two failed"),
        "{run}"
    );
    let statuses: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["completed", "failed", "skipped"]);
    assert_eq!(run["results"][0]["output"], "Start");
}

#[tokio::test]
async fn a_schedule_created_through_the_api_fires_and_mails_its_result() {
    let mock = MockProviders::start().await.unwrap();
    mock.mock.set_script(Script {
        reply: Some("All quiet on the coast.".into()),
        ..Script::default()
    });
    let model = mock_model(&mock, &unique("schedule-model")).await;
    let user = staff();
    let (_, assistant) = user
        .post(
            "/assistants",
            json!({"name": unique("Coast watch"), "prompts": [{"name": "Watch", "content": "Report", "modelId": model}]}),
        )
        .await;
    let assistant = assistant["data"]["id"].as_str().unwrap().to_owned();
    let name = unique("Every minute");
    let (status, schedule) = user
        .post(
            "/schedules",
            json!({"assistantId": assistant, "name": name, "frequency": "custom", "cron": "* * * * *", "timezone": "UTC"}),
        )
        .await;
    assert_eq!(status, 200, "{schedule}");
    let mailbox = std::path::PathBuf::from(env("STUDIO_MAILBOX_DIR"));
    let started = Instant::now();
    let mail = loop {
        let found = std::fs::read_dir(&mailbox).ok().and_then(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .find(|text| text.contains(&name))
        });
        if let Some(mail) = found {
            break mail;
        }
        assert!(
            started.elapsed() < Duration::from_secs(100),
            "no e-mail for {name}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(mail.contains(&format!("{name}: completed")), "{mail}");
    assert!(mail.contains("result.md"), "the result is attached: {mail}");
    assert!(
        mail.contains("To: staff@example.com") || mail.contains("staff@example.com"),
        "{mail}"
    );
    let (_, mine) = user.get("/notifications").await;
    assert!(
        mine.to_string().contains(&name),
        "an in-app notification too: {mine}"
    );
    // It ran once for its slot and is still on.
    let id = schedule["data"]["id"].as_str().unwrap();
    let (_, shown) = user.get(&format!("/schedules/{id}")).await;
    assert_eq!(shown["data"]["active"], true, "{shown}");
    user.call(reqwest::Method::DELETE, &format!("/schedules/{id}"), None)
        .await;
}
