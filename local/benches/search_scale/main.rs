//! Search and ingestion at scale (issue 19): 100k and 1M generated chunks with real vectors
//! (the offline hashing embedder, 384 dimensions). Reports hybrid, vector and keyword search
//! latency through the Data API (the real SDK client, `shared::search::ranked`) beside the
//! same statement run directly in PostgreSQL; HNSW build time, size and insert rate; and
//! halfvec against vector (size, build, insert, latency, recall@10 against exact search).
//! Writes `bench-results/search_scale.{json,md}` after each size.
//!
//! Run with `scripts/bench_search.sh` (a stack of its own; sizes in `SEARCH_BENCH_SIZES`).

#![allow(clippy::print_stdout)]

mod corpus;
mod load;
mod measure;
mod report;

use std::sync::Arc;

use anyhow::Context;
use serde_json::{Value, json};
use shared::providers::offline::HashingEmbedder;
use shared::search::Mode;
use tokio_postgres::Config;

use corpus::Words;
use load::{CHUNKS_COPY, EMBEDDINGS_COPY, FULL_DEF, FULL_INDEX, SCHEMA_INDEX, TSV_INDEX};

/// The local embedding model's size.
pub const DIMENSIONS: usize = 384;
/// Rows inserted (twice) into the indexed table to measure the insert rate.
const INSERT_ROWS: u64 = 5_000;
/// The measured queries' seed; warm-up queries come from another.
const SEED: u64 = 0x5eed;

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set: run scripts/bench_search.sh"))
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

struct Bench {
    config: Config,
    db: tokio_postgres::Client,
    api: shared::data_api::DataApi,
    words: Arc<Words>,
    embedder: Arc<HashingEmbedder>,
    /// Warm-up queries first, then the measured ones.
    queries: Vec<String>,
    warm_up: usize,
    /// The first measured queries (the same at every size), for recall.
    recall: Vec<String>,
    tsv_def: String,
    vector_def: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<u64> = env_or("SEARCH_BENCH_SIZES", "100000")
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()
        .context("SEARCH_BENCH_SIZES is a comma-separated list of chunk counts")?;
    let queries: usize = env_or("SEARCH_BENCH_QUERIES", "200").parse()?;
    let warm_up: usize = env_or("SEARCH_BENCH_WARM_UP", "20").parse()?;
    let recall_queries: usize = env_or("SEARCH_BENCH_RECALL_QUERIES", "100").parse()?;
    let database = env("DATABASE_NAME")?;
    let mut config: Config = env("STUDIO_DATABASE_URL")?.parse()?;
    config.dbname(&database);
    let db = load::connect(&config).await?;
    let api = studio_local::stack::data_api_client(
        &env("AWS_ENDPOINT_URL_RDS_DATA")?,
        &database,
        &env("DATABASE_SECRET_ARN")?,
    );
    let words = Arc::new(Words::new());
    let probe = std::env::var("SEARCH_BENCH_PROBE").is_ok_and(|v| v == "keyword");
    let (tsv_def, vector_def) = if probe {
        (String::new(), String::new())
    } else {
        (
            load::index_def(&db, TSV_INDEX).await?,
            load::index_def(&db, SCHEMA_INDEX).await?,
        )
    };
    let bench = Bench {
        queries: [
            words.queries(warm_up, SEED + 1),
            words.queries(queries, SEED),
        ]
        .concat(),
        warm_up,
        recall: words.queries(recall_queries, SEED),
        config,
        db,
        api,
        words,
        embedder: Arc::new(HashingEmbedder::new(DIMENSIONS)),
        tsv_def,
        vector_def,
    };
    if probe {
        // Keyword mode on the database as it is (no loading): for a corpus whose vector
        // indexes are still being built.
        let (api, _) = measure::through_data_api(
            &bench.api,
            &bench.embedder,
            &bench.queries,
            bench.warm_up,
            Mode::Keyword,
        )
        .await?;
        let (direct, _, _) = measure::direct(
            &bench.db,
            &bench.embedder,
            &bench.queries,
            bench.warm_up,
            Mode::Keyword,
        )
        .await?;
        println!("keyword: Data API {} direct {}", api.json(), direct.json());
        return Ok(());
    }
    let mut results: Vec<Value> = Vec::new();
    for size in sizes {
        println!("search_scale: {size} chunks");
        results.push(bench.stage(size).await?);
        report::write(&results)?;
    }
    load::drop_index(&bench.db, FULL_INDEX).await?;
    println!("{}", report::markdown(&report::merged(&results)));
    Ok(())
}

impl Bench {
    fn chunk_rows(&self) -> load::Rows {
        let words = Arc::clone(&self.words);
        Arc::new(move |range, buf| corpus::chunk_rows(&words, range, buf))
    }

    fn embedding_rows(&self) -> load::Rows {
        let (words, embedder) = (Arc::clone(&self.words), Arc::clone(&self.embedder));
        Arc::new(move |range, buf| corpus::embedding_rows(&words, &embedder, range, buf))
    }

    /// Brings the corpus to `size` chunks and measures everything at that size.
    async fn stage(&self, size: u64) -> anyhow::Result<Value> {
        let db = &self.db;
        let chunks = load::count(db, "SELECT count(*) FROM chunks").await?;
        let embedded = load::count(db, "SELECT count(*) FROM embeddings").await?;
        let bulk_end = size.saturating_sub(2 * INSERT_ROWS);
        anyhow::ensure!(
            embedded <= bulk_end && chunks <= size,
            "the database already holds {embedded} embeddings: run on a fresh stack, sizes ascending"
        );

        // Bulk load without the search indexes, then build them as the schema defines them.
        for index in [TSV_INDEX, SCHEMA_INDEX, FULL_INDEX] {
            load::drop_index(db, index).await?;
        }
        load::owners_and_items(db, size).await?;
        let chunk_load = load::copy(
            &self.config,
            CHUNKS_COPY,
            chunks..size,
            2,
            self.chunk_rows(),
        )
        .await?;
        println!("  chunks {chunks}..{size} copied in {chunk_load:.1?}");
        let embedding_load = load::copy(
            &self.config,
            EMBEDDINGS_COPY,
            embedded..bulk_end,
            2,
            self.embedding_rows(),
        )
        .await?;
        println!("  embeddings {embedded}..{bulk_end} copied in {embedding_load:.1?}");
        let (tsv_build, tsv_size) = load::build_index(db, &self.tsv_def, TSV_INDEX).await?;
        db.batch_execute("ANALYZE chunks; ANALYZE embeddings")
            .await?;
        let (schema_build, schema_size) =
            load::build_index(db, &self.vector_def, SCHEMA_INDEX).await?;
        println!("  {SCHEMA_INDEX} built over {bulk_end} rows in {schema_build:.1?}");

        // Insert rates into the table already holding the rows, index maintained.
        let insert_schema = load::insert_rate(
            &self.config,
            EMBEDDINGS_COPY,
            bulk_end..bulk_end + INSERT_ROWS,
            2,
            self.embedding_rows(),
        )
        .await?;
        let (full_build, full_size) = load::build_index(db, FULL_DEF, FULL_INDEX).await?;
        println!(
            "  {FULL_INDEX} built over {} rows in {full_build:.1?}",
            bulk_end + INSERT_ROWS
        );
        let insert_both = load::insert_rate(
            &self.config,
            EMBEDDINGS_COPY,
            bulk_end + INSERT_ROWS..size,
            2,
            self.embedding_rows(),
        )
        .await?;
        // One statement per call: VACUUM cannot run in the implicit transaction of a batch.
        db.batch_execute("VACUUM ANALYZE chunks").await?;
        db.batch_execute("VACUUM ANALYZE embeddings").await?;
        println!(
            "  insert rate: {insert_schema:.0} rows/s (the schema's index), {insert_both:.0} rows/s (both)"
        );

        let search = self.searches().await?;
        let halfvec = self.halfvec_against_vector().await?;
        let settings = self.settings().await?;
        let plan = measure::product_plan(db, &self.embedder, &self.queries[self.warm_up]).await?;
        let full_only = 1.0 / (1.0 / insert_both - 1.0 / insert_schema);
        Ok(json!({
            "chunks": size,
            "queries": self.queries.len() - self.warm_up,
            "warm_up": self.warm_up,
            "items": size.div_ceil(corpus::CHUNKS_PER_ITEM),
            "load": {
                "chunks_copy_s": chunk_load.as_secs_f64(),
                "chunks_copied": size - chunks,
                "embeddings_copy_s": embedding_load.as_secs_f64(),
                "embeddings_copied": bulk_end - embedded,
                "tsv_index_build_s": tsv_build.as_secs_f64(),
                "tsv_index_bytes": tsv_size,
                "chunks_table_bytes": load::count(db, "SELECT pg_total_relation_size('chunks')").await?,
                "embeddings_heap_bytes": load::relation_size(db, "embeddings").await?,
            },
            "halfvec": {
                "index_build_s": schema_build.as_secs_f64(),
                "index_build_rows": bulk_end,
                "index_bytes_after_build": schema_size,
                "index_bytes": load::relation_size(db, SCHEMA_INDEX).await?,
                "insert_rows_per_s": insert_schema,
                "insert_rows": INSERT_ROWS,
                "insert_into_rows": bulk_end,
            },
            "vector": {
                "index_build_s": full_build.as_secs_f64(),
                "index_build_rows": bulk_end + INSERT_ROWS,
                "index_bytes_after_build": full_size,
                "index_bytes": load::relation_size(db, FULL_INDEX).await?,
                "insert_rows_per_s_with_both_indexes": insert_both,
                "insert_rows_per_s_derived_alone": if full_only.is_finite() && full_only > 0.0 { json!(full_only) } else { Value::Null },
                "insert_into_rows": bulk_end + INSERT_ROWS,
            },
            "search": search,
            "knn": halfvec,
            "settings": settings,
            "plan_uses": {
                "embeddings_hnsw_384": plan.contains(SCHEMA_INDEX),
                "chunks_tsv_idx": plan.contains(TSV_INDEX),
            },
            "plan": plan,
        }))
    }

    /// Hybrid, vector and keyword: through the Data API and directly, same queries.
    async fn searches(&self) -> anyhow::Result<Value> {
        let mut out = serde_json::Map::new();
        for mode in [Mode::Hybrid, Mode::Vector, Mode::Keyword] {
            let (api, api_hits) = measure::through_data_api(
                &self.api,
                &self.embedder,
                &self.queries,
                self.warm_up,
                mode,
            )
            .await?;
            let (direct, direct_hits, _) =
                measure::direct(&self.db, &self.embedder, &self.queries, self.warm_up, mode)
                    .await?;
            println!(
                "  {}: Data API {} direct {}",
                measure::mode_name(mode),
                api.json(),
                direct.json()
            );
            out.insert(
                measure::mode_name(mode).to_owned(),
                json!({"data_api": api.json(), "direct": direct.json(),
                       "mean_hits_data_api": api_hits, "mean_hits_direct": direct_hits}),
            );
        }
        Ok(Value::Object(out))
    }

    /// Plain top-10 on each index (direct), and recall@10 against exact search.
    async fn halfvec_against_vector(&self) -> anyhow::Result<Value> {
        let (db, embedder) = (&self.db, self.embedder.as_ref());
        let (vector, vector_ids) = measure::knn(
            db,
            measure::KNN_VECTOR,
            embedder,
            &self.queries,
            self.warm_up,
        )
        .await?;
        let (halfvec, halfvec_ids) = measure::knn(
            db,
            measure::KNN_HALFVEC,
            embedder,
            &self.queries,
            self.warm_up,
        )
        .await?;
        let recall_queries = &self.recall;
        let exact = measure::exact(db, embedder, recall_queries).await?;
        let (_, _, product_ids) =
            measure::direct(db, embedder, recall_queries, 0, Mode::Vector).await?;
        let probe =
            shared::data_api::Vector(embedder.vector(&self.queries[self.warm_up])).to_text();
        let values: [&(dyn tokio_postgres::types::ToSql + Sync); 2] =
            [&HashingEmbedder::MODEL, &probe];
        let vector_plan = measure::plan(db, measure::KNN_VECTOR, &values).await?;
        let halfvec_plan = measure::plan(db, measure::KNN_HALFVEC, &values).await?;
        Ok(json!({
            "vector": {"latency": vector.json(), "recall_at_10": measure::recall(&vector_ids, &exact),
                       "uses_index": vector_plan.contains(FULL_INDEX)},
            "halfvec": {"latency": halfvec.json(), "recall_at_10": measure::recall(&halfvec_ids, &exact),
                        "uses_index": halfvec_plan.contains(SCHEMA_INDEX)},
            "product_vector_mode_recall_at_10": measure::recall(&product_ids, &exact),
            "recall_queries": exact.len(),
        }))
    }

    /// The settings in effect, as the Data API's sessions and the direct one see them.
    async fn settings(&self) -> anyhow::Result<Value> {
        #[derive(serde::Deserialize)]
        struct Settings {
            ef_search: Option<String>,
            iterative_scan: Option<String>,
        }
        const SQL: &str = "SELECT current_setting('hnsw.ef_search', true) AS ef_search,
                                  current_setting('hnsw.iterative_scan', true) AS iterative_scan";
        let api: Settings = self
            .api
            .query_one(SQL, shared::data_api::Params::new())
            .await?;
        let row = self
            .db
            .query_one(
                "SELECT current_setting('hnsw.ef_search', true), current_setting('hnsw.iterative_scan', true),
                        current_setting('shared_buffers'), current_setting('work_mem'),
                        (SELECT extversion FROM pg_extension WHERE extname = 'vector'), version()",
                &[],
            )
            .await?;
        Ok(json!({
            "data_api_session": {"hnsw.ef_search": api.ef_search, "hnsw.iterative_scan": api.iterative_scan},
            "direct_session": {"hnsw.ef_search": row.get::<_, Option<String>>(0),
                               "hnsw.iterative_scan": row.get::<_, Option<String>>(1)},
            "shared_buffers": row.get::<_, String>(2),
            "work_mem": row.get::<_, String>(3),
            "pgvector": row.get::<_, Option<String>>(4),
            "postgres": row.get::<_, String>(5),
            "hnsw_build": "m 16, ef_construction 64 (pgvector defaults), maintenance_work_mem 4GB, 1 parallel worker + leader",
        }))
    }
}
