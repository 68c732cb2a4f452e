//! The ingestion pipeline: item status transitions, storing an item's chunks idempotently
//! (by item id and document hash) in few Data API calls, and the per-object [`pipeline`].

pub mod pipeline;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::data_api::{DataApi, Params, TextArray};
use crate::error::AppError;

/// Chunk rows per BatchExecuteStatement: a ~512-token chunk is 2-3 KB of text, so 500 rows
/// stay well under the Data API's 4 MiB request limit.
const INSERT_BATCH: usize = 500;
/// Longest failure reason stored on an item.
const MAX_REASON: usize = 1000;

/// A chunk ready to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewChunk {
    pub content: String,
    pub page_start: Option<i32>,
    pub page_end: Option<i32>,
    pub heading_path: Vec<String>,
    pub token_count: i32,
    pub content_hash: String,
}

/// What storing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// The same document was already stored: nothing changed. Its chunk ids are returned so
    /// embedding work lost earlier can be sent again (embedding is idempotent).
    Unchanged { chunk_ids: Vec<Uuid> },
    /// The item's chunks were (re)written; the item is now `embedding`.
    Replaced { chunk_ids: Vec<Uuid> },
}

impl Stored {
    pub fn chunk_ids(&self) -> &[Uuid] {
        match self {
            Self::Unchanged { chunk_ids } | Self::Replaced { chunk_ids } => chunk_ids,
        }
    }
}

#[derive(Deserialize)]
struct ItemState {
    content_hash: Option<String>,
    chunk_count: i32,
}

#[derive(Deserialize)]
struct ChunkId {
    id: Uuid,
}

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

/// Marks an item `failed` with a reason a person can act on.
pub async fn fail(db: &DataApi, item_id: Uuid, reason: &str) -> Result<(), AppError> {
    db.execute(
        "UPDATE repository_items SET status = 'failed', error = :reason WHERE id = :id",
        Params::new()
            .bind("id", item_id)
            .bind("reason", truncate(reason)),
    )
    .await?;
    Ok(())
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
        Params::new().bind("ids", ids).bind("reason", truncate(reason)),
    )
    .await?;
    Ok(())
}

fn truncate(reason: &str) -> String {
    match reason.char_indices().nth(MAX_REASON) {
        Some((cut, _)) => format!("{}...", &reason[..cut]),
        None => reason.to_owned(),
    }
}

/// Stores an item's chunks in one transaction. A document whose hash matches what is stored
/// is left alone, so a redelivered notification duplicates nothing.
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
    let stored = db
        .transaction(async |tx| {
            let state: Option<ItemState> = tx
                .query_opt(
                    "SELECT content_hash, chunk_count FROM repository_items WHERE id = :id FOR UPDATE",
                    Params::new().bind("id", item_id),
                )
                .await?;
            let Some(state) = state else {
                return Err(AppError::not_found("The item was deleted while it was processed"));
            };
            if state.content_hash.as_deref() == Some(document_hash) && state.chunk_count as usize == chunks.len() {
                let ids: Vec<ChunkId> = tx
                    .query(
                        "SELECT id FROM chunks WHERE item_id = :id ORDER BY chunk_index",
                        Params::new().bind("id", item_id),
                    )
                    .await?;
                if ids.len() == chunks.len() {
                    return Ok(Stored::Unchanged {
                        chunk_ids: ids.into_iter().map(|c| c.id).collect(),
                    });
                }
            }
            tx.execute("DELETE FROM chunks WHERE item_id = :id", Params::new().bind("id", item_id))
                .await?;
            let ids: Vec<Uuid> = chunks.iter().map(|_| Uuid::new_v4()).collect();
            let rows: Vec<Params> = chunks
                .iter()
                .zip(&ids)
                .enumerate()
                .map(|(index, (chunk, id))| {
                    Params::new()
                        .bind("id", *id)
                        .bind("item", item_id)
                        .bind("index", index as i64)
                        .bind("content", chunk.content.as_str())
                        .bind("page_start", chunk.page_start)
                        .bind("page_end", chunk.page_end)
                        .bind("headings", TextArray(chunk.heading_path.clone()))
                        .bind("tokens", chunk.token_count)
                        .bind("hash", chunk.content_hash.as_str())
                })
                .collect();
            for rows in rows.chunks(INSERT_BATCH) {
                tx.batch_execute(
                    "INSERT INTO chunks (id, item_id, repository_id, chunk_index, content, page_start, page_end,
                                         heading_path, token_count, content_hash)
                     SELECT :id, :item, i.repository_id, :index, :content, :page_start, :page_end,
                            :headings::text[], :tokens, :hash
                     FROM repository_items i WHERE i.id = :item",
                    rows,
                )
                .await?;
            }
            tx.execute(
                "UPDATE repository_items SET status = 'embedding', chunk_count = :count, embedded_count = 0,
                        page_count = :pages, content_hash = :hash, error = NULL
                 WHERE id = :id",
                Params::new()
                    .bind("id", item_id)
                    .bind("count", chunks.len() as i64)
                    .bind("pages", page_count)
                    .bind("hash", document_hash),
            )
            .await?;
            Ok::<_, AppError>(Stored::Replaced { chunk_ids: ids })
        })
        .await?;
    Ok(stored)
}
