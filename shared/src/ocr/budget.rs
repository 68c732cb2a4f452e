//! The monthly OCR page budget (`ocr_page_budget`, one row per UTC month): pages are
//! reserved atomically before a job starts and settled when it ends, so concurrent uploads
//! never overrun it. The row is created with the configured limit on the month's first OCR
//! job; from then on the row is the month's budget (an administrator may change it).

use serde::Deserialize;

use crate::data_api::{DataApi, Params};
use crate::error::AppError;

pub use crate::ports::ingest::Exhausted;

/// The monthly page limit a new month starts with (`OCR_MONTHLY_PAGE_BUDGET`, a whole
/// number of pages, default 1000).
pub fn monthly_limit(env: &mut crate::config::Env<'_>) -> i32 {
    let pages: u32 = env.parsed("OCR_MONTHLY_PAGE_BUDGET", 1000);
    i32::try_from(pages).unwrap_or(i32::MAX)
}

#[derive(Deserialize)]
struct Usage {
    page_limit: i32,
    pages_used: i32,
}

/// The first day of the current UTC month, as SQL (a literal, so `concat!` can splice it).
macro_rules! this_month {
    () => {
        "date_trunc('month', now() AT TIME ZONE 'UTC')::date"
    };
}

/// Reserves `pages` of this month's budget, creating the month's row with `default_limit`.
pub async fn reserve(
    db: &DataApi,
    pages: i32,
    default_limit: i32,
) -> Result<Result<(), Exhausted>, AppError> {
    db.execute(
        concat!(
            "INSERT INTO ocr_page_budget (month, page_limit) VALUES (",
            this_month!(),
            ", :limit)
             ON CONFLICT (month) DO NOTHING"
        ),
        Params::new().bind("limit", default_limit),
    )
    .await?;
    let reserved: Option<Usage> = db
        .query_opt(
            concat!(
                "UPDATE ocr_page_budget SET pages_used = pages_used + :pages
                 WHERE month = ",
                this_month!(),
                " AND pages_used + :pages <= page_limit
                 RETURNING page_limit, pages_used"
            ),
            Params::new().bind("pages", pages),
        )
        .await?;
    if reserved.is_some() {
        return Ok(Ok(()));
    }
    let usage: Usage = db
        .query_one(
            concat!(
                "SELECT page_limit, pages_used FROM ocr_page_budget WHERE month = ",
                this_month!(),
                ""
            ),
            Params::new(),
        )
        .await?;
    Ok(Err(Exhausted {
        limit: usage.page_limit,
        used: usage.pages_used,
        needed: pages,
    }))
}

/// Gives back a reservation whose job never started.
pub async fn release(db: &DataApi, pages: i32) -> Result<(), AppError> {
    db.execute(
        concat!(
            "UPDATE ocr_page_budget SET pages_used = GREATEST(pages_used - :pages, 0)
             WHERE month = ",
            this_month!(),
            ""
        ),
        Params::new().bind("pages", pages),
    )
    .await?;
    Ok(())
}

/// Pages used by OCR in the current month and its limit, if the month has a row.
pub async fn this_month(db: &DataApi) -> Result<Option<(i32, i32)>, AppError> {
    let usage: Option<Usage> = db
        .query_opt(
            concat!(
                "SELECT page_limit, pages_used FROM ocr_page_budget WHERE month = ",
                this_month!(),
                ""
            ),
            Params::new(),
        )
        .await?;
    Ok(usage.map(|u| (u.pages_used, u.page_limit)))
}
