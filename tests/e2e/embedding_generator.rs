//! The embedding-generator handler on its fixture event, with the offline embedder and
//! with an OpenAI-compatible mock that throttles and refuses like the real API.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_lambda_events::event::sqs::SqsEvent;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use embedding_generator::handler::{Deps, handle};
use serde_json::{Value, json};
use shared::ingest::{self, NewChunk};
use shared::knowledge::{NewItem, NewRepository, items, repositories};
use shared::ports::embed::Embedder;
use shared::providers::offline::HashingEmbedder;
use shared::providers::openai::OpenAiEmbedder;
use studio_tests::TestDb;
use uuid::Uuid;

/// A repository with one item whose two chunks are stored and waiting for vectors.
pub(crate) async fn stored_item(t: &TestDb) -> (Uuid, Vec<Uuid>, shared::auth::Caller) {
    let team = t.team().await;
    let caller = t.member("s", "staff", team).await;
    let repository = repositories::create(
        &t.db,
        &caller,
        &NewRepository {
            name: "R".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let item = items::create(
        &t.db,
        &caller,
        repository.id,
        &NewItem::Text {
            name: "n".into(),
            text: "x".into(),
        },
    )
    .await
    .unwrap();
    let chunks: Vec<NewChunk> = ["alpha beta", "gamma delta"]
        .iter()
        .map(|text| NewChunk {
            content: (*text).into(),
            page_start: Some(1),
            page_end: Some(1),
            heading_path: vec![],
            token_count: 2,
            content_hash: (*text).into(),
        })
        .collect();
    let stored = ingest::store_chunks(&t.db, item.id, "h", Some(1), &chunks)
        .await
        .unwrap();
    (item.id, stored.chunk_ids().to_vec(), caller)
}

pub(crate) fn fixture_event(chunk_ids: &[Uuid]) -> SqsEvent {
    let text = include_str!("../../events/embedding-generator/sqs-batch.json");
    let ids: Vec<String> = chunk_ids.iter().map(|id| format!("\\\"{id}\\\"")).collect();
    serde_json::from_str(&text.replace("\\\"CHUNK_ID\\\"", &ids.join(","))).unwrap()
}

pub(crate) fn deps(t: &TestDb, embedder: Box<dyn Embedder>) -> Deps {
    Deps {
        db: t.db.clone(),
        embedder,
        max_receive_count: 3,
    }
}

#[tokio::test]
async fn the_fixture_batch_embeds_the_good_message_and_reports_only_the_bad_one() {
    let t = TestDb::migrated().await;
    let (item, chunks, caller) = stored_item(&t).await;
    let response = handle(
        fixture_event(&chunks),
        &deps(&t, Box::new(HashingEmbedder::new(1024))),
        studio_tests::deadline_in(900),
    )
    .await
    .unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        vec!["2e1424d4-f796-459a-8184-9c92662be6da"],
        "only the malformed message failed"
    );
    let done = items::get(&t.db, &caller, item).await.unwrap();
    assert_eq!(
        (done.status.as_str(), done.embedded_count, done.chunk_count),
        ("completed", 2, 2)
    );
}

async fn mock_openai(mode: &'static str) -> (String, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let app = axum::Router::new().route(
        "/v1/embeddings",
        post(move |Json(body): Json<Value>| {
            let counter = Arc::clone(&counter);
            async move {
                let call = counter.fetch_add(1, Ordering::SeqCst);
                if mode == "throttle-once" && call == 0 {
                    return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], Json(json!({"error": {"message": "Rate limit reached", "type": "requests"}}))).into_response();
                }
                if mode == "reject" {
                    return (StatusCode::BAD_REQUEST, Json(json!({"error": {"message": "This model's maximum context length is 8192 tokens", "type": "invalid_request_error"}}))).into_response();
                }
                let inputs = body["input"].as_array().cloned().unwrap_or_default();
                // Answer out of order, as the API may: clients must sort by index.
                let data: Vec<Value> = inputs
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(i, _)| json!({"object": "embedding", "index": i, "embedding": (0..8).map(|d| if d == i % 8 { 1.0 } else { 0.0 }).collect::<Vec<f32>>()}))
                    .collect();
                let response: Response = Json(json!({"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 4, "total_tokens": 4}})).into_response();
                response
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, calls)
}

#[tokio::test]
async fn a_throttled_provider_is_waited_for_and_a_refusing_one_fails_the_item_with_its_reason() {
    let t = TestDb::migrated().await;
    let (item, chunks, caller) = stored_item(&t).await;
    let (base, calls) = mock_openai("throttle-once").await;
    let embedder = OpenAiEmbedder::new(
        &base,
        Some("sk-test-secret".into()),
        "text-embedding-3-small",
        8,
    );
    let response = handle(
        fixture_event(&chunks),
        &deps(&t, Box::new(embedder)),
        studio_tests::deadline_in(900),
    )
    .await
    .unwrap();
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "only the malformed message"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one 429, then the retry after Retry-After"
    );
    let done = items::get(&t.db, &caller, item).await.unwrap();
    assert_eq!(done.status, "completed");

    let t = TestDb::migrated().await;
    let (item, chunks, caller) = stored_item(&t).await;
    let (base, _) = mock_openai("reject").await;
    let embedder = OpenAiEmbedder::new(&base, None, "text-embedding-3-small", 8);
    let response = handle(
        fixture_event(&chunks),
        &deps(&t, Box::new(embedder)),
        studio_tests::deadline_in(900),
    )
    .await
    .unwrap();
    assert_eq!(response.batch_item_failures.len(), 2);
    let failed = items::get(&t.db, &caller, item).await.unwrap();
    assert_eq!(failed.status, "failed");
    assert!(
        failed.error.unwrap().contains("maximum context length"),
        "the provider's reason reaches the user"
    );
}
