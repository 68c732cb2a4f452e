//! The ingestion pipeline: item status transitions, storing an item's chunks idempotently
//! (by item id and document hash) in few Data API calls, and the per-object [`pipeline`],
//! which reaches these rows through [`crate::ports::IngestStore`] ([`DataApiIngestStore`]).

pub mod attempt;
mod ocr_completion;
pub mod pipeline;
#[cfg(test)]
mod pipeline_tests;
pub mod stages;
mod store;

pub use crate::ports::ingest::{ClaimedItem, NewChunk, Stored};
pub use ocr_completion::{Completed, complete_ocr};
pub use store::DataApiIngestStore;

use serde::Deserialize;
use uuid::Uuid;

use crate::data_api::{DataApi, Params, TextArray};
use crate::error::AppError;
use crate::knowledge::items::reason_text;

/// Marks an item `processing` and counts the attempt; `false` if the item no longer exists.
pub async fn start_processing(db: &DataApi, item_id: Uuid) -> Result<bool, AppError> {
    let updated = db
        .execute(
            "UPDATE repository_items SET status = 'processing', attempts = attempts + 1, error = NULL
             WHERE id = :id AND status <> 'completed'",
            Params::new().bind("id", item_id),
        )
        .await?;
    if updated.rows_updated > 0 {
        return Ok(true);
    }
    #[derive(Deserialize)]
    struct Exists {
        exists: bool,
    }
    let exists: Exists = db
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM repository_items WHERE id = :id) AS exists",
            Params::new().bind("id", item_id),
        )
        .await?;
    Ok(exists.exists)
}

/// Reads an item and marks it `processing`, counting the attempt and recording it as the
/// file-processor's (see [`attempt`]), in one call (a `completed` item is read but keeps its
/// status: its object may have been replaced). An item already `processing` is taken
/// again: that is a redelivery after its previous attempt died.
/// `expected`: the repository and object key an S3 notification named; an item whose own
/// are different is neither read nor touched, so a crafted key cannot feed another item.
/// `None` when there is no such item.
pub async fn claim(
    db: &DataApi,
    item_id: Uuid,
    expected: Option<(Uuid, &str)>,
    attempt: &attempt::Attempt,
) -> Result<Option<ClaimedItem>, AppError> {
    Ok(db
        .query_opt(
            "WITH target AS (
                 SELECT id, repository_id, name, source, content_type FROM repository_items
                 WHERE id = :id AND (:repository::uuid IS NULL OR (repository_id = :repository AND source = :source))
             ), claimed AS (
                 UPDATE repository_items i SET status = 'processing', attempts = i.attempts + 1, error = NULL,
                     attempt_stage = 'file-processor', attempt_delivery = :delivery, attempt_last = :last,
                     attempt_started_at = now(), attempt_deadline = :deadline
                 FROM target WHERE i.id = target.id AND i.status <> 'completed'
                 RETURNING i.id
             )
             SELECT t.id, t.repository_id, t.name, t.source, t.content_type, (SELECT count(*) FROM claimed) AS claimed
             FROM target t",
            Params::new()
                .bind("id", item_id)
                .bind("repository", expected.map(|(repository, _)| repository))
                .bind("source", expected.map(|(_, source)| source))
                .bind("delivery", i64::from(attempt.delivery))
                .bind("last", attempt.is_last())
                .bind("deadline", attempt.deadline),
        )
        .await?)
}

/// Marks `failed` every unfinished item that owns one of `chunk_ids`.
pub async fn fail_items_of_chunks(
    db: &DataApi,
    chunk_ids: &[Uuid],
    reason: &str,
) -> Result<(), AppError> {
    let ids = TextArray(chunk_ids.iter().map(Uuid::to_string).collect());
    db.execute(
        "UPDATE repository_items SET status = 'failed', error = :reason
         WHERE status <> 'completed' AND id IN (SELECT item_id FROM chunks WHERE id = ANY(:ids::uuid[]))",
        Params::new().bind("ids", ids).bind("reason", reason_text(reason)),
    )
    .await?;
    Ok(())
}

/// Bytes of chunk JSON per statement, under the Data API's 4 MiB request limit.
const STORE_BUDGET: usize = 3 * 1024 * 1024;

/// Replaces (or keeps) an item's chunks and sets its status, in one statement: the item row
/// is locked, a document whose hash and chunk count match what is stored is kept (the item
/// goes back to `embedding`, or `completed` when every chunk has its vector), otherwise
/// the old chunks are deleted before the new ones (`:rows`, JSON) are inserted: the
/// insert reads `removed`, so the delete has run when the insert checks
/// `UNIQUE (item_id, chunk_index)`. Returns one row, plus the kept chunk ids in order.
const STORE: &str = "WITH item AS (
        SELECT id, repository_id, content_hash, chunk_count, embedded_count
        FROM repository_items WHERE id = :id FOR UPDATE
    ), unchanged AS (
        SELECT 1 FROM item
        WHERE item.content_hash = :hash AND item.chunk_count = :count
          AND (SELECT count(*) FROM chunks WHERE item_id = :id) = :count
    ), removed AS (
        DELETE FROM chunks WHERE item_id = :id
          AND EXISTS (SELECT 1 FROM item) AND NOT EXISTS (SELECT 1 FROM unchanged)
        RETURNING 1
    ), added AS (
        INSERT INTO chunks (id, item_id, repository_id, chunk_index, content, page_start, page_end,
                            heading_path, token_count, content_hash)
        SELECT r.id, item.id, item.repository_id, r.index, r.content, r.page_start, r.page_end,
               ARRAY(SELECT jsonb_array_elements_text(r.headings)), r.tokens, r.hash
        FROM item, jsonb_to_recordset(:rows::jsonb)
             AS r(id uuid, index int, content text, page_start int, page_end int, headings jsonb, tokens int, hash text)
        WHERE NOT EXISTS (SELECT 1 FROM unchanged) AND (SELECT count(*) FROM removed) >= 0
        RETURNING 1
    ), updated AS (
        UPDATE repository_items i SET
            status = CASE WHEN NOT EXISTS (SELECT 1 FROM unchanged) THEN 'embedding'
                          WHEN i.embedded_count = i.chunk_count THEN 'completed'
                          ELSE 'embedding' END,
            chunk_count = CASE WHEN EXISTS (SELECT 1 FROM unchanged) THEN i.chunk_count ELSE :count END,
            embedded_count = CASE WHEN EXISTS (SELECT 1 FROM unchanged) THEN i.embedded_count ELSE 0 END,
            page_count = :pages, content_hash = :hash, error = NULL
        FROM item WHERE i.id = item.id AND (SELECT count(*) FROM added) >= 0
        RETURNING i.status
    )
    SELECT EXISTS (SELECT 1 FROM item) AS found, EXISTS (SELECT 1 FROM unchanged) AS unchanged,
           (SELECT status FROM updated) AS status, c.id AS chunk_id
    FROM (SELECT 1) AS one
    LEFT JOIN chunks c ON c.item_id = :id AND EXISTS (SELECT 1 FROM unchanged)
    ORDER BY c.chunk_index";

/// More rows of a document too large for one request (after [`STORE`] in a transaction).
const STORE_MORE: &str = "INSERT INTO chunks (id, item_id, repository_id, chunk_index, content, page_start, page_end,
                        heading_path, token_count, content_hash)
    SELECT r.id, i.id, i.repository_id, r.index, r.content, r.page_start, r.page_end,
           ARRAY(SELECT jsonb_array_elements_text(r.headings)), r.tokens, r.hash
    FROM repository_items i, jsonb_to_recordset(:rows::jsonb)
         AS r(id uuid, index int, content text, page_start int, page_end int, headings jsonb, tokens int, hash text)
    WHERE i.id = :id";

#[derive(Deserialize)]
struct StoreRow {
    found: bool,
    unchanged: bool,
    status: Option<String>,
    chunk_id: Option<Uuid>,
}

/// Stores an item's chunks and moves it to `embedding` (or back to `completed` when the
/// same document is already stored and embedded), in one Data API call for documents up to
/// about 3 MB of text (larger ones: one transaction of a few calls). A document whose hash
/// matches what is stored is left alone, so a redelivered notification duplicates nothing.
pub async fn store_chunks(
    db: &DataApi,
    item_id: Uuid,
    document_hash: &str,
    page_count: Option<i32>,
    chunks: &[NewChunk],
) -> Result<Stored, AppError> {
    if chunks.is_empty() {
        return Err(AppError::validation("The document has no text to store"));
    }
    let ids: Vec<Uuid> = chunks.iter().map(|_| Uuid::new_v4()).collect();
    let parts = chunk_json_parts(chunks, &ids);
    let params = |rows: &serde_json::Value| {
        Params::new()
            .bind("id", item_id)
            .bind("hash", document_hash)
            .bind("count", chunks.len() as i64)
            .bind("pages", page_count)
            .bind("rows", rows)
    };
    let rows: Vec<StoreRow> = match parts.split_first() {
        Some((first, [])) => db.query(STORE, params(first)).await?,
        Some((first, rest)) => {
            db.transaction(async |tx| {
                let rows: Vec<StoreRow> = tx.query(STORE, params(first)).await?;
                if rows.first().is_some_and(|r| r.found && !r.unchanged) {
                    for part in rest {
                        tx.execute(
                            STORE_MORE,
                            Params::new().bind("id", item_id).bind("rows", part),
                        )
                        .await?;
                    }
                }
                Ok::<_, AppError>(rows)
            })
            .await?
        }
        None => Vec::new(),
    };
    let Some(first) = rows.first() else {
        return Err(AppError::internal("Storing chunks returned no row"));
    };
    if !first.found {
        return Err(AppError::not_found(
            "The item was deleted while it was processed",
        ));
    }
    if first.unchanged {
        return Ok(Stored::Unchanged {
            chunk_ids: rows.iter().filter_map(|r| r.chunk_id).collect(),
            completed: first.status.as_deref() == Some("completed"),
        });
    }
    Ok(Stored::Replaced { chunk_ids: ids })
}

/// The chunks as JSON arrays of rows, each array under [`STORE_BUDGET`] bytes.
fn chunk_json_parts(chunks: &[NewChunk], ids: &[Uuid]) -> Vec<serde_json::Value> {
    let mut parts = Vec::new();
    let (mut part, mut bytes) = (Vec::new(), 0);
    for (index, (chunk, id)) in chunks.iter().zip(ids).enumerate() {
        let row = serde_json::json!({
            "id": id,
            "index": index,
            "content": chunk.content,
            "page_start": chunk.page_start,
            "page_end": chunk.page_end,
            "headings": chunk.heading_path,
            "tokens": chunk.token_count,
            "hash": chunk.content_hash,
        });
        // Counted as sent: the JSON text travels as a string value, escaped once more.
        let size = serde_json::Value::String(row.to_string()).to_string().len();
        if !part.is_empty() && bytes + size > STORE_BUDGET {
            parts.push(serde_json::Value::Array(std::mem::take(&mut part)));
            bytes = 0;
        }
        bytes += size;
        part.push(row);
    }
    if !part.is_empty() {
        parts.push(serde_json::Value::Array(part));
    }
    parts
}
