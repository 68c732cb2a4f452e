//! Embeds stored chunks: skips what this model already embedded (redeliveries change
//! nothing), calls the embedder in batches it accepts, writes vectors in few Data API calls,
//! and completes each item once every chunk has its vector.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::data_api::{DataApi, DbError, Params, TextArray, Vector};
use crate::error::{AppError, ErrorCode};
use crate::ports::embed::{EmbedError, Embedder};

/// Bytes of vector text per write statement, under the Data API's 4 MiB request limit.
const WRITE_BUDGET: usize = 3 * 1024 * 1024;
/// Bytes of chunk text per read, well under the 1 MiB response limit (JSON escapes and
/// record framing included); a page that still passes it is read again at half.
const READ_BUDGET: i64 = 640 * 1024;
/// At most this many chunks per read page.
const READ_ROWS: i64 = 2000;
/// Throttling is retried this many times in-process before the message goes back to SQS.
const THROTTLE_RETRIES: u32 = 3;

/// The next page of chunks still without a vector of `:model`: ids after `:after` in id
/// order, as many as fit in `:budget` bytes of text (always at least one), with the count
/// of all that remain so the caller knows whether another page follows.
const READ: &str = "SELECT id, item_id, content, remaining FROM (
        SELECT c.id, c.item_id, c.content, count(*) OVER () AS remaining,
               sum(octet_length(c.content)) OVER (ORDER BY c.id) - octet_length(c.content) AS before
        FROM chunks c
        WHERE c.id = ANY(:ids::uuid[]) AND c.id > :after
          AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model = :model)
    ) AS page
    WHERE before < :budget ORDER BY id LIMIT :rows";

/// Writes vectors (`:rows`, JSON) and, in the same statement, adds what was inserted to
/// each item's `embedded_count`, completing the items that now have every vector. Only
/// rows actually inserted count (a redelivery inserts nothing), and `embedded_count +`
/// is re-read under the row lock, so concurrent writers for one item add up.
const WRITE: &str = "WITH rows AS (
        SELECT r.chunk, r.embedding FROM jsonb_to_recordset(:rows::jsonb) AS r(chunk uuid, embedding text)
    ), inserted AS (
        INSERT INTO embeddings (chunk_id, model, dimensions, embedding)
        SELECT r.chunk, :model, :dimensions, r.embedding::vector FROM rows r JOIN chunks c ON c.id = r.chunk
        ON CONFLICT (chunk_id, model) DO NOTHING
        RETURNING chunk_id
    ), added AS (
        SELECT c.item_id, count(*)::int AS n FROM inserted JOIN chunks c ON c.id = inserted.chunk_id
        GROUP BY c.item_id
    )
    UPDATE repository_items i SET
        embedded_count = i.embedded_count + a.n,
        status = CASE WHEN i.embedded_count + a.n = i.chunk_count AND i.status = 'embedding'
                      THEN 'completed' ELSE i.status END,
        processed_at = CASE WHEN i.embedded_count + a.n = i.chunk_count THEN now() ELSE i.processed_at END
    FROM added a WHERE i.id = a.item_id
    RETURNING i.id, i.status";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedReport {
    pub embedded: usize,
    /// Chunks that already had a vector for this model, or no longer exist.
    pub skipped: usize,
    pub items_completed: Vec<Uuid>,
    /// Items whose chunks were written here but that wait for more (another message's).
    pub items_waiting: Vec<Uuid>,
}

#[derive(Deserialize)]
struct Pending {
    id: Uuid,
    content: String,
    remaining: i64,
}

#[derive(Deserialize)]
struct Updated {
    id: Uuid,
    status: String,
}

fn uuid_array(ids: impl IntoIterator<Item = Uuid>) -> TextArray {
    TextArray(ids.into_iter().map(|id| id.to_string()).collect())
}

/// Embeds the chunks `ids` with `embedder` and updates their items: per page of chunk
/// texts, one read and (for up to ~3 MiB of vectors) one write that also counts.
pub async fn embed_chunks(
    db: &DataApi,
    embedder: &dyn Embedder,
    ids: &[Uuid],
) -> Result<EmbedReport, AppError> {
    let mut report = EmbedReport::default();
    let (mut after, mut pending_total, mut budget) = (Uuid::nil(), None, READ_BUDGET);
    let (mut reading, mut embedding, mut writing) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let all_ids = uuid_array(ids.iter().copied());
    loop {
        let started = Instant::now();
        let page: Vec<Pending> = match db
            .query(
                READ,
                Params::new()
                    .bind("ids", all_ids.clone())
                    .bind("after", after)
                    .bind("model", embedder.model())
                    .bind("budget", budget)
                    .bind("rows", READ_ROWS),
            )
            .await
        {
            Ok(page) => page,
            Err(DbError::ResponseTooLarge(_)) if budget > 1 => {
                budget /= 2;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        reading += started.elapsed();
        let Some(last) = page.last() else {
            break;
        };
        after = last.id;
        let remaining = page[0].remaining;
        pending_total.get_or_insert(remaining);
        // The whole page is embedded first, then written in as few statements as fit.
        let mut rows: Vec<(Uuid, String)> = Vec::with_capacity(page.len());
        for batch in page.chunks(embedder.max_batch().max(1)) {
            let texts: Vec<String> = batch.iter().map(|c| c.content.clone()).collect();
            let started = Instant::now();
            let vectors = embed_with_retry(embedder, &texts).await?;
            embedding += started.elapsed();
            if vectors.len() != batch.len()
                || vectors.iter().any(|v| v.len() != embedder.dimensions())
            {
                return Err(AppError::new(
                    ErrorCode::ProviderError,
                    format!(
                        "{} returned vectors of the wrong count or size",
                        embedder.model()
                    ),
                ));
            }
            rows.extend(
                batch
                    .iter()
                    .zip(vectors)
                    .map(|(chunk, vector)| (chunk.id, Vector(vector).to_text())),
            );
        }
        let started = Instant::now();
        for part in write_parts(&rows) {
            let updated: Vec<Updated> = db
                .query(
                    WRITE,
                    Params::new()
                        .bind("rows", part)
                        .bind("model", embedder.model())
                        .bind("dimensions", embedder.dimensions() as i64),
                )
                .await?;
            for item in updated {
                report.items_waiting.retain(|id| *id != item.id);
                if item.status == "completed" {
                    report.items_completed.push(item.id);
                } else {
                    report.items_waiting.push(item.id);
                }
            }
        }
        writing += started.elapsed();
        report.embedded += page.len();
        if page.len() as i64 >= remaining {
            break;
        }
    }
    report.skipped = ids
        .len()
        .saturating_sub(pending_total.unwrap_or(0).try_into().unwrap_or(usize::MAX));
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    tracing::info!(
        read_ms = ms(reading),
        embed_ms = ms(embedding),
        write_ms = ms(writing),
        "Embedding stages"
    );
    Ok(report)
}

/// `(chunk id, vector text)` rows as JSON arrays, each under [`WRITE_BUDGET`] bytes.
fn write_parts(rows: &[(Uuid, String)]) -> Vec<serde_json::Value> {
    let mut parts = Vec::new();
    let (mut part, mut bytes) = (Vec::new(), 0);
    for (chunk, vector) in rows {
        // Vector text needs no escaping; the row's keys and id, escaped twice, are ~70 bytes.
        let size = vector.len() + 80;
        if !part.is_empty() && bytes + size > WRITE_BUDGET {
            parts.push(serde_json::Value::Array(std::mem::take(&mut part)));
            bytes = 0;
        }
        bytes += size;
        part.push(json!({ "chunk": chunk, "embedding": vector }));
    }
    if !part.is_empty() {
        parts.push(serde_json::Value::Array(part));
    }
    parts
}

async fn embed_with_retry(
    embedder: &dyn Embedder,
    texts: &[String],
) -> Result<Vec<Vec<f32>>, AppError> {
    let mut attempt = 0;
    loop {
        match embedder.embed(texts).await {
            Ok(vectors) => return Ok(vectors),
            Err(EmbedError::Throttled { retry_after }) if attempt < THROTTLE_RETRIES => {
                let wait = retry_after
                    .unwrap_or(Duration::from_millis(500 * 2u64.pow(attempt)))
                    .min(Duration::from_secs(10));
                tracing::warn!(
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    "Embedding provider throttled; waiting"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(error) => {
                let code = match &error {
                    EmbedError::Throttled { .. } => ErrorCode::RateLimited,
                    EmbedError::Provider(_) => ErrorCode::ProviderError,
                    EmbedError::Rejected(_) => ErrorCode::Validation,
                };
                return Err(AppError::new(code, error.to_string()));
            }
        }
    }
}
