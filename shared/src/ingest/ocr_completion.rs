//! A job's completion: its pages of lines continue at chunking like extracted text, the
//! pages read are settled against the budget, and a failed job fails its item with the
//! provider's reason.

use serde::Deserialize;
use uuid::Uuid;

use super::attempt::{self, Attempt, Stage};
use super::pipeline::{Outcome, Pipeline};
use crate::data_api::{DataApi, Params};
use crate::error::AppError;
use crate::extract::{DocumentKind, Extracted, Page};
use crate::ocr::jobs::{self, JobStatus};
use crate::ports::ocr::OcrPage;
use crate::ports::ocr::{Completion, JobResult, OcrEngine, TEXT_DETECTION_API};

/// What became of one completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completed {
    /// The item went on: chunks queued for embedding, or failed with a reason.
    Item(Outcome),
    /// Not a text detection job this system started, or one already finished.
    Ignored(&'static str),
}

/// Handles one completion notification, in `attempt` (recorded on the item, so a death of
/// the textract-processor on its last delivery fails the item: see [`attempt::sweep`]).
/// `db`: the job rows and the attempt; the item's own go through `pipeline`.
pub async fn complete_ocr(
    db: &DataApi,
    pipeline: &Pipeline<'_>,
    engine: &dyn OcrEngine,
    completion: &Completion,
    attempt: &Attempt,
) -> Result<Completed, AppError> {
    if completion.api != TEXT_DETECTION_API {
        return Ok(Completed::Ignored("not a text detection job"));
    }
    let Some(job) = jobs::find(db, &completion.job_id).await? else {
        if !item_exists(db, completion.job_tag.as_deref()).await? {
            // The job's row went with its item.
            return Ok(Completed::Ignored("the item was deleted"));
        }
        // The file-processor records the job right after starting it: a completion can
        // only overtake that row by moments, so it is retried.
        return Err(AppError::new(
            crate::error::ErrorCode::Unavailable,
            format!("OCR job {} is not recorded (yet)", completion.job_id),
        ));
    };
    if job.status != "in_progress" {
        return Ok(Completed::Ignored("job already finished"));
    }
    attempt::begin(db, job.item_id, Stage::TextractProcessor, attempt).await?;
    let result = engine.results(completion).await?;
    let (pages, page_count) = match result {
        JobResult::Failed(reason) => {
            jobs::finish(db, &job.job_id, JobStatus::Failed, 0, Some(&reason)).await?;
            let reason = format!("OCR could not read the file: {reason}");
            return Ok(Completed::Item(
                pipeline.failed(job.item_id, &reason).await?,
            ));
        }
        JobResult::Text { pages, page_count } => (pages, page_count),
    };
    let read = i32::try_from(page_count).unwrap_or(i32::MAX);
    let status = if completion.status == "PARTIAL_SUCCESS" {
        JobStatus::PartialSuccess
    } else {
        JobStatus::Succeeded
    };
    let outcome = if pages.iter().all(|p| p.lines.is_empty()) {
        pipeline
            .failed(job.item_id, "OCR found no text in the file")
            .await?
    } else {
        pipeline
            .ingest_text(job.item_id, into_extracted(pages))
            .await?
    };
    // Settled after the chunks are stored: a crash in between redoes the (idempotent) store.
    jobs::finish(db, &job.job_id, status, read, None).await?;
    tracing::info!(item_id = %job.item_id, job_id = job.job_id, pages = read, "OCR job completed");
    Ok(Completed::Item(outcome))
}

/// Whether the item a job was tagged with still exists (`true` when the tag is no item id).
async fn item_exists(db: &DataApi, job_tag: Option<&str>) -> Result<bool, AppError> {
    let Some(item) = job_tag.and_then(|tag| Uuid::parse_str(tag).ok()) else {
        return Ok(true);
    };
    #[derive(Deserialize)]
    struct Exists {
        exists: bool,
    }
    let found: Exists = db
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM repository_items WHERE id = :id) AS exists",
            Params::new().bind("id", item),
        )
        .await?;
    Ok(found.exists)
}

/// The document as the chunker takes it: one page of text per OCR page, lines joined.
fn into_extracted(pages: Vec<OcrPage>) -> Extracted {
    Extracted {
        kind: DocumentKind::Text,
        pages: pages
            .into_iter()
            .map(|p| Page {
                number: p.number,
                text: p.lines.join("\n"),
            })
            .collect(),
        needs_ocr: false,
        title: None,
    }
}
