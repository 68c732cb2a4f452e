//! The template is the stack: copies of infra/template.yaml, each changed in one place,
//! run as stacks of their own, and the change shows as it would on AWS. A statement taken
//! from the api's role refuses the call it allowed; a consumer whose Timeout, visibility
//! timeout and maxReceiveCount are shrunk is killed on every delivery and its item ends
//! `failed` with the reason; a chain far longer than the executor's Timeout completes.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::data_api::Params;
use studio_local::mock_providers::{MockProviders, Script};
use studio_tests::http::ApiClient;
use studio_tests::private_stack::{PrivateStack, edited_template, set_in};

/// A model of the private stack's catalogue, answered by `mock`.
async fn mock_model(admin: &ApiClient, mock: &MockProviders) -> String {
    let (status, model) = admin
        .post(
            "/models",
            json!({
                "provider": "openai_compatible", "modelId": format!("mock-{}", uuid::Uuid::new_v4().simple()),
                "name": "Mock", "capabilities": ["chat"], "inputPricePer1k": "0.001",
                "outputPricePer1k": "0.002", "config": {"base_url": mock.openai_base_url()},
            }),
        )
        .await;
    assert_eq!(status, 200, "{model}");
    model["data"]["id"].as_str().unwrap().to_owned()
}

async fn assistant(user: &ApiClient, prompts: Vec<Value>) -> String {
    let (status, created) = user
        .post(
            "/assistants",
            json!({"name": format!("Chain {}", uuid::Uuid::new_v4()), "prompts": prompts}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    created["data"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_statement_taken_from_the_api_role_refuses_its_call_with_access_denied() {
    let statement =
        "            # POST /assistants/{id}/executions queues the run for the scheduled-executor.
            - Sid: AssistantRuns
              Effect: Allow
              Action: sqs:SendMessage
              Resource: !GetAtt AssistantRunsQueue.Arn
";
    let template = edited_template(|text| {
        assert!(text.contains(statement), "the api's statement moved");
        text.replace(statement, "")
    });
    let stack = PrivateStack::start(&template, &[]).await;
    let team = stack.t.team().await;
    let admin = stack.member("administrator", team).await;
    let staff = stack.member("staff", team).await;
    let mock = MockProviders::start().await.unwrap();
    let model = mock_model(&admin, &mock).await;
    let chain = assistant(
        &staff,
        vec![json!({"name": "Only", "content": "Say hello", "modelId": model})],
    )
    .await;

    let (status, body) = staff
        .post(
            &format!("/assistants/{chain}/executions"),
            json!({"inputs": {}}),
        )
        .await;
    assert!(status >= 500, "queuing the run must fail: {status} {body}");
    let log = stack.log("api");
    assert!(
        log.contains("AccessDenied") && log.contains("sqs:SendMessage"),
        "the api was refused by IAM, as on AWS: {log}"
    );
    assert!(
        mock.mock.requests().is_empty(),
        "no run started, no model called"
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_consumer_killed_at_its_timeout_on_every_delivery_fails_its_item_with_the_reason() {
    const TIMEOUT_SECS: u64 = 1;
    const VISIBILITY_SECS: u64 = 2;
    const MAX_RECEIVES: u64 = 2;
    let template = edited_template(|text| {
        let text = set_in(
            &text,
            "FileProcessorFunction",
            "Timeout: 150",
            &format!("Timeout: {TIMEOUT_SECS}"),
        );
        let text = set_in(
            &text,
            "FileProcessorFunction",
            "MAX_RECEIVE_COUNT: \"3\"",
            &format!("MAX_RECEIVE_COUNT: \"{MAX_RECEIVES}\""),
        );
        let text = set_in(
            &text,
            "FileProcessingQueue",
            "VisibilityTimeout: 900",
            &format!("VisibilityTimeout: {VISIBILITY_SECS}"),
        );
        set_in(
            &text,
            "FileProcessingQueue",
            "maxReceiveCount: 3",
            &format!("maxReceiveCount: {MAX_RECEIVES}"),
        )
    });
    let stack = PrivateStack::start(&template, &[]).await;
    let staff = stack.staff().await;
    let repository = staff.repository("Slow inputs").await;
    // 18 MB of prose (under the 20 million characters a document may hold): more than a
    // second of extraction and chunking, so every attempt runs past the Timeout.
    let line = "The survey team counted the terns on the northern spit again this morning.\n";
    let slow = line.repeat(18 * 1024 * 1024 / line.len());
    let started = Instant::now();
    let item = staff
        .upload(&repository, "census.txt", slow.as_bytes())
        .await;

    // What the template's values allow: each delivery lives at most the Timeout and comes
    // back after the visibility timeout; then the sweep on the minute tick (5 s in the
    // test command), which allows clocks 10 s, fails the item. Plus room for a slow machine.
    let tick = std::env::var("STUDIO_SCHEDULE_TICK_SECS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(60);
    let allowed =
        Duration::from_secs(MAX_RECEIVES * (TIMEOUT_SECS + VISIBILITY_SECS) + tick + 10 + 45);
    let failed = loop {
        let shown = staff.item(&item).await;
        if shown["status"] == "failed" {
            break shown;
        }
        assert_ne!(shown["status"], "completed", "{shown}");
        assert!(
            started.elapsed() < allowed,
            "still {} after {allowed:?}",
            shown["status"]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let reason = failed["error"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("each of its {MAX_RECEIVES} attempts"))
            && reason.contains("ran out of time or memory"),
        "{reason}"
    );
    let log = stack.log("file-processor");
    assert!(
        log.matches(&format!("Task timed out after {TIMEOUT_SECS}.00 seconds"))
            .count()
            >= MAX_RECEIVES as usize,
        "each delivery was stopped at the Timeout: {log}"
    );
    #[derive(serde::Deserialize)]
    struct Count {
        n: i64,
    }
    let processing: Count = stack
        .t
        .db
        .query_one(
            "SELECT count(*) AS n FROM repository_items WHERE status = 'processing'",
            Params::new(),
        )
        .await
        .unwrap();
    assert_eq!(processing.n, 0, "nothing is left processing");
    stack.stop().await;
}

#[tokio::test]
async fn a_chain_far_longer_than_the_executors_timeout_completes_across_invocations() {
    const TIMEOUT_SECS: u64 = 25;
    const PROMPTS: usize = 12;
    let template = edited_template(|text| {
        set_in(
            &text,
            "ScheduledExecutorFunction",
            "Timeout: 900",
            &format!("Timeout: {TIMEOUT_SECS}"),
        )
    });
    let stack = PrivateStack::start(&template, &[]).await;
    let team = stack.t.team().await;
    let admin = stack.member("administrator", team).await;
    let staff = stack.member("staff", team).await;
    // Each answer takes ~3 s (10 pieces, 300 ms apart): 12 prompts are ~36 s of model time.
    let mock = MockProviders::start().await.unwrap();
    mock.mock.set_script(Script {
        reply: Some("The terns nested early this year on the northern spit again.".to_owned()),
        delta_delay_ms: 300,
        ..Script::default()
    });
    let model = mock_model(&admin, &mock).await;
    let prompts = (1..=PROMPTS)
        .map(|n| json!({"name": format!("Step {n}"), "content": format!("Step {n} of the survey"), "modelId": model, "timeoutSeconds": 5}))
        .collect();
    let chain = assistant(&staff, prompts).await;
    let started = Instant::now();
    let (status, queued) = staff
        .post(
            &format!("/assistants/{chain}/executions"),
            json!({"inputs": {}}),
        )
        .await;
    assert_eq!(status, 200, "{queued}");
    let execution = queued["data"]["executionId"].as_str().unwrap().to_owned();
    let run = loop {
        let (_, shown) = staff.get(&format!("/executions/{execution}")).await;
        let status = shown["data"]["execution"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if status == "completed" || status == "failed" {
            break shown["data"].clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "stuck in {status}: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(run["execution"]["status"], "completed", "{run}");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), PROMPTS);
    assert!(results.iter().all(|r| r["status"] == "completed"), "{run}");
    assert!(
        started.elapsed() > Duration::from_secs(TIMEOUT_SECS),
        "the chain ran longer than one invocation may"
    );
    let invocations = run["execution"]["invocations"].as_i64().unwrap_or_default();
    assert!(invocations >= 2, "it carried on across invocations: {run}");
    assert!(
        !stack.log("scheduled-executor").contains("Task timed out"),
        "no invocation ran past its Timeout"
    );
    stack.stop().await;
}
