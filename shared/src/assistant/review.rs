//! The status workflow: owners submit (and withdraw or disable), administrators approve or
//! reject. Each change is one conditional UPDATE, so two reviewers cannot both win.

use uuid::Uuid;

use super::repository::{get, is_owner, load_row};
use super::{Assistant, Status};
use crate::auth::Caller;
use crate::data_api::{DataApi, Params, TextArray};
use crate::error::{AppError, ErrorCode};

/// Statuses an assistant may move to `to` from, and whether only administrators may move it.
fn rule(to: Status) -> (&'static [Status], bool) {
    match to {
        Status::PendingApproval => (&[Status::Draft, Status::Rejected, Status::Disabled], false),
        Status::Draft => (&[Status::PendingApproval], false),
        Status::Approved | Status::Rejected => (&[Status::PendingApproval], true),
        Status::Disabled => (&[Status::Approved], false),
    }
}

/// Moves the assistant to `to`, with an optional reviewer's note (required to reject).
pub async fn change_status(
    db: &DataApi,
    caller: &Caller,
    id: Uuid,
    to: Status,
    note: Option<&str>,
) -> Result<Assistant, AppError> {
    let current = get(db, caller, id).await?;
    let (from, admin_only) = rule(to);
    if admin_only && !caller.is_administrator() {
        return Err(AppError::forbidden(format!(
            "Only administrators may mark an assistant {}",
            to.as_str()
        )));
    }
    if !(admin_only || is_owner(caller, &current) || caller.is_administrator()) {
        return Err(AppError::forbidden(
            "Only the owner or an administrator changes this assistant's status",
        ));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if to == Status::Rejected && note.is_none() {
        return Err(AppError::validation("Say why in a note when rejecting"));
    }
    let from_names = TextArray(from.iter().map(|s| s.as_str().to_owned()).collect());
    let changed: Option<serde_json::Value> = db
        .query_opt(
            "UPDATE assistant_architects SET status = :to,
                 reviewed_by = CASE WHEN :review THEN :user ELSE reviewed_by END,
                 reviewed_at = CASE WHEN :review THEN now() ELSE reviewed_at END,
                 review_note = CASE WHEN :review THEN :note ELSE review_note END
             WHERE id = :id AND status = ANY(:from::text[]) RETURNING id",
            Params::new()
                .bind("id", id)
                .bind("to", to.as_str())
                .bind("from", from_names)
                .bind("review", admin_only)
                .bind("user", caller.user_id)
                .bind("note", note),
        )
        .await?;
    if changed.is_none() {
        let now = load_row(db, id).await?;
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "The assistant is {}; it cannot become {}",
                now.status.as_str(),
                to.as_str()
            ),
        ));
    }
    get(db, caller, id).await
}
