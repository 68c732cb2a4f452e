//! Runs that outlive an invocation or its executor: leased so a duplicate message does
//! nothing, taken over (or given up) when their executor died, and carried on across
//! invocations when a chain is longer than one.

use chrono::{Duration as Span, Utc};
use shared::chain::execute::Executor;
use shared::chain::lease::{self, MAX_RESUMES};
use shared::chain::store;
use shared::data_api::Params;
use uuid::Uuid;

/// A pending run of a two-prompt assistant (offline model) owned by a new staff member.
async fn pending_run(t: &studio_tests::TestDb) -> Uuid {
    let team = t.team().await;
    let owner = t
        .member(&format!("owner-{}", Uuid::new_v4()), "staff", team)
        .await;
    let model = crate::assistants::model(t).await;
    let assistant = shared::assistant::create(
        &t.db,
        &owner,
        &crate::assistants::definition(crate::assistants::chain(model)),
    )
    .await
    .unwrap();
    let inputs = serde_json::json!({"topic": "owls"});
    store::create(
        &t.db,
        &owner,
        assistant.id,
        team,
        "manual",
        inputs.as_object().unwrap(),
        "test",
    )
    .await
    .unwrap()
    .id
}

#[tokio::test]
async fn a_claim_refuses_a_leased_run_takes_a_released_or_expired_one_and_counts_resumes() {
    let t = studio_tests::TestDb::migrated().await;
    let run = pending_run(&t).await;
    let soon = Utc::now() + Span::minutes(2);
    let claimed = lease::claim(&t.db, run, soon).await.unwrap().unwrap();
    assert_eq!((claimed.status.as_str(), claimed.resumes), ("running", 0));
    // A duplicate message finds it leased.
    assert!(lease::claim(&t.db, run, soon).await.unwrap().is_none());
    // Released for a continuation: the next claim is no resume.
    assert!(lease::release(&t.db, run, soon).await.unwrap());
    let continued = lease::claim(&t.db, run, Utc::now() - Span::seconds(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((continued.resumes, continued.invocations), (0, 2));
    // That invocation died (its lease is over): the next claim takes over and counts it.
    let resumed = lease::claim(&t.db, run, soon).await.unwrap().unwrap();
    assert_eq!((resumed.resumes, resumed.invocations), (1, 3));
    // A finished run is never taken again.
    store::fail(&t.db, run, "done with it").await.unwrap();
    assert!(lease::claim(&t.db, run, soon).await.unwrap().is_none());
}

mod runs {
    //! The scheduled-executor's handler driven in-process, with a queue of the test's own.

    use std::time::Duration;

    use async_trait::async_trait;
    use aws_lambda_events::event::sqs::SqsEvent;
    use serde_json::{Value, json};
    use shared::adapters::aws::{SqsQueue, sdk_config};
    use shared::chain::execute::Executor;
    use shared::executor::StudioModels;
    use shared::providers::offline::HashingEmbedder;
    use shared::usage::UsageLedger;
    use studio_tests::TestDb;
    use uuid::Uuid;

    pub struct NoTools;

    #[async_trait]
    impl shared::chain::Tools for NoTools {
        async fn call(&self, name: &str, _: Value) -> Result<Value, String> {
            Err(format!("no {name} here"))
        }
    }

    /// What an executor needs, with a fresh assistant-runs queue in moto.
    pub struct Rig {
        pub models: StudioModels,
        pub ledger: UsageLedger,
        pub embedder: HashingEmbedder,
        pub runs: SqsQueue,
        pub url: String,
        pub sqs: aws_sdk_sqs::Client,
    }

    pub async fn rig(t: &TestDb) -> Rig {
        let sdk = sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let url = sqs
            .create_queue()
            .queue_name(format!("runs-{}", Uuid::new_v4().simple()))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        Rig {
            models: StudioModels::new(t.db.clone(), studio_tests::settings(&t.db).await),
            ledger: UsageLedger { db: t.db.clone() },
            embedder: HashingEmbedder::new(256),
            runs: SqsQueue::new(&sdk, &url),
            url,
            sqs,
        }
    }

    impl Rig {
        pub fn executor<'a>(&'a self, t: &'a TestDb, margin: Duration) -> Executor<'a> {
            Executor {
                db: &t.db,
                models: &self.models,
                ledger: &self.ledger,
                embedder: &self.embedder,
                tools: &NoTools,
                mailer: None,
                runs: &self.runs,
                margin,
            }
        }

        /// The messages on the queue now (deleted as they are read).
        pub async fn take(&self) -> Vec<Value> {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let mut bodies = Vec::new();
            for message in received.messages.unwrap_or_default() {
                bodies.push(serde_json::from_str(message.body.as_deref().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(message.receipt_handle.unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            bodies
        }
    }

    /// An assistant-runs batch of one message, as the event source mapping sends it.
    pub fn batch(body: &Value, delivery: u32) -> Value {
        let event = json!({"Records": [{
            "messageId": Uuid::new_v4(), "receiptHandle": "r", "body": body.to_string(),
            "attributes": {"ApproximateReceiveCount": delivery.to_string()}, "messageAttributes": {},
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:runs",
            "awsRegion": "us-east-1"}]});
        let _: SqsEvent = serde_json::from_value(event.clone()).unwrap();
        event
    }
}

#[tokio::test]
async fn the_sweep_requeues_a_run_whose_executor_died_once_and_gives_up_after_too_many_deaths() {
    let t = studio_tests::TestDb::migrated().await;
    let rig = runs::rig(&t).await;
    let executor: Executor<'_> = rig.executor(&t, std::time::Duration::from_secs(1));
    let run = pending_run(&t).await;
    // Its executor took it and died: the lease is over.
    lease::claim(&t.db, run, Utc::now() - Span::seconds(30))
        .await
        .unwrap()
        .unwrap();
    let swept = executor.sweep(Utc::now()).await.unwrap();
    assert_eq!(swept.requeued, vec![run]);
    assert_eq!(
        rig.take().await,
        vec![serde_json::json!({"executionId": run})]
    );
    // Once per lease: the next tick leaves it to the message just sent.
    assert!(
        executor
            .sweep(Utc::now())
            .await
            .unwrap()
            .requeued
            .is_empty()
    );

    // Taken over and dead again (each lease runs out), as often as allowed: the sweep
    // gives it up.
    for _ in 0..MAX_RESUMES {
        lease::claim(&t.db, run, Utc::now() + Span::milliseconds(300))
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    let swept = executor.sweep(Utc::now()).await.unwrap();
    assert_eq!(swept.failed.len(), 1, "{swept:?}");
    let shown = store::get(&t.db, &owner_of(&t, run).await, run)
        .await
        .unwrap();
    assert_eq!(shown.status, "failed");
    assert!(
        shown.error.as_deref().unwrap().starts_with(&format!(
            "The run stopped before it finished {} times (the scheduled-executor ran out of time or memory",
            MAX_RESUMES + 1
        )),
        "{:?}",
        shown.error
    );

    // A run queued but never taken is queued again after a while.
    let waiting = pending_run(&t).await;
    let later = Utc::now() + Span::minutes(lease::IDLE_MINUTES + 1);
    assert_eq!(executor.sweep(later).await.unwrap().requeued, vec![waiting]);
    assert_eq!(
        rig.take().await,
        vec![serde_json::json!({"executionId": waiting})]
    );
}

async fn owner_of(t: &studio_tests::TestDb, execution: Uuid) -> shared::auth::Caller {
    #[derive(serde::Deserialize)]
    struct Owner {
        user_id: Uuid,
    }
    let owner: Owner =
        t.db.query_one(
            "SELECT user_id FROM assistant_executions WHERE id = :id",
            Params::new().bind("id", execution),
        )
        .await
        .unwrap();
    shared::auth::caller_by_id(&t.db, owner.user_id)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_chain_longer_than_an_invocation_completes_across_invocations_with_every_result() {
    use studio_local::mock_providers::{MockProviders, Script};
    let t = studio_tests::TestDb::migrated().await;
    let mock = MockProviders::start().await.unwrap();
    // Five words, 200 ms apart: about a second per prompt.
    mock.mock.set_script(Script {
        reply: Some("the tide turns at dusk".to_owned()),
        delta_delay_ms: 200,
        ..Script::default()
    });
    let team = t.team().await;
    let owner = t
        .member(&format!("owner-{}", Uuid::new_v4()), "staff", team)
        .await;
    let admin = t
        .member(&format!("admin-{}", Uuid::new_v4()), "administrator", team)
        .await;
    let model = shared::models::create(
        &t.db,
        &admin,
        &serde_json::from_value(serde_json::json!({
            "provider": "openai_compatible", "modelId": format!("slow-{}", Uuid::new_v4()), "name": "Slow mock",
            "config": {"base_url": mock.openai_base_url()},
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let prompts: Vec<serde_json::Value> = (1..=5)
        .map(|n| serde_json::json!({"name": format!("Step {n}"), "content": format!("Step {n} on {{{{topic}}}}"),
                                    "modelId": model.id, "timeoutSeconds": 2}))
        .collect();
    let assistant = shared::assistant::create(
        &t.db,
        &owner,
        &crate::assistants::definition(serde_json::json!({
            "name": "Five steps", "inputFields": [{"name": "topic", "label": "Topic", "type": "short_text"}],
            "prompts": prompts,
        })),
    )
    .await
    .unwrap();
    let inputs = serde_json::json!({"topic": "tides"});
    let run = store::create(
        &t.db,
        &owner,
        assistant.id,
        team,
        "manual",
        inputs.as_object().unwrap(),
        "test",
    )
    .await
    .unwrap()
    .id;

    let rig = runs::rig(&t).await;
    let executor = rig.executor(&t, std::time::Duration::from_millis(200));
    let mut message = serde_json::json!({"executionId": run});
    let mut invocations: i32 = 0;
    loop {
        invocations += 1;
        assert!(invocations <= 10, "the run does not finish");
        // Each invocation has 2.5 s: two 2 s prompts never fit in one.
        let deadline = studio_tests::deadline_in(0) + 2_500;
        let response = scheduled_executor::handler::handle(
            runs::batch(&message, 1),
            &executor,
            "test",
            deadline,
        )
        .await
        .unwrap();
        assert_eq!(response["batchItemFailures"], serde_json::json!([]));
        match rig.take().await.as_slice() {
            [] => break,
            [next] => message = next.clone(),
            more => panic!("one continuation per invocation, got {more:?}"),
        }
    }
    let execution = store::get(&t.db, &owner, run).await.unwrap();
    assert_eq!(execution.status, "completed", "{:?}", execution.error);
    assert!(invocations > 1, "the chain ran in {invocations} invocation");
    assert_eq!(execution.invocations, invocations);
    let results = store::results(&t.db, run).await.unwrap();
    assert_eq!(results.len(), 5);
    for result in &results {
        assert_eq!(result.status, "completed", "{result:?}");
        assert_eq!(result.output.as_deref(), Some("the tide turns at dusk"));
    }
    // A stale copy of a message finds the run finished and does nothing.
    scheduled_executor::handler::handle(
        runs::batch(&message, 2),
        &executor,
        "test",
        studio_tests::deadline_in(5),
    )
    .await
    .unwrap();
    assert!(rig.take().await.is_empty());
}
