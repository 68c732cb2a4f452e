//! The local embedding server computes all-MiniLM-L6-v2's vectors (the similarities
//! sentence-transformers documents for it), speaks OpenAI's embeddings API as its official
//! client reads it, and refuses what OpenAI refuses with OpenAI's error shape.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use base64::Engine;
use serde_json::{Value, json};
use studio_local::embeddings::{DIMENSIONS, EmbeddingServer, MODEL_ID, ensure_files};
use studio_local::venv::Venv;

/// The stack's virtualenv (`studio up` installs it).
fn venv() -> Venv {
    Venv::for_checkout(&PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")))
}

async fn server() -> EmbeddingServer {
    let dir = ensure_files(&venv()).unwrap();
    EmbeddingServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), dir)
        .await
        .unwrap()
}

async fn post(server: &EmbeddingServer, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/embeddings", server.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn embed(server: &EmbeddingServer, texts: &[&str]) -> Vec<Vec<f32>> {
    let (status, body) = post(server, json!({ "model": MODEL_ID, "input": texts })).await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_value(d["embedding"].clone()).unwrap())
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[tokio::test]
async fn vectors_match_the_similarities_sentence_transformers_publishes_for_the_model() {
    let server = server().await;
    // sentence-transformers' quick start, for all-MiniLM-L6-v2: 0.6660, 0.1046, 0.1411.
    let v = embed(
        &server,
        &[
            "The weather is lovely today.",
            "It's so sunny outside!",
            "He drove to the stadium.",
        ],
    )
    .await;
    assert!(v.iter().all(|v| v.len() == DIMENSIONS));
    for vector in &v {
        assert!((cosine(vector, vector) - 1.0).abs() < 1e-4, "unit length");
    }
    let close = |got: f32, want: f32| assert!((got - want).abs() < 0.005, "{got} vs {want}");
    close(cosine(&v[0], &v[1]), 0.6660);
    close(cosine(&v[0], &v[2]), 0.1046);
    close(cosine(&v[1], &v[2]), 0.1411);
}

#[tokio::test]
async fn a_text_longer_than_the_models_window_is_read_to_its_end() {
    let server = server().await;
    let filler = "The committee reviewed the minutes of the previous meeting. ".repeat(40);
    let about_bees = format!("{filler}Honey bees pollinate the orchards in spring.");
    let about_taxes = format!("{filler}Quarterly tax returns are due in April.");
    let v = embed(
        &server,
        &[
            &about_bees,
            &about_taxes,
            "Which insects pollinate fruit trees?",
        ],
    )
    .await;
    assert!(
        cosine(&v[2], &v[0]) > cosine(&v[2], &v[1]),
        "the sentence past the first 256 word pieces counts"
    );
}

#[tokio::test]
async fn base64_vectors_decode_to_the_same_floats() {
    let server = server().await;
    let floats = embed(&server, &["a short note"]).await;
    let (status, body) = post(
        &server,
        json!({ "model": MODEL_ID, "input": "a short note", "encoding_format": "base64" }),
    )
    .await;
    assert_eq!(status, 200);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let decoded: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(decoded, floats[0]);
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap() >= 3);
}

#[tokio::test]
async fn what_openai_refuses_is_refused_in_its_error_shape() {
    let server = server().await;
    let cases = [
        (
            json!({ "model": "text-embedding-3-small", "input": "x" }),
            404,
            "model",
        ),
        (
            json!({ "model": MODEL_ID, "input": [[101, 102]] }),
            400,
            "input",
        ),
        (json!({ "model": MODEL_ID, "input": "" }), 400, "input"),
        (
            json!({ "model": MODEL_ID, "input": "x", "dimensions": 256 }),
            400,
            "dimensions",
        ),
    ];
    for (body, status, param) in cases {
        let (got, answer) = post(&server, body.clone()).await;
        assert_eq!(got, status, "{body} -> {answer}");
        assert_eq!(answer["error"]["param"], param, "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap().len() > 10);
    }
    // A huge text is bounded, not refused: the server answers and stays up.
    let huge = "ünïcode-heavy-wörds ".repeat(200_000);
    assert_eq!(embed(&server, &[&huge]).await[0].len(), DIMENSIONS);
}
