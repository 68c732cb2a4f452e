//! The ingest pipeline's records port: its items, their chunks, OCR jobs and the monthly
//! OCR page budget, behind one trait so the pipeline runs (and is tested) without a
//! database.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

/// The rows one object's trip through the pipeline reads and writes. Adapter:
/// `ingest::DataApiIngestStore` (Aurora through the Data API).
#[async_trait]
pub trait IngestStore: Send + Sync {
    /// Reads an item and marks it `processing` in `attempt` (a `completed` item keeps its
    /// status: its object may have been replaced). `expected`: the repository and object
    /// key a notification named; an item whose own differ is neither read nor touched.
    /// `None` when there is no such item.
    async fn claim(
        &self,
        item_id: Uuid,
        expected: Option<(Uuid, &str)>,
        attempt: &Attempt,
    ) -> Result<Option<ClaimedItem>, AppError>;

    /// Stores the item's chunks and moves it to `embedding`; a document whose hash and
    /// chunk count match what is stored is kept, so a redelivery duplicates nothing.
    /// `not_found` when the item was deleted meanwhile.
    async fn store_chunks(
        &self,
        item_id: Uuid,
        document_hash: &str,
        page_count: Option<i32>,
        chunks: &[NewChunk],
    ) -> Result<Stored, AppError>;

    /// The item's work is queued (or with OCR): a death of this function no longer
    /// concerns it.
    async fn hand_over(&self, item_id: Uuid) -> Result<(), AppError>;

    /// Marks the item `failed` with a reason the person who uploaded it can act on.
    async fn fail(&self, item_id: Uuid, reason: &str) -> Result<(), AppError>;

    /// The OCR job still running for the item: a redelivered upload must not start another.
    async fn ocr_job_in_progress(&self, item_id: Uuid) -> Result<Option<OcrJob>, AppError>;

    /// Reserves `pages` of this month's OCR budget (a new month starts at
    /// `default_limit`); the inner error says why the budget cannot hold them.
    async fn reserve_ocr_pages(
        &self,
        pages: i32,
        default_limit: i32,
    ) -> Result<Result<(), Exhausted>, AppError>;

    /// Gives back a reservation whose job never started.
    async fn release_ocr_pages(&self, pages: i32) -> Result<(), AppError>;

    /// Records a started job holding `reserved_pages`, so its completion can settle them.
    async fn record_ocr_job(
        &self,
        job_id: &str,
        item_id: Uuid,
        reserved_pages: i32,
    ) -> Result<(), AppError>;
}

/// One delivery of a message to one Lambda invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// When the invocation is killed (`lambda_runtime::Context::deadline`).
    pub deadline: DateTime<Utc>,
    /// The message's `ApproximateReceiveCount` (1 on the first delivery).
    pub delivery: u32,
    /// The queue's `maxReceiveCount`: after that delivery the message goes to the DLQ.
    pub max_deliveries: u32,
}

impl Attempt {
    /// An attempt of the invocation whose deadline is `deadline_ms` (ms since the epoch).
    pub fn new(deadline_ms: u64, delivery: u32, max_deliveries: u32) -> Self {
        Self {
            deadline: deadline_from_ms(deadline_ms),
            delivery,
            max_deliveries,
        }
    }

    /// No delivery follows this one.
    pub fn is_last(&self) -> bool {
        self.delivery >= self.max_deliveries
    }
}

/// A Lambda deadline (ms since the epoch) as a time; a nonsense value is "now".
pub fn deadline_from_ms(deadline_ms: u64) -> DateTime<Utc> {
    i64::try_from(deadline_ms)
        .ok()
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        .unwrap_or_else(Utc::now)
}

/// An item as the pipeline reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct ClaimedItem {
    pub id: Uuid,
    pub repository_id: Uuid,
    pub name: String,
    pub source: String,
    pub content_type: Option<String>,
}

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
    /// embedding work lost earlier can be sent again (embedding is idempotent); `completed`
    /// says every chunk already has its vector.
    Unchanged {
        chunk_ids: Vec<Uuid>,
        completed: bool,
    },
    /// The item's chunks were (re)written; the item is now `embedding`.
    Replaced { chunk_ids: Vec<Uuid> },
}

impl Stored {
    pub fn chunk_ids(&self) -> &[Uuid] {
        match self {
            Self::Unchanged { chunk_ids, .. } | Self::Replaced { chunk_ids } => chunk_ids,
        }
    }
}

/// A recorded OCR job (`textract_jobs`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OcrJob {
    pub job_id: String,
    pub item_id: Uuid,
    pub status: String,
    /// The reserved pages while it runs, the pages read once it ended.
    pub pages: Option<i32>,
    pub error: Option<String>,
}

/// The OCR page budget refused a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted {
    pub limit: i32,
    pub used: i32,
    pub needed: i32,
}

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.limit > 0 && self.needed > self.limit {
            write!(
                f,
                "This document has {} pages without a text layer, more than the whole monthly OCR \
                 budget of {} pages; split it, or an administrator can raise the budget",
                self.needed, self.limit
            )
        } else {
            write!(
                f,
                "The monthly OCR budget of {} pages is used up ({} used, this document needs {}); \
                 it renews on the first day of next month (UTC), or an administrator can raise it",
                self.limit, self.used, self.needed
            )
        }
    }
}

impl std::error::Error for Exhausted {}
