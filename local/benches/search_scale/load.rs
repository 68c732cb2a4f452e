//! Loading (a direct connection: setup, not the measured search path): the owner rows,
//! chunks and embeddings by binary COPY on two connections, the indexes dropped for a bulk
//! load and rebuilt from their own definitions, and what is measured of loading: index
//! build times and sizes, and PostgreSQL's insert rate into the indexed table.

use std::ops::Range;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::{Client, Config, NoTls};

use crate::corpus::{self, CHUNKS_PER_ITEM, CopyBuf};

pub const SCHEMA_INDEX: &str = "embeddings_hnsw_384";
pub const FULL_INDEX: &str = "bench_embeddings_hnsw_384_vector";
pub const TSV_INDEX: &str = "chunks_tsv_idx";
/// The full-precision index the schema had before 010, measured beside the schema's
/// halfvec one (the benchmark drops it when done).
pub const FULL_DEF: &str = "CREATE INDEX bench_embeddings_hnsw_384_vector ON embeddings \
     USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dimensions = 384";
pub const CHUNKS_COPY: &str = "COPY chunks (id, item_id, repository_id, chunk_index, token_count, content) \
     FROM STDIN (FORMAT binary)";
pub const EMBEDDINGS_COPY: &str =
    "COPY embeddings (chunk_id, model, dimensions, embedding) FROM STDIN (FORMAT binary)";
/// Rows per COPY while bulk loading.
const LOAD_BATCH: u64 = 2_000;
/// Rows per COPY statement when measuring the insert rate (the pipeline writes a batch of
/// embeddings per statement too).
pub const INSERT_BATCH: u64 = 500;

/// Rows of a range, encoded for COPY (without header or trailer).
pub type Rows = Arc<dyn Fn(Range<u64>, &mut CopyBuf) + Send + Sync>;

/// A session for setup: 4 GB for index builds, one parallel worker beside the leader (two cores).
pub async fn connect(config: &Config) -> anyhow::Result<Client> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .context("cannot connect to PostgreSQL")?;
    tokio::spawn(connection);
    client
        .batch_execute("SET maintenance_work_mem = '4GB'; SET max_parallel_maintenance_workers = 1")
        .await?;
    Ok(client)
}

/// The user, team and repository every chunk belongs to, and `chunks / 100` completed items.
pub async fn owners_and_items(db: &Client, chunks: u64) -> anyhow::Result<()> {
    db.execute(
        "INSERT INTO users (id, email, name) VALUES ($1, 'search-bench@example.com', 'Search bench')
         ON CONFLICT DO NOTHING",
        &[&corpus::user_id()],
    )
    .await?;
    db.execute(
        "INSERT INTO teams (id, name, created_by) VALUES ($1, 'Search bench', $2) ON CONFLICT DO NOTHING",
        &[&corpus::team_id(), &corpus::user_id()],
    )
    .await?;
    db.execute(
        "INSERT INTO repositories (id, team_id, owner_id, name) VALUES ($1, $2, $3, 'Search at scale')
         ON CONFLICT DO NOTHING",
        &[&corpus::repository_id(), &corpus::team_id(), &corpus::user_id()],
    )
    .await?;
    let items = chunks.div_ceil(CHUNKS_PER_ITEM) as i64;
    // The ids are corpus::item_id(j).
    db.execute(
        "INSERT INTO repository_items (id, repository_id, type, name, source, content_type, status,
                                       chunk_count, embedded_count, uploaded_by, processed_at)
         SELECT ('00000000-0000-4000-8001-' || lpad(to_hex(j), 12, '0'))::uuid, $1, 'text',
                'document-' || j || '.txt', 'repositories/search-bench/document-' || j || '.txt',
                'text/plain', 'completed', $3, $3, $2, now()
         FROM generate_series(0::bigint, $4::bigint - 1) AS j
         ON CONFLICT (id) DO NOTHING",
        &[
            &corpus::repository_id(),
            &corpus::user_id(),
            &(CHUNKS_PER_ITEM as i32),
            &items,
        ],
    )
    .await?;
    Ok(())
}

/// Copies `range` on `connections` connections at once, each streaming batches generated
/// on a blocking thread while the previous batch is sent. Returns the elapsed time.
pub async fn copy(
    config: &Config,
    sql: &'static str,
    range: Range<u64>,
    connections: u64,
    rows: Rows,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let per = (range.end.saturating_sub(range.start)).div_ceil(connections.max(1));
    let parts = (0..connections).filter_map(|k| {
        let start = range.start + k * per;
        let end = (start + per).min(range.end);
        (start < end).then(|| copy_part(config, sql, start..end, Arc::clone(&rows)))
    });
    futures_util::future::try_join_all(parts).await?;
    Ok(started.elapsed())
}

async fn copy_part(
    config: &Config,
    sql: &'static str,
    range: Range<u64>,
    rows: Rows,
) -> anyhow::Result<()> {
    let db = connect(config).await?;
    let sink = db.copy_in::<_, Bytes>(sql).await?;
    let mut sink = pin!(sink);
    let generate = |batch: Range<u64>, header: bool| {
        let rows = Arc::clone(&rows);
        tokio::task::spawn_blocking(move || {
            let mut buf = if header {
                CopyBuf::with_header()
            } else {
                CopyBuf(Vec::with_capacity(1 << 20))
            };
            rows(batch, &mut buf);
            Bytes::from(buf.0)
        })
    };
    let mut next = (range.start + LOAD_BATCH).min(range.end);
    let mut pending = Some(generate(range.start..next, true));
    while let Some(batch) = pending.take() {
        let bytes = batch.await?;
        if next < range.end {
            let end = (next + LOAD_BATCH).min(range.end);
            pending = Some(generate(next..end, false));
            next = end;
        }
        sink.send(bytes).await?;
    }
    sink.send(Bytes::from(CopyBuf::trailer())).await?;
    sink.as_mut().finish().await?;
    Ok(())
}

/// PostgreSQL's insert rate (rows/s) into the indexed table: `range` as COPY statements of
/// INSERT_BATCH rows (each its own transaction) on `connections` connections at once. The
/// rows are encoded beforehand, so only PostgreSQL's work is timed.
pub async fn insert_rate(
    config: &Config,
    sql: &'static str,
    range: Range<u64>,
    connections: u64,
    rows: Rows,
) -> anyhow::Result<f64> {
    let count = range.end - range.start;
    let batches: Vec<Range<u64>> = range
        .clone()
        .step_by(INSERT_BATCH as usize)
        .map(|s| s..(s + INSERT_BATCH).min(range.end))
        .collect();
    let encoded = tokio::task::spawn_blocking(move || {
        batches
            .into_iter()
            .map(|batch| {
                let mut buf = CopyBuf::with_header();
                rows(batch, &mut buf);
                buf.0.extend_from_slice(&CopyBuf::trailer());
                Bytes::from(buf.0)
            })
            .collect::<Vec<_>>()
    })
    .await?;
    let mut sessions = Vec::new();
    for _ in 0..connections {
        sessions.push(connect(config).await?);
    }
    let started = Instant::now();
    let work = sessions.iter().enumerate().map(|(k, db)| {
        let mine: Vec<Bytes> = encoded
            .iter()
            .skip(k)
            .step_by(connections as usize)
            .cloned()
            .collect();
        async move {
            for batch in mine {
                let sink = db.copy_in::<_, Bytes>(sql).await?;
                let mut sink = pin!(sink);
                sink.send(batch).await?;
                sink.as_mut().finish().await?;
            }
            anyhow::Ok(())
        }
    });
    futures_util::future::try_join_all(work).await?;
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// An index's definition, to build it again after a bulk load exactly as the schema has it.
pub async fn index_def(db: &Client, name: &str) -> anyhow::Result<String> {
    let row = db
        .query_opt(
            "SELECT pg_get_indexdef(c.oid) FROM pg_class c WHERE c.relname = $1 AND c.relkind = 'i'",
            &[&name],
        )
        .await?
        .with_context(|| format!("the schema has no index {name}"))?;
    Ok(row.get(0))
}

pub async fn drop_index(db: &Client, name: &'static str) -> anyhow::Result<()> {
    db.batch_execute(&format!("DROP INDEX IF EXISTS {name}"))
        .await?;
    Ok(())
}

/// Builds an index; returns the time it took and its size in bytes.
pub async fn build_index(db: &Client, def: &str, name: &str) -> anyhow::Result<(Duration, i64)> {
    let started = Instant::now();
    db.batch_execute(def).await?;
    let took = started.elapsed();
    Ok((took, relation_size(db, name).await?))
}

pub async fn relation_size(db: &Client, name: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one(
            "SELECT pg_relation_size(c.oid) FROM pg_class c WHERE c.relname = $1",
            &[&name],
        )
        .await?;
    Ok(row.get(0))
}

pub async fn count(db: &Client, sql: &str) -> anyhow::Result<u64> {
    let n: i64 = db.query_one(sql, &[]).await?.get(0);
    Ok(n as u64)
}
