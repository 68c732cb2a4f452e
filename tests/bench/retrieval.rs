//! Retrieval quality (not a test; `scripts/bench_retrieval.sh`): recall@1, recall@5 and MRR
//! on a labelled set of questions asked in plain words (tests/fixtures/retrieval/set.json),
//! for keyword search, vector search by word hashing and by the local model
//! (all-MiniLM-L6-v2 on the stack's embeddings server), and hybrid search with each, all
//! through `shared::search` on the real schema and Data API. Beside them, the model's
//! vectors searched as `halfvec` (half the bytes), exactly, to price that storage in
//! recall. Writes bench-results/retrieval.{json,md}.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::time::Instant;

use serde::Deserialize;
use serde_json::json;
use shared::auth::Caller;
use shared::data_api::{DataApi, Params, Vector};
use shared::embed::embed_chunks;
use shared::ingest::{self, NewChunk};
use shared::knowledge::{NewItem, NewRepository, items, repositories};
use shared::ports::embed::Embedder;
use shared::providers::offline::HashingEmbedder;
use shared::providers::openai::OpenAiEmbedder;
use shared::search::{self, Mode};
use studio_local::embeddings::{DIMENSIONS, MODEL_ID};
use studio_tests::TestDb;
use uuid::Uuid;

#[derive(Deserialize)]
struct Set {
    documents: Vec<Document>,
    questions: Vec<Question>,
}

#[derive(Deserialize)]
struct Document {
    name: String,
    passages: Vec<Passage>,
}

#[derive(Deserialize)]
struct Passage {
    id: String,
    text: String,
}

#[derive(Deserialize)]
struct Question {
    question: String,
    answer: String,
}

/// Hits looked at per question (MRR counts ranks up to here).
const DEPTH: i64 = 10;

/// Recall at 1 and 5 and the mean reciprocal rank, from each question's answer rank.
#[derive(Debug, Clone, Copy)]
struct Scores {
    recall_1: f64,
    recall_5: f64,
    mrr: f64,
}

fn score(ranks: &[Option<usize>]) -> Scores {
    let n = ranks.len() as f64;
    let within = |k: usize| ranks.iter().filter(|r| r.is_some_and(|r| r <= k)).count() as f64 / n;
    Scores {
        recall_1: within(1),
        recall_5: within(5),
        mrr: ranks
            .iter()
            .map(|r| r.map_or(0.0, |r| 1.0 / r as f64))
            .sum::<f64>()
            / n,
    }
}

/// A repository holding one chunk per passage, embedded by `embedder` (an item's vectors
/// come from one model); returns it with the passage id of each chunk, and the seconds
/// embedding took.
async fn load(
    t: &TestDb,
    caller: &Caller,
    set: &Set,
    embedder: &dyn Embedder,
) -> (Uuid, HashMap<Uuid, String>, f64) {
    let repository = repositories::create(
        &t.db,
        caller,
        &NewRepository {
            name: format!("Retrieval set, {}", embedder.model()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    let mut passages = HashMap::new();
    for document in &set.documents {
        let item = items::create(
            &t.db,
            caller,
            repository,
            &NewItem::File {
                file_name: document.name.clone(),
                content_type: None,
                size_bytes: 1,
            },
        )
        .await
        .unwrap();
        assert!(ingest::start_processing(&t.db, item.id).await.unwrap());
        let chunks: Vec<NewChunk> = document
            .passages
            .iter()
            .map(|p| NewChunk {
                content: p.text.clone(),
                page_start: None,
                page_end: None,
                heading_path: Vec::new(),
                token_count: p.text.split_whitespace().count() as i32,
                content_hash: p.id.clone(),
            })
            .collect();
        let stored = ingest::store_chunks(&t.db, item.id, &document.name, None, &chunks)
            .await
            .unwrap();
        for (id, passage) in stored.chunk_ids().iter().zip(&document.passages) {
            passages.insert(*id, passage.id.clone());
        }
    }
    let chunk_ids: Vec<Uuid> = passages.keys().copied().collect();
    let started = Instant::now();
    embed_chunks(&t.db, embedder, &chunk_ids).await.unwrap();
    (repository, passages, started.elapsed().as_secs_f64())
}

/// The rank of each question's answer in `search`'s hits (chunk ids, best first).
async fn ranks<F, Fut>(set: &Set, passages: &HashMap<Uuid, String>, search: F) -> Vec<Option<usize>>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Vec<Uuid>>,
{
    let mut ranks = Vec::new();
    for question in &set.questions {
        let hits = search(question.question.clone()).await;
        ranks.push(
            hits.iter()
                .position(|id| passages.get(id) == Some(&question.answer))
                .map(|i| i + 1),
        );
    }
    ranks
}

/// The model's vectors searched exactly as `halfvec` or as `vector`.
async fn exact(db: &DataApi, model: &dyn Embedder, query: String, half: bool) -> Vec<Uuid> {
    #[derive(Deserialize)]
    struct Row {
        chunk_id: Uuid,
    }
    let kind = if half { "halfvec" } else { "vector" };
    let sql = format!(
        "SELECT chunk_id FROM embeddings WHERE model = :model
         ORDER BY embedding::{kind}(384) <=> :q::{kind}(384) LIMIT :depth"
    );
    let q = model.embed(&[query]).await.unwrap().pop().unwrap();
    let rows: Vec<Row> = db
        .query(
            &sql,
            Params::new()
                .bind("model", model.model())
                .bind("q", Vector(q))
                .bind("depth", DEPTH),
        )
        .await
        .unwrap();
    rows.into_iter().map(|r| r.chunk_id).collect()
}

#[tokio::main]
async fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/retrieval/set.json");
    let set: Set = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let t = TestDb::migrated().await;
    let team = t.team().await;
    let caller = t.member("eval@example.com", "staff", team).await;
    let hashing = HashingEmbedder::new(DIMENSIONS);
    let base_url = std::env::var("STUDIO_EMBEDDINGS_URL").expect("run with the stack's stack.env");
    let model = OpenAiEmbedder::new(&base_url, None, MODEL_ID, DIMENSIONS);
    let hashed = load(&t, &caller, &set, &hashing).await;
    let modelled = load(&t, &caller, &set, &model).await;
    let model_secs = modelled.2;
    // The statistics autovacuum would keep (the keyword half leaves out the corpus's most
    // common words by them), taken now so that every run ranks alike.
    t.db.execute("ANALYZE chunks", Params::new()).await.unwrap();

    let embedders: [(&str, &dyn Embedder); 2] =
        [("word hashing", &hashing), ("all-MiniLM-L6-v2", &model)];
    let mut rows = Vec::new();
    for (mode, mode_name) in [
        (Mode::Keyword, "keyword"),
        (Mode::Vector, "vector"),
        (Mode::Hybrid, "hybrid"),
    ] {
        for ((embedder_name, embedder), (repository, passages, _)) in
            embedders.into_iter().zip([&hashed, &modelled])
        {
            let repository = *repository;
            if mode == Mode::Keyword && embedder_name != "word hashing" {
                continue;
            }
            let found = ranks(&set, passages, |q| {
                let (db, caller) = (&t.db, &caller);
                async move {
                    search::search(db, embedder, caller, &[repository], &q, mode, DEPTH)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|h| h.chunk_id)
                        .collect()
                }
            })
            .await;
            let label = match mode {
                Mode::Keyword => "keyword (full text, any word)".to_owned(),
                _ => format!("{mode_name}, {embedder_name}"),
            };
            rows.push((label, score(&found)));
        }
    }
    for (half, label) in [
        (false, "exact vector(384), all-MiniLM-L6-v2"),
        (true, "exact halfvec(384), all-MiniLM-L6-v2"),
    ] {
        let found = ranks(&set, &modelled.1, |q| exact(&t.db, &model, q, half)).await;
        rows.push((label.to_owned(), score(&found)));
    }

    let passages_n = set
        .documents
        .iter()
        .map(|d| d.passages.len())
        .sum::<usize>();
    let mut md = format!(
        "# Retrieval quality\n\n{} questions asked in plain words over {} passages in {} documents \
         (`tests/fixtures/retrieval/set.json`, written for this project). Each passage is one chunk; \
         a question's answer is one passage. Search is `shared::search` through the Data API \
         (hybrid = reciprocal rank fusion of the vector and keyword lists).\n\n\
         | search | recall@1 | recall@5 | MRR@10 |\n|---|---:|---:|---:|\n",
        set.questions.len(),
        passages_n,
        set.documents.len()
    );
    for (label, s) in &rows {
        md.push_str(&format!(
            "| {label} | {:.2} | {:.2} | {:.3} |\n",
            s.recall_1, s.recall_5, s.mrr
        ));
    }
    md.push_str(&format!(
        "\nThe local model embedded the {passages_n} passages in {model_secs:.2} s ({:.0} passages/s, \
         this machine's CPUs, through the stack's embeddings server).\n\n\
         Command: `scripts/bench_retrieval.sh`\n",
        passages_n as f64 / model_secs
    ));
    let json = json!({
        "questions": set.questions.len(),
        "passages": passages_n,
        "documents": set.documents.len(),
        "model_passages_per_second": passages_n as f64 / model_secs,
        "rows": rows.iter().map(|(label, s)| json!({
            "search": label, "recall_at_1": s.recall_1, "recall_at_5": s.recall_5, "mrr_at_10": s.mrr,
        })).collect::<Vec<_>>(),
    });
    let out = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench-results");
    std::fs::write(format!("{out}/retrieval.md"), &md).unwrap();
    std::fs::write(
        format!("{out}/retrieval.json"),
        serde_json::to_string_pretty(&json).unwrap() + "\n",
    )
    .unwrap();
    println!("{md}");
}
