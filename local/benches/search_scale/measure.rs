//! What is measured once the data is in: the product's search statement through the Data
//! API (`shared::search::ranked`, the real SDK client) and the same statement run directly
//! in PostgreSQL; plain top-10 nearest neighbours on the vector and the halfvec index, and
//! their recall against exact search.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::data_api::{DataApi, Vector};
use shared::providers::offline::HashingEmbedder;
use shared::search::{self, Mode};
use tokio_postgres::Client;
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

use crate::DIMENSIONS;
use crate::corpus::repository_id;

/// The API's default search limit (`functions/api` routes: `limit` defaults to 10).
pub const LIMIT: i64 = 10;

pub const KNN_VECTOR: &str = "SELECT chunk_id FROM embeddings WHERE dimensions = 384 AND model = $1
     ORDER BY embedding::vector(384) <=> $2::vector(384) LIMIT 10";
pub const KNN_HALFVEC: &str =
    "SELECT chunk_id FROM embeddings WHERE dimensions = 384 AND model = $1
     ORDER BY embedding::halfvec(384) <=> $2::halfvec(384) LIMIT 10";

pub struct Latency(Vec<Duration>);

impl Latency {
    fn percentile(&self, p: usize) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort();
        let index = (sorted.len() * p / 100).min(sorted.len().saturating_sub(1));
        sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    }
    pub fn json(&self) -> Value {
        let mean = self.0.iter().sum::<Duration>().as_secs_f64() * 1e3 / self.0.len().max(1) as f64;
        json!({"p50_ms": round(self.percentile(50)), "p99_ms": round(self.percentile(99)), "mean_ms": round(mean)})
    }
}

fn round(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Hybrid => "hybrid",
        Mode::Vector => "vector",
        Mode::Keyword => "keyword",
    }
}

/// The product statement through the Data API; returns latencies and the mean hit count.
pub async fn through_data_api(
    db: &DataApi,
    embedder: &HashingEmbedder,
    queries: &[String],
    warm_up: usize,
    mode: Mode,
) -> anyhow::Result<(Latency, f64)> {
    let repositories = [repository_id()];
    let mut samples = Vec::new();
    let mut hits = 0usize;
    for (i, query) in queries.iter().enumerate() {
        let started = Instant::now();
        let found = search::ranked(db, embedder, &repositories, query, mode, LIMIT).await?;
        if i >= warm_up {
            samples.push(started.elapsed());
            hits += found.len();
        }
    }
    let n = samples.len().max(1) as f64;
    Ok((Latency(samples), hits as f64 / n))
}

/// The same statement (`shared::search::statement`) prepared once on a direct connection,
/// its parameters bound with the types the Data API server gives them. Returns latencies,
/// the mean hit count and each measured query's chunk ids.
pub async fn direct(
    db: &Client,
    embedder: &HashingEmbedder,
    queries: &[String],
    warm_up: usize,
    mode: Mode,
) -> anyhow::Result<(Latency, f64, Vec<Vec<Uuid>>)> {
    let positional = shared::sql::to_positional(search::statement(DIMENSIONS)?);
    let types: Vec<Type> = positional.names.iter().map(|n| param_type(n)).collect();
    let statement = db.prepare_typed(&positional.sql, &types).await?;
    let mut samples = Vec::new();
    let mut ids = Vec::new();
    for (i, query) in queries.iter().enumerate() {
        let started = Instant::now();
        let values = params(&positional.names, embedder, query, mode);
        let refs: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = db.query(&statement, &refs).await?;
        if i >= warm_up {
            samples.push(started.elapsed());
            ids.push(rows.iter().map(|r| r.get::<_, Uuid>("chunk_id")).collect());
        }
    }
    let hits = ids.iter().map(Vec::len).sum::<usize>() as f64 / ids.len().max(1) as f64;
    Ok((Latency(samples), hits, ids))
}

/// The Data API server's types: strings are VARCHAR, booleans BOOL, integers INT8.
fn param_type(name: &str) -> Type {
    match name {
        "use_vector" | "use_keyword" => Type::BOOL,
        "candidates" | "rrf_k" | "limit" => Type::INT8,
        _ => Type::VARCHAR,
    }
}

fn params(
    names: &[String],
    embedder: &HashingEmbedder,
    query: &str,
    mode: Mode,
) -> Vec<Box<dyn ToSql + Sync + Send>> {
    let vector = match mode {
        Mode::Keyword => vec![0.0; DIMENSIONS],
        Mode::Hybrid | Mode::Vector => embedder.vector(query),
    };
    names
        .iter()
        .map(|name| -> Box<dyn ToSql + Sync + Send> {
            match name.as_str() {
                "query_vector" => Box::new(Vector(vector.clone()).to_text()),
                "query_text" => Box::new(query.to_owned()),
                "model" => Box::new(HashingEmbedder::MODEL),
                "repositories" => Box::new(format!("{{\"{}\"}}", repository_id())),
                "use_vector" => Box::new(mode != Mode::Keyword),
                "use_keyword" => Box::new(mode != Mode::Vector),
                "candidates" => Box::new(search::CANDIDATES),
                "rrf_k" => Box::new(search::RRF_K),
                _ => Box::new(LIMIT),
            }
        })
        .collect()
}

/// Top-10 nearest neighbours by `sql` for each query; latencies (after warm-up) and ids.
pub async fn knn(
    db: &Client,
    sql: &str,
    embedder: &HashingEmbedder,
    queries: &[String],
    warm_up: usize,
) -> anyhow::Result<(Latency, Vec<Vec<Uuid>>)> {
    let statement = db
        .prepare_typed(sql, &[Type::VARCHAR, Type::VARCHAR])
        .await?;
    let mut samples = Vec::new();
    let mut ids = Vec::new();
    for (i, query) in queries.iter().enumerate() {
        let started = Instant::now();
        let vector = Vector(embedder.vector(query)).to_text();
        let rows = db
            .query(&statement, &[&HashingEmbedder::MODEL, &vector])
            .await?;
        if i >= warm_up {
            samples.push(started.elapsed());
            ids.push(rows.iter().map(|r| r.get::<_, Uuid>(0)).collect());
        }
    }
    Ok((Latency(samples), ids))
}

/// Exact top-10 (no index scan: a full scan, in parallel) for each query.
pub async fn exact(
    db: &Client,
    embedder: &HashingEmbedder,
    queries: &[String],
) -> anyhow::Result<Vec<Vec<Uuid>>> {
    db.batch_execute("SET enable_indexscan = off; SET enable_bitmapscan = off")
        .await?;
    let (_, ids) = knn(db, KNN_VECTOR, embedder, queries, 0).await?;
    db.batch_execute("RESET enable_indexscan; RESET enable_bitmapscan")
        .await?;
    Ok(ids)
}

/// Mean share of the exact top-10 that `found` holds (its first 10 ids).
pub fn recall(found: &[Vec<Uuid>], exact: &[Vec<Uuid>]) -> f64 {
    let per_query = exact.iter().zip(found).map(|(truth, got)| {
        let truth: HashSet<&Uuid> = truth.iter().collect();
        let hits = got.iter().take(10).filter(|id| truth.contains(id)).count();
        hits as f64 / truth.len().max(1) as f64
    });
    let n = exact.len().min(found.len()).max(1) as f64;
    (per_query.sum::<f64>() / n * 1000.0).round() / 1000.0
}

/// The plan of `sql` (positional, VARCHAR parameters) for one query, as text.
pub async fn plan(
    db: &Client,
    sql: &str,
    values: &[&(dyn ToSql + Sync)],
) -> anyhow::Result<String> {
    let types = vec![Type::VARCHAR; values.len()];
    let statement = db
        .prepare_typed(&format!("EXPLAIN (COSTS OFF) {sql}"), &types)
        .await?;
    let rows = db.query(&statement, values).await?;
    Ok(rows
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Which indexes the product statement's plan uses (for one hybrid query).
pub async fn product_plan(
    db: &Client,
    embedder: &HashingEmbedder,
    query: &str,
) -> anyhow::Result<String> {
    let positional = shared::sql::to_positional(search::statement(DIMENSIONS)?);
    let types: Vec<Type> = positional.names.iter().map(|n| param_type(n)).collect();
    let statement = db
        .prepare_typed(&format!("EXPLAIN (COSTS OFF) {}", positional.sql), &types)
        .await?;
    let values = params(&positional.names, embedder, query, Mode::Hybrid);
    let refs: Vec<&(dyn ToSql + Sync)> = values
        .iter()
        .map(|v| v.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = db.query(&statement, &refs).await?;
    Ok(rows
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n"))
}
