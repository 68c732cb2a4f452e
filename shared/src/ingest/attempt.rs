//! Which function is working on an item, until when, and on which delivery of its message;
//! and the sweep that fails the items whose function died (timeout, memory, crash) when no
//! delivery will follow, saying so in words.
//!
//! A function records its attempt when it takes an item ([`Attempt`]: the invocation's
//! deadline, the message's receive count, the queue's maxReceiveCount). A hand-over (chunks
//! stored and queued for embedding, an OCR job started) clears the deadline: the item then
//! waits and nobody's death concerns it. [`sweep`] fails an item whose last attempt's
//! deadline has passed, and one whose attempt died more than 12 hours ago (SQS keeps a
//! message invisible for 12 hours at most, so nothing is coming back).

use chrono::{DateTime, Duration as Span, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::data_api::{DataApi, Params};
use crate::error::AppError;

pub use crate::ports::ingest::{Attempt, deadline_from_ms};

/// After this long with no progress an item's message is certainly gone.
pub const SAFETY_NET_HOURS: i64 = 12;
/// Allowance for the clocks of Lambda and the database to differ.
const CLOCK_GRACE_SECS: i64 = 10;
/// Items failed per sweep at most (the next tick takes the rest).
const SWEEP_LIMIT: i64 = 200;

/// The function an attempt runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    FileProcessor,
    TextractProcessor,
    EmbeddingGenerator,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FileProcessor => "file-processor",
            Self::TextractProcessor => "textract-processor",
            Self::EmbeddingGenerator => "embedding-generator",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            Self::FileProcessor,
            Self::TextractProcessor,
            Self::EmbeddingGenerator,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// What the stage does, as the subject of a sentence.
    fn work(self) -> &'static str {
        match self {
            Self::FileProcessor => "Processing",
            Self::TextractProcessor => "Reading the OCR text",
            Self::EmbeddingGenerator => "Embedding",
        }
    }
}

/// Records that `stage` works on `item` (while it is `processing` or `embedding`).
pub async fn begin(
    db: &DataApi,
    item: Uuid,
    stage: Stage,
    attempt: &Attempt,
) -> Result<(), AppError> {
    db.execute(
        "UPDATE repository_items SET attempt_stage = :stage, attempt_delivery = :delivery,
             attempt_last = :last, attempt_started_at = now(), attempt_deadline = :deadline
         WHERE id = :id AND status IN ('processing', 'embedding')",
        Params::new()
            .bind("id", item)
            .bind("stage", stage.as_str())
            .bind("delivery", i64::from(attempt.delivery))
            .bind("last", attempt.is_last())
            .bind("deadline", attempt.deadline),
    )
    .await?;
    Ok(())
}

/// The pipeline handed the item over (chunks queued for embedding, an OCR job started):
/// no file-processor or textract-processor works on it any more. An attempt the
/// embedding-generator has begun meanwhile is left as it is.
pub async fn hand_over(db: &DataApi, item: Uuid) -> Result<(), AppError> {
    db.execute(
        "UPDATE repository_items SET attempt_deadline = NULL, attempt_last = false
         WHERE id = :id AND attempt_stage IN ('file-processor', 'textract-processor')",
        Params::new().bind("id", item),
    )
    .await?;
    Ok(())
}

/// The embedding-generator's attempt on the items owning these messages' chunks; an item
/// with a message on its last delivery is on its last attempt (that message's chunks are
/// never embedded if this invocation dies). `messages`: each message's chunk ids and
/// delivery.
pub async fn begin_embedding(
    db: &DataApi,
    messages: &[(&[Uuid], u32)],
    max_deliveries: u32,
    deadline: DateTime<Utc>,
) -> Result<(), AppError> {
    let rows: Vec<Value> = messages
        .iter()
        .map(|(ids, delivery)| json!({"ids": ids, "delivery": delivery}))
        .collect();
    db.execute(
        "WITH m AS (
             SELECT (x ->> 'delivery')::int AS delivery, jsonb_array_elements_text(x -> 'ids')::uuid AS chunk
             FROM jsonb_array_elements(:messages::jsonb) x
         ), per_item AS (
             SELECT c.item_id, max(m.delivery) AS delivery FROM m JOIN chunks c ON c.id = m.chunk GROUP BY c.item_id
         )
         UPDATE repository_items i SET attempt_stage = 'embedding-generator', attempt_delivery = p.delivery,
             attempt_last = p.delivery >= :max, attempt_started_at = now(), attempt_deadline = :deadline
         FROM per_item p WHERE i.id = p.item_id AND i.status = 'embedding'",
        Params::new()
            .bind("messages", Value::Array(rows))
            .bind("max", i64::from(max_deliveries))
            .bind("deadline", deadline),
    )
    .await?;
    Ok(())
}

/// The embedding-generator finished with these chunks: their items that still wait (for
/// another message of theirs) are no longer worked on by the attempt of `deadline`.
pub async fn end_embedding(
    db: &DataApi,
    chunk_ids: &[Uuid],
    deadline: DateTime<Utc>,
) -> Result<(), AppError> {
    let ids = crate::data_api::TextArray(chunk_ids.iter().map(Uuid::to_string).collect());
    db.execute(
        "UPDATE repository_items SET attempt_deadline = NULL, attempt_last = false
         WHERE status = 'embedding' AND attempt_deadline = :deadline
           AND id IN (SELECT item_id FROM chunks WHERE id = ANY(:ids::uuid[]))",
        Params::new().bind("ids", ids).bind("deadline", deadline),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
struct Stopped {
    id: Uuid,
    status: String,
    stage: Option<String>,
    delivery: Option<i32>,
    last: bool,
    started_at: Option<DateTime<Utc>>,
    deadline: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

/// An item the sweep failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweptItem {
    pub id: Uuid,
    pub reason: String,
}

/// Fails the items whose function died for good, as of `now`: the last attempt's deadline
/// has passed; or an attempt died over 12 hours ago; or an item `processing` without an
/// attempt (waiting for OCR, or taken before attempts were recorded) has not changed for
/// 12 hours. An item that finished or moved on meanwhile is left alone.
pub async fn sweep(db: &DataApi, now: DateTime<Utc>) -> Result<Vec<SweptItem>, AppError> {
    let stopped: Vec<Stopped> = db
        .query(
            "SELECT id, status, attempt_stage AS stage, attempt_delivery AS delivery, attempt_last AS last,
                    attempt_started_at AS started_at, attempt_deadline AS deadline, updated_at
             FROM repository_items
             WHERE status IN ('processing', 'embedding') AND (
                   (attempt_last AND attempt_deadline < :dead)
                OR attempt_deadline < :gone
                OR (status = 'processing' AND attempt_deadline IS NULL AND updated_at < :gone))
             ORDER BY updated_at LIMIT :limit",
            Params::new()
                .bind("dead", now - Span::seconds(CLOCK_GRACE_SECS))
                .bind("gone", now - Span::hours(SAFETY_NET_HOURS))
                .bind("limit", SWEEP_LIMIT),
        )
        .await?;
    if stopped.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Value> = stopped
        .iter()
        .map(|s| {
            json!({"id": s.id, "status": s.status, "deadline": s.deadline.map(|d| d.to_rfc3339()),
                   "reason": crate::knowledge::items::reason_text(&reason(s))})
        })
        .collect();
    #[derive(Deserialize)]
    struct Failed {
        id: Uuid,
        error: String,
    }
    let failed: Vec<Failed> = db
        .query(
            "UPDATE repository_items i SET status = 'failed', error = r.reason, attempt_deadline = NULL
             FROM jsonb_to_recordset(:rows::jsonb) AS r(id uuid, status text, deadline timestamptz, reason text)
             WHERE i.id = r.id AND i.status = r.status AND i.attempt_deadline IS NOT DISTINCT FROM r.deadline
             RETURNING i.id, i.error",
            Params::new().bind("rows", Value::Array(rows)),
        )
        .await?;
    for item in &failed {
        tracing::warn!(item_id = %item.id, reason = item.error, "Stopped item failed by the sweep");
    }
    Ok(failed
        .into_iter()
        .map(|f| SweptItem {
            id: f.id,
            reason: f.error,
        })
        .collect())
}

fn utc(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Why a stopped item failed, for the person who uploaded it.
fn reason(item: &Stopped) -> String {
    let stage = item.stage.as_deref().and_then(Stage::parse);
    let (Some(stage), Some(_), Some(started)) = (stage, item.deadline, item.started_at) else {
        return format!(
            "Processing made no progress for {SAFETY_NET_HOURS} hours (an OCR result never arrived, or the \
             function working on the file stopped); the item last changed at {}.",
            utc(item.updated_at)
        );
    };
    let why = format!(
        "the {} ran out of time or memory, or crashed",
        stage.as_str()
    );
    if item.last {
        let attempts = match item.delivery.unwrap_or(1) {
            n if n <= 1 => "on its only attempt".to_owned(),
            n => format!("on each of its {n} attempts"),
        };
        format!(
            "{} stopped before it finished {attempts} ({why}); the last attempt began at {}.",
            stage.work(),
            utc(started)
        )
    } else {
        format!(
            "{} stopped before it finished ({why}) and was not tried again within {SAFETY_NET_HOURS} hours; \
             the last attempt began at {}.",
            stage.work(),
            utc(started)
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn stopped(stage: Option<&str>, delivery: i32, last: bool) -> Stopped {
        let at = Utc.with_ymd_and_hms(2025, 3, 4, 12, 4, 31).unwrap();
        Stopped {
            id: Uuid::nil(),
            status: "processing".into(),
            stage: stage.map(str::to_owned),
            delivery: Some(delivery),
            last,
            started_at: Some(at),
            deadline: stage.map(|_| at + Span::seconds(300)),
            updated_at: at,
        }
    }

    #[test]
    fn reasons_say_what_stopped_how_often_and_when() {
        assert_eq!(
            reason(&stopped(Some("file-processor"), 3, true)),
            "Processing stopped before it finished on each of its 3 attempts (the file-processor ran out \
             of time or memory, or crashed); the last attempt began at 2025-03-04 12:04:31 UTC."
        );
        assert!(
            reason(&stopped(Some("embedding-generator"), 1, true))
                .starts_with("Embedding stopped before it finished on its only attempt")
        );
        assert!(
            reason(&stopped(Some("textract-processor"), 1, false))
                .contains("was not tried again within 12 hours")
        );
        assert!(reason(&stopped(None, 1, false)).contains("no progress for 12 hours"));
    }

    #[test]
    fn the_last_delivery_is_the_max_receive_count() {
        assert!(!Attempt::new(0, 2, 3).is_last());
        assert!(Attempt::new(0, 3, 3).is_last());
        assert_eq!(
            deadline_from_ms(1_700_000_000_123).timestamp_millis(),
            1_700_000_000_123
        );
    }
}
