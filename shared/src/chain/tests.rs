//! The runner with scripted models, tools and progress (no database: no repositories).
use super::*;

fn prompt(position: i32, group: Option<i32>) -> ChainPrompt {
    ChainPrompt {
        id: None,
        position,
        name: format!("p{position}"),
        content: String::new(),
        model: "m".into(),
        system_context: None,
        repository_ids: vec![],
        enabled_tools: vec![],
        timeout: Duration::from_secs(1),
        parallel_group: group,
    }
}

#[test]
fn prompts_run_by_position_with_parallel_groups_together() {
    let prompts = vec![
        prompt(3, None),
        prompt(1, Some(7)),
        prompt(0, None),
        prompt(2, Some(7)),
        prompt(4, Some(7)),
    ];
    // Positions 0 | 1,2 (group 7) | 3 | 4 (group 7 again, but not adjacent).
    assert_eq!(
        stages(&prompts),
        vec![vec![2], vec![1, 3], vec![0], vec![4]]
    );
}

use crate::chat::service::Speaker;
use crate::error::AppError;
use crate::ports::chat::ChatRequest;
use crate::ports::chat::{ChatEvent, ChatModel, ChatStream, FinishReason, ProviderError};
use std::sync::{Arc, Mutex};

/// Answers `answer: <prompt>`; fails when the prompt contains "FAIL".
struct Echo;

#[async_trait]
impl ChatModel for Echo {
    fn provider(&self) -> &str {
        "echo"
    }
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ProviderError> {
        let text = request.messages[0].content.clone();
        if text.contains("FAIL") {
            return Err(ProviderError::Unavailable {
                status: 500,
                message: "scripted failure".into(),
            });
        }
        let system = request.system.unwrap_or_default();
        let tool_note = if system.contains("web_search") {
            " (searched)"
        } else {
            ""
        };
        Ok(Box::pin(futures_util::stream::iter(vec![
            Ok(ChatEvent::TextDelta(format!("answer: {text}{tool_note}"))),
            Ok(ChatEvent::Usage(Usage {
                input_tokens: 10,
                output_tokens: 5,
                ..Usage::default()
            })),
            Ok(ChatEvent::Finish(FinishReason::Stop)),
        ])))
    }
}

struct Fakes {
    events: Mutex<Vec<String>>,
    results: Mutex<Vec<PromptResult>>,
}

#[async_trait]
impl Models for Fakes {
    async fn speaker(&self, _: &Caller, model: &str) -> Result<Speaker, AppError> {
        Ok(Speaker {
            model: Arc::new(crate::chat::Fallback::new(vec![crate::chat::Candidate {
                label: model.to_owned(),
                model_id: model.to_owned(),
                chat: Arc::new(Echo),
            }])),
            models: Vec::new(),
            ai_model_id: Uuid::nil(),
            model_name: model.to_owned(),
            persona: None,
            system: None,
            max_output_tokens: None,
        })
    }
}

#[async_trait]
impl Ledger for Fakes {
    async fn record(
        &self,
        _: &'static str,
        _: &Caller,
        _: Uuid,
        _: &Speaker,
        relayed: &crate::chat::relay::Relayed,
        _: &str,
    ) -> Result<Decimal, AppError> {
        Ok(Decimal(format!("0.00{}", relayed.usage.output_tokens)))
    }
}

#[async_trait]
impl Tools for Fakes {
    async fn call(&self, name: &str, input: Value) -> Result<Value, String> {
        Ok(json!({"tool": name, "results": [input["query"]]}))
    }
}

#[async_trait]
impl Progress for Fakes {
    async fn event(&self, kind: &'static str, data: Value) {
        let position = data["position"]
            .as_i64()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        self.events
            .lock()
            .unwrap()
            .push(format!("{kind}{position}"));
    }
    async fn result(&self, result: &PromptResult) {
        self.results.lock().unwrap().push(result.clone());
    }
}

/// Runs `prompts` to the end; with `budget`, invocation after invocation, each resuming
/// from the results the earlier ones reported. Returns the outcome, the events and the
/// number of invocations.
async fn run_chain_with(
    prompts: Vec<ChainPrompt>,
    budget: Option<Duration>,
) -> (ChainOutcome, Vec<String>, usize) {
    let fakes = Fakes {
        events: Mutex::new(Vec::new()),
        results: Mutex::new(Vec::new()),
    };
    let db = DataApi::new(
        aws_sdk_rdsdata::Client::from_conf(
            aws_sdk_rdsdata::Config::builder()
                .behavior_version(aws_sdk_rdsdata::config::BehaviorVersion::latest())
                .region(aws_sdk_rdsdata::config::Region::new("us-east-1"))
                .build(),
        ),
        &crate::config::DatabaseConfig {
            resource_arn: String::new(),
            secret_arn: String::new(),
            name: String::new(),
            retry_budget: Duration::ZERO,
        },
    );
    let embedder = crate::providers::offline::HashingEmbedder::new(256);
    let services = Services {
        db: &db,
        models: &fakes,
        ledger: &fakes,
        embedder: &embedder,
        tools: &fakes,
        progress: &fakes,
    };
    let caller = Caller {
        user_id: Uuid::nil(),
        email: "a@b.c".into(),
        roles: vec![],
        teams: vec![],
    };
    let inputs = json!({"topic": "tides", "tags": ["sea", "moon"]});
    let chain = ChainRun {
        execution_id: Uuid::nil(),
        caller: &caller,
        team_id: Uuid::nil(),
        prompts: &prompts,
        inputs: inputs.as_object().unwrap(),
        request_id: "r",
    };
    let Some(budget) = budget else {
        let outcome = run(&services, &chain).await;
        return (outcome, fakes.events.lock().unwrap().clone(), 1);
    };
    let mut invocations = 0;
    let outcome = loop {
        invocations += 1;
        assert!(invocations <= 20, "the run makes no progress");
        let done = fakes.results.lock().unwrap().clone();
        let budget = Budget {
            deadline: chrono::Utc::now() + chrono::Duration::from_std(budget).unwrap(),
            margin: Duration::ZERO,
        };
        if let Step::Finished(outcome) = run_from(&services, &chain, done, &budget).await {
            break outcome;
        }
    };
    (outcome, fakes.events.lock().unwrap().clone(), invocations)
}

async fn run_chain(prompts: Vec<ChainPrompt>) -> (ChainOutcome, Vec<String>) {
    let (outcome, events, _) = run_chain_with(prompts, None).await;
    (outcome, events)
}

fn named(position: i32, name: &str, content: &str, group: Option<i32>) -> ChainPrompt {
    ChainPrompt {
        name: name.into(),
        content: content.into(),
        ..prompt(position, group)
    }
}

#[tokio::test]
async fn a_chain_fills_variables_runs_a_parallel_pair_and_calls_tools() {
    let mut research = named(0, "Research", "Facts about {{topic}} ({{tags}})", None);
    research.enabled_tools = vec!["web_search".into()];
    let (outcome, events) = run_chain(vec![
        research,
        named(1, "Short", "Shorten: {{prompt_1.output}}", Some(1)),
        named(2, "Long", "Expand: {{Research}}", Some(1)),
        named(3, "Final", "Combine {{Short}} + {{prompt_3.output}}", None),
    ])
    .await;
    assert!(!outcome.failed, "{:?}", outcome.error);
    let outputs: Vec<&str> = outcome.results.iter().map(|r| r.output.as_str()).collect();
    assert_eq!(
        outputs[0],
        "answer: Facts about tides (sea, moon) (searched)"
    );
    assert_eq!(outputs[1], format!("answer: Shorten: {}", outputs[0]));
    assert_eq!(outputs[2], format!("answer: Expand: {}", outputs[0]));
    assert_eq!(
        outputs[3],
        format!("answer: Combine {} + {}", outputs[1], outputs[2])
    );
    assert_eq!(outcome.usage.output_tokens, 20);
    assert_eq!(outcome.results[0].cost, Decimal("0.005".into()));
    assert_eq!(events.first().map(String::as_str), Some("execution-start"));
    assert_eq!(
        events.last().map(String::as_str),
        Some("execution-complete")
    );
    let first = events
        .iter()
        .position(|e| e == "prompt-complete:0")
        .unwrap();
    assert!(events.iter().position(|e| e == "tool-call:0").unwrap() < first);
    // The pair starts before either completes.
    let starts = [
        events.iter().position(|e| e == "prompt-start:1").unwrap(),
        events.iter().position(|e| e == "prompt-start:2").unwrap(),
    ];
    let ends = [
        events
            .iter()
            .position(|e| e == "prompt-complete:1")
            .unwrap(),
        events
            .iter()
            .position(|e| e == "prompt-complete:2")
            .unwrap(),
    ];
    assert!(starts.iter().max() < ends.iter().min(), "{events:?}");
}

#[tokio::test]
async fn a_failing_middle_prompt_fails_the_run_and_keeps_earlier_results() {
    let (outcome, events) = run_chain(vec![
        named(0, "One", "Start with {{topic}}", None),
        named(1, "Two", "FAIL on {{One}}", None),
        named(2, "Three", "Use {{Two}}", None),
        named(3, "Four", "Independent of two: {{One}}", None),
    ])
    .await;
    assert!(outcome.failed);
    assert!(
        outcome.error.as_deref().unwrap().contains("Two failed"),
        "{:?}",
        outcome.error
    );
    let statuses: Vec<Status> = outcome.results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            Status::Completed,
            Status::Failed,
            Status::Skipped,
            Status::Completed
        ]
    );
    assert_eq!(outcome.results[0].output, "answer: Start with tides");
    assert_eq!(events.last().map(String::as_str), Some("execution-failed"));
}

#[tokio::test]
async fn an_unknown_variable_fails_its_prompt_with_the_names() {
    let (outcome, _) = run_chain(vec![named(0, "One", "{{missing}} and {{topic}}", None)]).await;
    assert_eq!(
        outcome.results[0].error.as_deref(),
        Some("unknown variables: missing")
    );
}

#[test]
fn multi_select_inputs_read_as_lists() {
    assert_eq!(input_text(&json!(["a", "b"])), "a, b");
    assert_eq!(input_text(&json!("x")), "x");
    assert_eq!(input_text(&json!(3)), "3");
}

#[tokio::test]
async fn a_chain_longer_than_an_invocation_pauses_and_resumes_from_its_stored_results() {
    // Each prompt's 10 s timeout is more than an invocation's 3 s: each invocation runs
    // one prompt (cut to fit: it is the first it runs) and hands the rest on.
    let slow = |position, name: &str, content: &str| ChainPrompt {
        timeout: Duration::from_secs(10),
        ..named(position, name, content, None)
    };
    let (outcome, events, invocations) = run_chain_with(
        vec![
            slow(0, "One", "Start with {{topic}}"),
            slow(1, "Two", "Then {{prompt_1.output}}"),
            slow(2, "Three", "Finally {{Two}}"),
        ],
        Some(Duration::from_secs(3)),
    )
    .await;
    assert_eq!(invocations, 3);
    assert!(!outcome.failed, "{:?}", outcome.error);
    let outputs: Vec<&str> = outcome.results.iter().map(|r| r.output.as_str()).collect();
    assert_eq!(
        outputs,
        [
            "answer: Start with tides",
            "answer: Then answer: Start with tides",
            "answer: Finally answer: Then answer: Start with tides",
        ]
    );
    let count = |kind: &str| events.iter().filter(|e| *e == kind).count();
    assert_eq!(
        (
            count("execution-start"),
            count("execution-paused"),
            count("execution-resume")
        ),
        (1, 2, 2)
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("execution-complete")
    );
}
