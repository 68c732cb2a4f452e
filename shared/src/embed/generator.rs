//! Embeds stored chunks: skips what this model already embedded (redeliveries change
//! nothing), calls the embedder in batches it accepts, writes vectors in few Data API calls,
//! and completes each item once every chunk has its vector.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{EmbedError, Embedder};
use crate::data_api::{DataApi, Params, TextArray, Vector};
use crate::error::{AppError, ErrorCode};

/// Bytes of vector text per BatchExecuteStatement, under the Data API's 4 MiB request limit.
const WRITE_BUDGET: usize = 3 * 1024 * 1024;
/// A vector component in text form is at most about 12 bytes (`-0.012345678,`).
const BYTES_PER_COMPONENT: usize = 12;
/// Chunk texts per page when reading them back (about 2-3 KB each, under the 1 MiB limit).
const READ_PAGE: i64 = 300;
/// Throttling is retried this many times in-process before the message goes back to SQS.
const THROTTLE_RETRIES: u32 = 3;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedReport {
    pub embedded: usize,
    /// Chunks that already had a vector for this model, or no longer exist.
    pub skipped: usize,
    pub items_completed: Vec<Uuid>,
}

#[derive(Deserialize)]
struct Pending {
    id: Uuid,
    item_id: Uuid,
    content: String,
}

#[derive(Deserialize)]
struct Updated {
    id: Uuid,
    status: String,
}

fn uuid_array(ids: impl IntoIterator<Item = Uuid>) -> TextArray {
    TextArray(ids.into_iter().map(|id| id.to_string()).collect())
}

/// Embeds the chunks `ids` with `embedder` and updates their items.
pub async fn embed_chunks(
    db: &DataApi,
    embedder: &dyn Embedder,
    ids: &[Uuid],
) -> Result<EmbedReport, AppError> {
    let pending: Vec<Pending> = db
        .query_paged(
            "SELECT c.id, c.item_id, c.content FROM chunks c
             WHERE c.id = ANY(:ids::uuid[])
               AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model = :model)
             ORDER BY c.id LIMIT :page_limit OFFSET :page_offset",
            Params::new().bind("ids", uuid_array(ids.iter().copied())).bind("model", embedder.model()),
            READ_PAGE,
        )
        .await?;
    let write_batch =
        (WRITE_BUDGET / (embedder.dimensions().max(1) * BYTES_PER_COMPONENT)).clamp(1, 500);
    let mut report = EmbedReport {
        skipped: ids.len() - pending.len(),
        ..EmbedReport::default()
    };
    for batch in pending.chunks(embedder.max_batch().max(1)) {
        let texts: Vec<String> = batch.iter().map(|c| c.content.clone()).collect();
        let vectors = embed_with_retry(embedder, &texts).await?;
        if vectors.len() != batch.len() || vectors.iter().any(|v| v.len() != embedder.dimensions())
        {
            return Err(AppError::new(
                ErrorCode::ProviderError,
                format!(
                    "{} returned vectors of the wrong count or size",
                    embedder.model()
                ),
            ));
        }
        let rows: Vec<Params> = batch
            .iter()
            .zip(vectors)
            .map(|(chunk, vector)| {
                Params::new()
                    .bind("chunk", chunk.id)
                    .bind("model", embedder.model())
                    .bind("dimensions", embedder.dimensions() as i64)
                    .bind("embedding", Vector(vector))
            })
            .collect();
        for rows in rows.chunks(write_batch) {
            db.batch_execute(
                "INSERT INTO embeddings (chunk_id, model, dimensions, embedding)
                 VALUES (:chunk, :model, :dimensions, :embedding::vector)
                 ON CONFLICT (chunk_id, model) DO NOTHING",
                rows,
            )
            .await?;
        }
        report.embedded += batch.len();
    }
    let items: BTreeSet<Uuid> = pending.iter().map(|c| c.item_id).collect();
    if !items.is_empty() {
        let updated: Vec<Updated> = db
            .query(
                "UPDATE repository_items i SET
                     embedded_count = counted.n,
                     status = CASE WHEN counted.n = i.chunk_count AND i.status = 'embedding' THEN 'completed' ELSE i.status END,
                     processed_at = CASE WHEN counted.n = i.chunk_count THEN now() ELSE i.processed_at END
                 FROM (SELECT c.item_id, count(e.chunk_id)::int AS n FROM chunks c
                       LEFT JOIN embeddings e ON e.chunk_id = c.id AND e.model = :model
                       WHERE c.item_id = ANY(:items::uuid[]) GROUP BY c.item_id) AS counted
                 WHERE i.id = counted.item_id
                 RETURNING i.id, i.status",
                Params::new().bind("items", uuid_array(items)).bind("model", embedder.model()),
            )
            .await?;
        report.items_completed = updated
            .into_iter()
            .filter(|u| u.status == "completed")
            .map(|u| u.id)
            .collect();
    }
    Ok(report)
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
