//! The route table: each route parses its input, calls one domain function, returns data.

use std::time::Duration;

use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use shared::AppError;
use shared::auth::Caller;
use shared::knowledge::{Access, NewItem, NewRepository, items, repositories};
use shared::search::{self, Mode};
use uuid::Uuid;

use crate::handler::Deps;

/// How long a presigned upload URL stays valid.
const UPLOAD_EXPIRY: Duration = Duration::from_secs(15 * 60);

pub async fn dispatch(
    request: &Request,
    caller: &Caller,
    deps: &Deps,
    request_id: &str,
) -> Result<Value, AppError> {
    // The resource path, without the stage prefix API Gateway adds to the URI.
    let raw_path = request.raw_http_path().to_owned();
    let path: Vec<&str> = raw_path.split('/').filter(|s| !s.is_empty()).collect();
    let db = &deps.db;
    match (request.method().as_str(), path.as_slice()) {
        ("GET", ["repositories"]) => to_value(repositories::list(db, caller).await?),
        ("POST", ["repositories"]) => {
            let new: NewRepository = body(request)?;
            to_value(repositories::create(db, caller, &new).await?)
        }
        ("GET", ["repositories", id]) => {
            to_value(repositories::require(db, caller, uuid(id)?, Access::Read).await?)
        }
        ("GET", ["repositories", id, "items"]) => {
            let (limit, offset) = (
                query_int(request, "limit", 50)?,
                query_int(request, "offset", 0)?,
            );
            to_value(items::list(db, caller, uuid(id)?, limit, offset).await?)
        }
        ("POST", ["repositories", id, "items"]) => {
            create_items(request, caller, deps, uuid(id)?).await
        }
        ("GET", ["repositories", id, "search"]) => {
            search_route(request, caller, deps, Some(uuid(id)?)).await
        }
        ("GET", ["search"]) => search_route(request, caller, deps, None).await,
        (_, ["conversations", rest @ ..]) => {
            crate::conversations::dispatch(request, caller, db, rest).await
        }
        (_, ["personas", rest @ ..]) => crate::personas::dispatch(request, caller, db, rest).await,
        (_, ["notifications", rest @ ..]) => {
            crate::notifications::dispatch(request, caller, db, rest).await
        }
        ("GET", ["items", id]) => to_value(items::get(db, caller, uuid(id)?).await?),
        ("DELETE", ["items", id]) => {
            let item = items::delete(db, caller, uuid(id)?).await?;
            if item.source.starts_with("repositories/") {
                deps.store.delete(&item.source).await?;
            }
            to_value(item)
        }
        ("POST", ["items", id, "reprocess"]) => {
            let item = items::reprocess(db, caller, uuid(id)?).await?;
            deps.processing
                .send(vec![json!({ "itemId": item.id }).to_string()])
                .await?;
            to_value(item)
        }
        _ => match crate::admin::dispatch(request, caller, deps, &path).await {
            Some(outcome) => outcome,
            None => match crate::assistant_routes::dispatch(request, &path, caller, db).await {
                Some(outcome) => outcome,
                None => match crate::execution_routes::dispatch(
                    request, &path, caller, deps, request_id,
                )
                .await
                {
                    Some(outcome) => outcome,
                    None => Err(AppError::not_found(format!(
                        "No route for {} {raw_path}",
                        request.method()
                    ))),
                },
            },
        },
    }
}

/// `GET /repositories/{id}/search`, or `GET /search` over every repository the caller can
/// read: `?q=&mode=hybrid|vector|keyword&limit=`.
async fn search_route(
    request: &Request,
    caller: &Caller,
    deps: &Deps,
    repository: Option<Uuid>,
) -> Result<Value, AppError> {
    let query = request
        .query_string_parameters_ref()
        .and_then(|q| q.first("q"))
        .unwrap_or_default()
        .to_owned();
    let mode = match request
        .query_string_parameters_ref()
        .and_then(|q| q.first("mode"))
    {
        None | Some("hybrid") => Mode::Hybrid,
        Some("vector") => Mode::Vector,
        Some("keyword") => Mode::Keyword,
        Some(other) => {
            return Err(AppError::validation(format!(
                "mode {other:?} is not hybrid, vector or keyword"
            )));
        }
    };
    let limit = query_int(request, "limit", 10)?;
    let (db, embedder) = (&deps.db, deps.embedder.as_ref());
    to_value(match repository {
        Some(id) => search::search(db, embedder, caller, &[id], &query, mode, limit).await?,
        None => search::search_readable(db, embedder, caller, &query, mode, limit).await?,
    })
}

/// `POST /repositories/{id}/items`: one item (`{"type": ...}`), or up to 100 at once
/// (`{"items": [...]}`, added in one statement; each entry says how to upload it, or why it
/// will not progress).
async fn create_items(
    request: &Request,
    caller: &Caller,
    deps: &Deps,
    repository: Uuid,
) -> Result<Value, AppError> {
    let mut value: Value = body(request)?;
    if let Some(batch) = value.get_mut("items").map(Value::take) {
        let new: Vec<NewItem> = parsed(batch)?;
        let created = items::create_many(&deps.db, caller, repository, &new).await?;
        let mut entries = Vec::with_capacity(created.len());
        for (created, new) in created.into_iter().zip(&new) {
            let started = match created {
                Ok(item) => start_item(deps, item, new).await,
                Err(refused) => Err(refused),
            };
            entries.push(started.unwrap_or_else(|error| {
                json!({ "error": { "code": error.code.as_str(), "message": error.message } })
            }));
        }
        return Ok(json!({ "items": entries }));
    }
    let new: NewItem = parsed(value)?;
    let item = items::create(&deps.db, caller, repository, &new).await?;
    start_item(deps, item, &new).await
}

fn parsed<T: DeserializeOwned>(value: Value) -> Result<T, AppError> {
    serde_json::from_value(value).map_err(invalid_body)
}

fn invalid_body(error: serde_json::Error) -> AppError {
    AppError::validation(format!("The request body is not valid: {error}"))
}

/// Sets a new item going: a presigned upload for a file, the text stored, the URL queued.
/// When that fails the item is marked failed with the reason, and the error returned.
async fn start_item(deps: &Deps, item: items::Item, new: &NewItem) -> Result<Value, AppError> {
    let stored = match new {
        NewItem::File { content_type, .. } => deps
            .store
            .presign_put(&item.source, content_type.as_deref(), UPLOAD_EXPIRY)
            .await
            .map(|url| {
                json!({
                    "item": item,
                    "upload": {
                        "url": url,
                        "method": "PUT",
                        "headers": content_type.as_ref().map(|ct| json!({ "content-type": ct })).unwrap_or(json!({})),
                        "expiresInSeconds": UPLOAD_EXPIRY.as_secs(),
                    }
                })
            }),
        NewItem::Text { text, .. } => deps
            .store
            .put(
                &item.source,
                text.as_bytes().to_vec(),
                "text/plain; charset=utf-8",
            )
            .await
            .map(|()| json!({ "item": item })),
        NewItem::Url { .. } => deps
            .processing
            .send(vec![json!({ "itemId": item.id }).to_string()])
            .await
            .map(|()| json!({ "item": item })),
    };
    if let Err(error) = &stored {
        // The item exists; say why it will not progress rather than leave it pending.
        let reason = format!(
            "The item could not be queued for processing: {}",
            error.message
        );
        if let Err(marking) = shared::ingest::fail(&deps.db, item.id, &reason).await {
            tracing::error!(error = %marking, "Could not mark the item failed");
        }
    }
    stored
}

pub(crate) fn to_value<T: serde::Serialize>(value: T) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::internal(e.to_string()))
}

pub(crate) fn uuid(text: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(text).map_err(|_| AppError::validation(format!("{text:?} is not an id")))
}

pub(crate) fn body<T: DeserializeOwned>(request: &Request) -> Result<T, AppError> {
    let bytes = request.body().as_ref();
    if bytes.is_empty() {
        return Err(AppError::validation("The request needs a JSON body"));
    }
    serde_json::from_slice(bytes).map_err(invalid_body)
}

/// Whether the query string sets `name=true`.
pub(crate) fn query_flag(request: &Request, name: &str) -> bool {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .is_some_and(|v| v == "true")
}

pub(crate) fn query_int(request: &Request, name: &str, default: i64) -> Result<i64, AppError> {
    match request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
    {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| AppError::validation(format!("{name} must be a whole number"))),
    }
}
