//! Repository items: uploads, pasted text and URLs, from `pending` to `completed` or
//! `failed`, stored under their [`ObjectKey`].

mod intake;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::object_key::{ObjectKey, safe_file_name};
use super::repositories::{self, Access};
use crate::auth::Caller;
use crate::data_api::{DataApi, Params};
use crate::error::{AppError, ErrorCode};

pub use intake::{Intake, Started, UPLOAD_EXPIRY, Upload};

/// Longest failure reason stored on an item.
const MAX_REASON: usize = 1000;
/// Uploads larger than this are refused before a URL is signed.
pub const MAX_UPLOAD_BYTES: i64 = 50 * 1024 * 1024;
/// Pasted text larger than this is refused.
pub const MAX_TEXT_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    File,
    Text,
    Url,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct Item {
    pub id: Uuid,
    pub repository_id: Uuid,
    #[serde(rename(deserialize = "type"))]
    pub kind: ItemKind,
    pub name: String,
    pub source: String,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub status: String,
    pub error: Option<String>,
    pub page_count: Option<i32>,
    pub chunk_count: i32,
    pub embedded_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a caller asks to add.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum NewItem {
    File {
        file_name: String,
        content_type: Option<String>,
        size_bytes: i64,
    },
    Text {
        name: String,
        text: String,
    },
    Url {
        url: String,
    },
}

impl NewItem {
    /// The item's name and source, after checking the request.
    fn name_and_source(
        &self,
        repository_id: Uuid,
        item_id: Uuid,
    ) -> Result<(String, String), AppError> {
        match self {
            Self::File {
                file_name,
                size_bytes,
                ..
            } => {
                if *size_bytes <= 0 {
                    return Err(AppError::validation("The file is empty"));
                }
                if *size_bytes > MAX_UPLOAD_BYTES {
                    return Err(AppError::new(
                        ErrorCode::TooLarge,
                        format!("The file is {size_bytes} bytes; the limit is {MAX_UPLOAD_BYTES}"),
                    ));
                }
                let key = ObjectKey::new(repository_id, item_id, file_name)?;
                Ok((key.file_name.clone(), key.to_key()))
            }
            Self::Text { name, text } => {
                if text.trim().is_empty() {
                    return Err(AppError::validation("The text is empty"));
                }
                if text.len() > MAX_TEXT_BYTES {
                    return Err(AppError::new(
                        ErrorCode::TooLarge,
                        format!("Pasted text is limited to {MAX_TEXT_BYTES} bytes"),
                    ));
                }
                let key = ObjectKey::new(
                    repository_id,
                    item_id,
                    &format!("{}.txt", safe_file_name(name)?),
                )?;
                Ok((name.trim().to_owned(), key.to_key()))
            }
            Self::Url { url } => {
                let url = url.trim();
                let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
                if !scheme_ok || url.len() > 2048 || url.chars().any(char::is_control) {
                    return Err(AppError::validation(
                        "A URL item needs an http(s) URL of at most 2048 characters",
                    ));
                }
                Ok((url.to_owned(), url.to_owned()))
            }
        }
    }
}

/// The columns of [`Item`]; a macro so statements are built with `concat!`.
macro_rules! item_columns {
    () => {
        "id, repository_id, type, name, source, content_type, size_bytes, status, error,
         page_count, chunk_count, embedded_count, created_at, updated_at"
    };
}

/// At most this many items are added by one request.
pub const MAX_BATCH: usize = 100;

/// Adds an item as `pending`. For files the caller then uploads to the item's object key.
pub async fn create(
    db: &DataApi,
    caller: &Caller,
    repository_id: Uuid,
    new: &NewItem,
) -> Result<Item, AppError> {
    let mut created = create_many(db, caller, repository_id, std::slice::from_ref(new)).await?;
    created.remove(0)
}

/// Adds the valid items of `new` as `pending`, in one statement that also checks the caller
/// may write to the repository (a refusal then reads the repository again to say why). The
/// result has one entry per item, in order: the item, or why it was not added.
pub async fn create_many(
    db: &DataApi,
    caller: &Caller,
    repository_id: Uuid,
    new: &[NewItem],
) -> Result<Vec<Result<Item, AppError>>, AppError> {
    if new.is_empty() || new.len() > MAX_BATCH {
        return Err(AppError::validation(format!(
            "Add 1 to {MAX_BATCH} items at a time (this request has {})",
            new.len()
        )));
    }
    let mut planned: Vec<Result<Uuid, AppError>> = Vec::with_capacity(new.len());
    let mut rows = Vec::with_capacity(new.len());
    for item in new {
        let id = Uuid::new_v4();
        let (name, source) = match item.name_and_source(repository_id, id) {
            Ok(checked) => checked,
            Err(error) => {
                planned.push(Err(error));
                continue;
            }
        };
        let (kind, content_type, size) = match item {
            NewItem::File {
                content_type,
                size_bytes,
                ..
            } => ("file", content_type.as_deref(), Some(*size_bytes)),
            NewItem::Text { text, .. } => (
                "text",
                Some("text/plain; charset=utf-8"),
                Some(text.len() as i64),
            ),
            NewItem::Url { .. } => ("url", None, None),
        };
        planned.push(Ok(id));
        rows.push(serde_json::json!({
            "id": id, "kind": kind, "name": name, "source": source,
            "content_type": content_type, "size_bytes": size,
        }));
    }
    static INSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "INSERT INTO repository_items (id, repository_id, type, name, source, content_type, size_bytes, uploaded_by)
             SELECT r.id, :repository, r.kind, r.name, r.source, r.content_type, r.size_bytes, :user
             FROM jsonb_to_recordset(:rows::jsonb)
                  AS r(id uuid, kind text, name text, source text, content_type text, size_bytes bigint)
             WHERE EXISTS ({})
             RETURNING {}",
            repositories::WRITABLE,
            item_columns!()
        )
    });
    let created: Vec<Item> = if rows.is_empty() {
        Vec::new()
    } else {
        db.query(
            &INSERT,
            Params::new()
                .bind("repository", repository_id)
                .bind("user", caller.user_id)
                .bind("rows", serde_json::Value::Array(rows)),
        )
        .await?
    };
    if created.is_empty() {
        // Refused (or nothing valid to add): say "forbidden" first to a caller who may not
        // write here.
        repositories::require(db, caller, repository_id, Access::Write).await?;
    }
    let mut created: std::collections::HashMap<Uuid, Item> =
        created.into_iter().map(|item| (item.id, item)).collect();
    Ok(planned
        .into_iter()
        .map(|planned| {
            planned.and_then(|id| {
                created
                    .remove(&id)
                    .ok_or_else(|| AppError::internal("The item was not added; try again"))
            })
        })
        .collect())
}

/// The item, whoever asks: callers check access before returning it.
async fn load(db: &DataApi, id: Uuid) -> Result<Item, AppError> {
    const SELECT: &str = concat!(
        "SELECT ",
        item_columns!(),
        " FROM repository_items WHERE id = :id"
    );
    db.query_opt(SELECT, Params::new().bind("id", id))
        .await?
        .ok_or_else(|| AppError::not_found("No such item"))
}

/// One item, if the caller may read its repository.
pub async fn get(db: &DataApi, caller: &Caller, id: Uuid) -> Result<Item, AppError> {
    let item = load(db, id).await?;
    repositories::require(db, caller, item.repository_id, Access::Read).await?;
    Ok(item)
}

/// A repository's items, newest first, `limit` at a time.
pub async fn list(
    db: &DataApi,
    caller: &Caller,
    repository_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<Item>, AppError> {
    repositories::require(db, caller, repository_id, Access::Read).await?;
    Ok(db
        .query(
            concat!(
                "SELECT ",
                item_columns!(),
                " FROM repository_items WHERE repository_id = :repository
                  ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset"
            ),
            Params::new()
                .bind("repository", repository_id)
                .bind("limit", limit.clamp(1, 500))
                .bind("offset", offset.max(0)),
        )
        .await?)
}

/// Deletes an item with its chunks and embeddings (cascade) and returns it, so the caller
/// can remove its object.
pub async fn delete(db: &DataApi, caller: &Caller, id: Uuid) -> Result<Item, AppError> {
    let item = load(db, id).await?;
    repositories::require(db, caller, item.repository_id, Access::Write).await?;
    db.execute(
        "DELETE FROM repository_items WHERE id = :id",
        Params::new().bind("id", id),
    )
    .await?;
    Ok(item)
}

/// Sends an item through the pipeline again: back to `pending`, its stored document hash
/// forgotten so the next run rewrites its chunks.
pub async fn reprocess(db: &DataApi, caller: &Caller, id: Uuid) -> Result<Item, AppError> {
    let item = load(db, id).await?;
    repositories::require(db, caller, item.repository_id, Access::Write).await?;
    const UPDATE: &str = concat!(
        "UPDATE repository_items SET status = 'pending', error = NULL, content_hash = NULL
         WHERE id = :id RETURNING ",
        item_columns!()
    );
    Ok(db.query_one(UPDATE, Params::new().bind("id", id)).await?)
}

/// Marks an item `failed` with a reason a person can act on.
pub async fn fail(db: &DataApi, item_id: Uuid, reason: &str) -> Result<(), AppError> {
    db.execute(
        "UPDATE repository_items SET status = 'failed', error = :reason WHERE id = :id",
        Params::new()
            .bind("id", item_id)
            .bind("reason", reason_text(reason)),
    )
    .await?;
    Ok(())
}

/// A failure reason as stored: at most [`MAX_REASON`] characters.
pub(crate) fn reason_text(reason: &str) -> String {
    match reason.char_indices().nth(MAX_REASON) {
        Some((cut, _)) => format!("{}...", &reason[..cut]),
        None => reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_before_anything_is_stored() {
        let (repo, item) = (Uuid::new_v4(), Uuid::new_v4());
        let too_big = NewItem::File {
            file_name: "a.pdf".into(),
            content_type: None,
            size_bytes: MAX_UPLOAD_BYTES + 1,
        };
        assert_eq!(
            too_big.name_and_source(repo, item).unwrap_err().code,
            ErrorCode::TooLarge
        );
        let empty = NewItem::Text {
            name: "n".into(),
            text: "  ".into(),
        };
        assert_eq!(
            empty.name_and_source(repo, item).unwrap_err().code,
            ErrorCode::Validation
        );
        let ftp = NewItem::Url {
            url: "ftp://example.com/x".into(),
        };
        assert!(ftp.name_and_source(repo, item).is_err());
        let ok = NewItem::File {
            file_name: "../Q3 plan.pdf".into(),
            content_type: None,
            size_bytes: 10,
        };
        let (name, source) = ok.name_and_source(repo, item).unwrap();
        assert_eq!(name, "_Q3 plan.pdf");
        assert_eq!(source, format!("repositories/{repo}/{item}/_Q3 plan.pdf"));
    }

    #[test]
    fn new_items_parse_from_camel_case_json() {
        let file: NewItem = serde_json::from_str(
            r#"{"type":"file","fileName":"a.pdf","contentType":"application/pdf","sizeBytes":5}"#,
        )
        .unwrap();
        assert!(matches!(file, NewItem::File { size_bytes: 5, .. }));
        let url: NewItem =
            serde_json::from_str(r#"{"type":"url","url":"https://example.com"}"#).unwrap();
        assert!(matches!(url, NewItem::Url { .. }));
    }
}
