//! Bedrock embeddings through the real `aws-sdk-bedrockruntime` client against the local
//! Bedrock runtime: Titan v2 one text per call (concurrently, in order), Cohere 96 per call,
//! Bedrock's refusals, and the embedding generator riding out throttling.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

use embedding_generator::handler::handle;
use shared::knowledge::items;
use shared::ports::embed::{EmbedError, Embedder};
use shared::providers::bedrock::BedrockEmbedder;
use shared::providers::offline::HashingEmbedder;
use studio_local::bedrock::{BedrockServer, Fault, Script};
use studio_tests::TestDb;

use crate::embedding_generator::{deps, fixture_event, stored_item};

const TITAN: &str = "amazon.titan-embed-text-v2:0";
const COHERE: &str = "cohere.embed-english-v3";

async fn server() -> BedrockServer {
    BedrockServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap()
}

fn embedder(server: &BedrockServer, model: &str, dimensions: usize) -> BedrockEmbedder {
    let sdk = studio_local::account::local_sdk_config(&server.endpoint());
    BedrockEmbedder::new(&sdk, None, model, dimensions).unwrap()
}

fn texts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("chunk number {i} about topic {}", i * 7))
        .collect()
}

#[tokio::test]
async fn titan_gets_one_text_per_call_and_a_batch_runs_concurrently_in_order() {
    let server = server().await;
    server.script(Script {
        latency_ms: Some(40),
        ..Script::default()
    });
    let titan = embedder(&server, TITAN, 512).with_concurrency(6);
    let texts = texts(20);
    let vectors = titan.embed(&texts).await.unwrap();

    let offline = HashingEmbedder::new(512);
    let expected: Vec<Vec<f32>> = texts.iter().map(|t| offline.vector(t)).collect();
    assert_eq!(
        vectors, expected,
        "one vector per text, in the texts' order"
    );
    let calls = server.calls();
    assert_eq!(calls.len(), 20);
    assert!(
        calls
            .iter()
            .all(|c| c.texts == 1 && c.operation == "invoke" && c.model_id == TITAN)
    );
    let overlap = server.max_in_flight();
    assert!(
        (2..=6).contains(&overlap),
        "calls overlap within the bound: {overlap}"
    );
}

#[tokio::test]
async fn cohere_gets_at_most_96_texts_per_call() {
    let server = server().await;
    let cohere = embedder(&server, COHERE, 1024);
    assert_eq!(cohere.max_batch(), 96);
    let texts = texts(200);
    let vectors = cohere.embed(&texts).await.unwrap();
    assert_eq!(vectors.len(), 200);
    assert_eq!(vectors[199], HashingEmbedder::new(1024).vector(&texts[199]));
    let per_call: Vec<usize> = server.calls().iter().map(|c| c.texts).collect();
    assert_eq!(per_call, vec![96, 96, 8]);
}

#[tokio::test]
async fn bedrock_refusals_and_outages_reach_the_caller_as_typed_errors() {
    let server = server().await;
    let titan = embedder(&server, TITAN, 1024);
    match titan.embed(&[String::new()]).await {
        Err(EmbedError::Rejected(reason)) => assert!(
            reason.contains("ValidationException") && reason.contains("minLength"),
            "{reason}"
        ),
        other => panic!("an empty text is refused, not {other:?}"),
    }
    server.script(Script {
        faults: vec![Fault::Throttle, Fault::ServerError, Fault::Unavailable],
        ..Script::default()
    });
    let one = texts(1);
    assert!(matches!(
        titan.embed(&one).await,
        Err(EmbedError::Throttled { retry_after: None })
    ));
    for _ in 0..2 {
        match titan.embed(&one).await {
            Err(error @ EmbedError::Provider(_)) => assert!(error.is_retryable()),
            other => panic!("a 5xx is a provider failure, not {other:?}"),
        }
    }
    assert_eq!(
        titan.embed(&one).await.unwrap().len(),
        1,
        "the faults are spent"
    );
}

fn bedrock_env(server: &BedrockServer, model: &str) -> HashMap<&'static str, String> {
    HashMap::from([
        ("EMBEDDING_PROVIDER", "bedrock".to_owned()),
        ("EMBEDDING_MODEL_ID", model.to_owned()),
        ("EMBEDDING_DIMENSIONS", "1024".to_owned()),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.endpoint()),
    ])
}

#[tokio::test]
async fn the_generator_configured_for_bedrock_embeds_an_item_to_completed_through_throttling() {
    for model in [TITAN, COHERE] {
        let server = server().await;
        server.script(Script {
            faults: vec![Fault::Throttle],
            ..Script::default()
        });
        let env = bedrock_env(&server, model);
        let embedder = shared::embed::from_vars(|name| env.get(name).cloned())
            .await
            .unwrap();
        assert_eq!(embedder.model(), model);

        let t = TestDb::migrated().await;
        let (item, chunks, caller) = stored_item(&t).await;
        let response = handle(
            fixture_event(&chunks),
            &deps(&t, embedder),
            studio_tests::deadline_in(900),
        )
        .await
        .unwrap();
        assert_eq!(
            response.batch_item_failures.len(),
            1,
            "only the fixture's malformed message fails"
        );
        let done = items::get(&t.db, &caller, item).await.unwrap();
        assert_eq!(
            (done.status.as_str(), done.embedded_count, done.chunk_count),
            ("completed", 2, 2),
            "{model}"
        );
        let texts: usize = server.calls().iter().map(|c| c.texts).sum();
        assert!(
            texts > 2,
            "{model}: the throttled call was made again ({texts} texts sent)"
        );
    }
}

#[tokio::test]
async fn a_bedrock_model_the_embedder_cannot_use_is_refused_at_start_with_a_sentence() {
    let server = server().await;
    let env = bedrock_env(&server, "cohere.embed-english-v3");
    let env = |name: &str| match name {
        "EMBEDDING_DIMENSIONS" => Some("768".to_owned()),
        other => env.get(other).cloned(),
    };
    let error = shared::embed::from_vars(env).await.err().unwrap();
    assert!(
        error.message.contains("[1024] dimensions, not 768"),
        "{}",
        error.message
    );
}
