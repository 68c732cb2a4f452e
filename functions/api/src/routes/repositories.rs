//! Repositories, their items and search.

use serde_json::{Value, json};
use shared::AppError;
use shared::knowledge::{Access, NewItem, NewRepository, items, repositories};
use shared::search::{self, Mode};
use uuid::Uuid;

use crate::extract::{Call, Routed, id, json, parsed};

pub async fn route(call: &Call<'_>) -> Routed {
    let (db, caller) = (call.db(), call.caller);
    match (call.method(), call.path) {
        ("GET", ["repositories"]) => json(repositories::list(db, caller).await?),
        ("POST", ["repositories"]) => {
            let new: NewRepository = call.body()?;
            json(repositories::create(db, caller, &new).await?)
        }
        ("GET", ["repositories", repository]) => {
            json(repositories::require(db, caller, id(repository)?, Access::Read).await?)
        }
        ("GET", ["repositories", repository, "items"]) => {
            let (limit, offset) = (call.query_int("limit", 50)?, call.query_int("offset", 0)?);
            json(items::list(db, caller, id(repository)?, limit, offset).await?)
        }
        ("POST", ["repositories", repository, "items"]) => add_items(call, id(repository)?).await,
        ("GET", ["repositories", repository, "search"]) => {
            search(call, Some(id(repository)?)).await
        }
        ("GET", ["search"]) => search(call, None).await,
        ("GET", ["items", item]) => json(items::get(db, caller, id(item)?).await?),
        ("DELETE", ["items", item]) => json(call.deps.intake().delete(caller, id(item)?).await?),
        ("POST", ["items", item, "reprocess"]) => {
            json(call.deps.intake().reprocess(caller, id(item)?).await?)
        }
        _ => Ok(None),
    }
}

/// `GET /repositories/{id}/search`, or `GET /search` over every repository the caller can
/// read: `?q=&mode=hybrid|vector|keyword&limit=`.
async fn search(call: &Call<'_>, repository: Option<Uuid>) -> Routed {
    let mode = match call.query("mode") {
        None | Some("hybrid") => Mode::Hybrid,
        Some("vector") => Mode::Vector,
        Some("keyword") => Mode::Keyword,
        Some(other) => {
            return Err(AppError::validation(format!(
                "mode {other:?} is not hybrid, vector or keyword"
            )));
        }
    };
    let query = call.query("q").unwrap_or_default();
    let limit = call.query_int("limit", 10)?;
    let (db, caller, embedder) = (call.db(), call.caller, call.deps.embedder.as_ref());
    json(match repository {
        Some(repository) => {
            search::search(db, embedder, caller, &[repository], query, mode, limit).await?
        }
        None => search::search_readable(db, embedder, caller, query, mode, limit).await?,
    })
}

/// `POST /repositories/{id}/items`: one item (`{"type": ...}`), or up to 100 at once
/// (`{"items": [...]}`, added in one statement; each entry says how to upload it, or why it
/// will not progress).
async fn add_items(call: &Call<'_>, repository: Uuid) -> Routed {
    let mut value: Value = call.body()?;
    let intake = call.deps.intake();
    let Some(batch) = value.get_mut("items").map(Value::take) else {
        let new: NewItem = parsed(value)?;
        return json(intake.add(call.caller, repository, &new).await?);
    };
    let new: Vec<NewItem> = parsed(batch)?;
    let entries: Vec<Value> = intake
        .add_many(call.caller, repository, &new)
        .await?
        .into_iter()
        .map(|started| match started {
            Ok(started) => json!(started),
            Err(error) => {
                json!({ "error": { "code": error.code.as_str(), "message": error.message } })
            }
        })
        .collect();
    json(json!({ "items": entries }))
}
