//! The pipeline's records in Aurora: [`IngestStore`] over the Data API, each operation one
//! of the repository functions (and statements) that other callers use directly.

use async_trait::async_trait;
use uuid::Uuid;

use super::attempt::{self, Attempt};
use super::{ClaimedItem, NewChunk, Stored, claim, store_chunks};
use crate::data_api::DataApi;
use crate::error::AppError;
use crate::knowledge::items;
use crate::ocr::{budget, jobs};
use crate::ports::IngestStore;
use crate::ports::ingest::{Exhausted, OcrJob};

/// [`IngestStore`] on the RDS Data API.
#[derive(Debug, Clone)]
pub struct DataApiIngestStore {
    pub db: DataApi,
}

#[async_trait]
impl IngestStore for DataApiIngestStore {
    async fn claim(
        &self,
        item_id: Uuid,
        expected: Option<(Uuid, &str)>,
        attempt: &Attempt,
    ) -> Result<Option<ClaimedItem>, AppError> {
        claim(&self.db, item_id, expected, attempt).await
    }

    async fn store_chunks(
        &self,
        item_id: Uuid,
        document_hash: &str,
        page_count: Option<i32>,
        chunks: &[NewChunk],
    ) -> Result<Stored, AppError> {
        store_chunks(&self.db, item_id, document_hash, page_count, chunks).await
    }

    async fn hand_over(&self, item_id: Uuid) -> Result<(), AppError> {
        attempt::hand_over(&self.db, item_id).await
    }

    async fn fail(&self, item_id: Uuid, reason: &str) -> Result<(), AppError> {
        items::fail(&self.db, item_id, reason).await
    }

    async fn ocr_job_in_progress(&self, item_id: Uuid) -> Result<Option<OcrJob>, AppError> {
        jobs::in_progress(&self.db, item_id).await
    }

    async fn reserve_ocr_pages(
        &self,
        pages: i32,
        default_limit: i32,
    ) -> Result<Result<(), Exhausted>, AppError> {
        budget::reserve(&self.db, pages, default_limit).await
    }

    async fn release_ocr_pages(&self, pages: i32) -> Result<(), AppError> {
        budget::release(&self.db, pages).await
    }

    async fn record_ocr_job(
        &self,
        job_id: &str,
        item_id: Uuid,
        reserved_pages: i32,
    ) -> Result<(), AppError> {
        jobs::record_start(&self.db, job_id, item_id, reserved_pages).await
    }
}
