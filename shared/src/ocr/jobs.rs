//! `textract_jobs`: one row per OCR job, `pages` holding the reserved pages while it runs
//! and the pages the provider read once it ends; ending a job settles the budget once.

use serde::Deserialize;
use uuid::Uuid;

use crate::data_api::{DataApi, Params};
use crate::error::AppError;

pub use crate::ports::ingest::OcrJob;

/// How a job ended, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Succeeded,
    PartialSuccess,
    Failed,
}

impl JobStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::PartialSuccess => "partial_success",
            Self::Failed => "failed",
        }
    }
}

/// The job still running for an item, if any (a redelivered upload must not start another).
pub async fn in_progress(db: &DataApi, item_id: Uuid) -> Result<Option<OcrJob>, AppError> {
    Ok(db
        .query_opt(
            "SELECT job_id, item_id, status, pages, error FROM textract_jobs
             WHERE item_id = :item AND status = 'in_progress' ORDER BY created_at DESC LIMIT 1",
            Params::new().bind("item", item_id),
        )
        .await?)
}

pub async fn find(db: &DataApi, job_id: &str) -> Result<Option<OcrJob>, AppError> {
    Ok(db
        .query_opt(
            "SELECT job_id, item_id, status, pages, error FROM textract_jobs WHERE job_id = :job",
            Params::new().bind("job", job_id),
        )
        .await?)
}

/// Records a started job holding `reserved_pages` of the budget.
pub async fn record_start(
    db: &DataApi,
    job_id: &str,
    item_id: Uuid,
    reserved_pages: i32,
) -> Result<(), AppError> {
    db.execute(
        "INSERT INTO textract_jobs (job_id, item_id, pages) VALUES (:job, :item, :pages)
         ON CONFLICT (job_id) DO NOTHING",
        Params::new()
            .bind("job", job_id)
            .bind("item", item_id)
            .bind("pages", reserved_pages),
    )
    .await?;
    Ok(())
}

/// Ends a running job with the pages the provider read, and moves the month's budget (of
/// the month the job started in) from the reservation to that count. `false` when the
/// job had already ended: a redelivered completion changes nothing.
pub async fn finish(
    db: &DataApi,
    job_id: &str,
    status: JobStatus,
    pages_read: i32,
    error: Option<&str>,
) -> Result<bool, AppError> {
    db.transaction(async |tx| {
        #[derive(Deserialize)]
        struct Running {
            reserved: i32,
        }
        let running: Option<Running> = tx
            .query_opt(
                "SELECT COALESCE(pages, 0) AS reserved FROM textract_jobs
                 WHERE job_id = :job AND status = 'in_progress' FOR UPDATE",
                Params::new().bind("job", job_id),
            )
            .await?;
        let Some(running) = running else {
            return Ok(false);
        };
        tx.execute(
            "UPDATE ocr_page_budget b SET pages_used = GREATEST(b.pages_used + :delta, 0)
             FROM textract_jobs j
             WHERE j.job_id = :job AND b.month = date_trunc('month', j.created_at AT TIME ZONE 'UTC')::date",
            Params::new()
                .bind("job", job_id)
                .bind("delta", pages_read - running.reserved),
        )
        .await?;
        tx.execute(
            "UPDATE textract_jobs SET status = :status, pages = :pages, error = :error, completed_at = now()
             WHERE job_id = :job",
            Params::new()
                .bind("job", job_id)
                .bind("status", status.as_str())
                .bind("pages", pages_read)
                .bind("error", error),
        )
        .await?;
        Ok::<_, AppError>(true)
    })
    .await
}

/// Gives up on a running job whose completion could not be handled: it ends `failed` with
/// `reason`, its reserved pages staying counted (the provider may have read them).
pub async fn abandon(db: &DataApi, job_id: &str, reason: &str) -> Result<(), AppError> {
    db.execute(
        "UPDATE textract_jobs SET status = 'failed', error = :error, completed_at = now()
         WHERE job_id = :job AND status = 'in_progress'",
        Params::new().bind("job", job_id).bind("error", reason),
    )
    .await?;
    Ok(())
}
