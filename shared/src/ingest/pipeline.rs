//! One uploaded object through the pipeline: checked against its item, read with a size
//! cap, turned into text per page and chunks (ports: [`super::stages::TextExtractor`],
//! [`super::stages::Chunker`]), stored idempotently ([`crate::ports::IngestStore`]), and
//! handed to the embedding queue as chunk ids. A scan or an image goes to OCR instead
//! ([`crate::ocr`]): its text comes back later through [`Pipeline::ingest_text`]. Every
//! way a file can be bad ends with the item `failed` and a reason a person can act on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::attempt::Attempt;
use super::stages::{Chunker, TextExtractor, Unreadable, sentence};
use super::{ClaimedItem, NewChunk, Stored};
use crate::error::AppError;
use crate::extract::{Deadline, Extracted, Page};
use crate::fetch::{FetchPolicy, fetch};
use crate::knowledge::ObjectKey;
use crate::ports::ocr::OcrEngine;
use crate::ports::{IngestStore, ObjectStore, Queue};

/// Chunk ids per embedding message: 4,000 ids are ~160 KB, under SQS's 256 KB, so a
/// document's embedding work is one message (the generator pages through it).
pub const IDS_PER_MESSAGE: usize = 4000;

/// Time one document may take to extract and chunk. The linear stages take well under a
/// second for the largest file accepted; this stops whatever else could go wrong, long
/// before the function's timeout, with a reason on the item.
pub const WORK_BUDGET: Duration = Duration::from_secs(20);

/// Time kept back from the invocation for storing chunks and queueing them.
const STORE_MARGIN: Duration = Duration::from_secs(15);

/// What became of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Chunks stored (or already stored) and sent for embedding.
    Queued { chunks: usize, unchanged: bool },
    /// The file cannot be used; the item says why.
    Failed(String),
    /// A scan or an image: an OCR job was started (or was already running); its completion
    /// continues the item.
    OcrStarted { job_id: String, pages: i32 },
    /// The item was deleted meanwhile; nothing to do.
    Gone,
}

/// OCR for documents without a text layer, and the pages it may read per month.
pub struct Ocr<'a> {
    pub engine: &'a dyn OcrEngine,
    /// The limit a month's budget starts with (see [`crate::ocr::budget`]).
    pub monthly_pages: i32,
}

/// The dependencies of the pipeline, built once per cold start.
pub struct Pipeline<'a> {
    /// Items, chunks, OCR jobs and the page budget ([`super::DataApiIngestStore`]).
    pub records: &'a dyn IngestStore,
    pub store: &'a dyn ObjectStore,
    pub embedding_queue: &'a dyn Queue,
    pub extractor: Arc<dyn TextExtractor>,
    pub chunker: Arc<dyn Chunker>,
    pub max_bytes: u64,
    pub fetch_policy: FetchPolicy,
    /// `None`: scans and images fail, saying OCR is not available.
    pub ocr: Option<Ocr<'a>>,
}

impl Pipeline<'_> {
    /// Processes the object an S3 notification named, in `attempt`.
    pub async fn process_object(
        &self,
        key: &ObjectKey,
        attempt: &Attempt,
    ) -> Result<Outcome, AppError> {
        let source = key.to_key();
        match self
            .records
            .claim(key.item_id, Some((key.repository_id, &source)), attempt)
            .await?
        {
            Some(item) => self.process_stored(item, key, attempt).await,
            None => Ok(Outcome::Gone),
        }
    }

    /// Reads a claimed item's object and processes it.
    async fn process_stored(
        &self,
        item: ClaimedItem,
        key: &ObjectKey,
        attempt: &Attempt,
    ) -> Result<Outcome, AppError> {
        let bytes = match self.store.get(&item.source, self.max_bytes).await {
            Ok(bytes) => bytes,
            Err(error) if !error.is_retryable() => {
                return self.failed(item.id, &error.message).await;
            }
            Err(error) => return Err(error),
        };
        self.process_bytes(
            item.id,
            bytes,
            key.file_name.clone(),
            item.content_type,
            Some(&item.source),
            work_deadline(attempt),
        )
        .await
    }

    /// Processes an item named by id (a reprocess request, or a URL item to fetch), in
    /// `attempt`.
    pub async fn process_item(&self, id: Uuid, attempt: &Attempt) -> Result<Outcome, AppError> {
        let Some(item) = self.records.claim(id, None, attempt).await? else {
            return Ok(Outcome::Gone);
        };
        if item.source.starts_with("repositories/") {
            let key = ObjectKey::parse(&item.source)?;
            return self.process_stored(item, &key, attempt).await;
        }
        let fetched = match fetch(&item.source, &self.fetch_policy).await {
            Ok(fetched) => fetched,
            Err(error) if !error.is_retryable() => {
                return self.failed(item.id, &error.message).await;
            }
            Err(error) => return Err(error),
        };
        let name = if item.name.contains('.') {
            item.name
        } else {
            format!("{}.html", item.name)
        };
        self.process_bytes(
            item.id,
            fetched.bytes,
            name,
            fetched.content_type,
            None,
            work_deadline(attempt),
        )
        .await
    }

    async fn process_bytes(
        &self,
        item: Uuid,
        bytes: Vec<u8>,
        file_name: String,
        content_type: Option<String>,
        stored_key: Option<&str>,
        deadline: Deadline,
    ) -> Result<Outcome, AppError> {
        let (extractor, chunker) = (Arc::clone(&self.extractor), Arc::clone(&self.chunker));
        // Parsing is CPU-bound: it runs on the blocking pool, not on the async workers.
        let parsed = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let extracted =
                extractor.extract(&bytes, &file_name, content_type.as_deref(), &deadline)?;
            let extracted_at = Instant::now();
            let chunks = if extracted.needs_ocr {
                Vec::new()
            } else {
                chunker.chunk(&extracted, &deadline)?
            };
            tracing::info!(
                item_id = %item,
                extract_ms = millis(extracted_at - started),
                chunk_ms = millis(extracted_at.elapsed()),
                "Item extracted and chunked"
            );
            Ok::<_, Unreadable>((extracted, chunks))
        })
        .await
        .map_err(|e| AppError::internal("Extraction stopped unexpectedly").caused_by(e))?;
        let (extracted, chunks) = match parsed {
            Ok(parsed) => parsed,
            Err(Unreadable(reason)) => return self.failed(item, &reason).await,
        };
        if extracted.needs_ocr {
            let pages = i32::try_from(extracted.pages.len().max(1)).unwrap_or(i32::MAX);
            return self.start_ocr(item, stored_key, pages).await;
        }
        self.store_and_queue(item, &extracted, &chunks).await
    }

    /// Continues an item at chunking with text that came from elsewhere (OCR).
    pub async fn ingest_text(&self, item: Uuid, document: Extracted) -> Result<Outcome, AppError> {
        let chunker = Arc::clone(&self.chunker);
        let (document, chunked) = tokio::task::spawn_blocking(move || {
            let chunks = chunker.chunk(&document, &Deadline::after(WORK_BUDGET));
            (document, chunks)
        })
        .await
        .map_err(|e| AppError::internal("Chunking stopped unexpectedly").caused_by(e))?;
        match chunked {
            Ok(chunks) => self.store_and_queue(item, &document, &chunks).await,
            Err(Unreadable(reason)) => self.failed(item, &reason).await,
        }
    }

    async fn store_and_queue(
        &self,
        item: Uuid,
        extracted: &Extracted,
        chunks: &[NewChunk],
    ) -> Result<Outcome, AppError> {
        if chunks.is_empty() {
            return self.failed(item, "No text was found in the file").await;
        }
        let hash = document_hash(&extracted.pages);
        let pages = i32::try_from(extracted.pages.len()).ok();
        let started = Instant::now();
        let stored = self
            .records
            .store_chunks(item, &hash, pages, chunks)
            .await?;
        let stored_at = Instant::now();
        // A document already stored and embedded needs no embedding work; any other sends
        // its chunk ids again (embedding skips what is done), in one message per document
        // up to IDS_PER_MESSAGE chunks.
        if !matches!(
            stored,
            Stored::Unchanged {
                completed: true,
                ..
            }
        ) {
            let bodies: Vec<String> = stored
                .chunk_ids()
                .chunks(IDS_PER_MESSAGE)
                .map(|ids| json!({ "chunkIds": ids }).to_string())
                .collect();
            self.embedding_queue.send(bodies).await?;
        }
        // Handed over only once the work is queued: a death before that is this stage's.
        self.records.hand_over(item).await?;
        tracing::info!(
            item_id = %item,
            store_ms = millis(stored_at - started),
            queue_ms = millis(stored_at.elapsed()),
            "Item stored and queued"
        );
        Ok(Outcome::Queued {
            chunks: stored.chunk_ids().len(),
            unchanged: matches!(stored, Stored::Unchanged { .. }),
        })
    }

    /// Reserves `pages` of the monthly budget and starts an OCR job on the stored object;
    /// a redelivered upload finds its job running and starts no other.
    async fn start_ocr(
        &self,
        item: Uuid,
        stored_key: Option<&str>,
        pages: i32,
    ) -> Result<Outcome, AppError> {
        let Some(ocr) = &self.ocr else {
            return self
                .failed(
                    item,
                    "The file has no text layer (a scan or an image) and OCR is not available here",
                )
                .await;
        };
        let Some(key) = stored_key else {
            return self
                .failed(
                    item,
                    "The page has no text layer (a scan or an image); upload the file to have it read by OCR",
                )
                .await;
        };
        if let Some(job) = self.records.ocr_job_in_progress(item).await? {
            self.records.hand_over(item).await?;
            return Ok(Outcome::OcrStarted {
                job_id: job.job_id,
                pages: job.pages.unwrap_or(pages),
            });
        }
        if let Err(exhausted) = self
            .records
            .reserve_ocr_pages(pages, ocr.monthly_pages)
            .await?
        {
            return self.failed(item, &format!("{exhausted}.")).await;
        }
        let job_id = match ocr.engine.start(key, item).await {
            Ok(job_id) => job_id,
            Err(error) => {
                self.records.release_ocr_pages(pages).await?;
                if error.is_retryable() {
                    return Err(error);
                }
                let reason = format!("OCR could not start: {}", error.message);
                return self.failed(item, &sentence(&reason)).await;
            }
        };
        self.records.record_ocr_job(&job_id, item, pages).await?;
        // The item now waits for the OCR completion, whose own attempt is recorded then.
        self.records.hand_over(item).await?;
        tracing::info!(item_id = %item, job_id, pages, "OCR job started");
        Ok(Outcome::OcrStarted { job_id, pages })
    }

    /// Marks the item failed with `reason`.
    pub async fn failed(&self, item: Uuid, reason: &str) -> Result<Outcome, AppError> {
        tracing::info!(item_id = %item, reason, "Item failed");
        self.records.fail(item, reason).await?;
        Ok(Outcome::Failed(reason.to_owned()))
    }
}

/// The document's work budget in this attempt: [`WORK_BUDGET`], or less when the
/// invocation has less time left than that and the store margin.
fn work_deadline(attempt: &Attempt) -> Deadline {
    let left = (attempt.deadline - chrono::Utc::now())
        .to_std()
        .unwrap_or_default()
        .saturating_sub(STORE_MARGIN);
    Deadline::after(WORK_BUDGET.min(left).max(Duration::from_secs(1)))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// SHA-256 of the extracted text, page by page: the same document hashes the same.
pub fn document_hash(pages: &[Page]) -> String {
    let mut hasher = Sha256::new();
    for page in pages {
        hasher.update(page.number.to_le_bytes());
        hasher.update(page.text.as_bytes());
    }
    hex::encode(hasher.finalize())
}
