//! Assistant architects: create, list, read, change, delete, and the review status.

use serde::Deserialize;
use shared::assistant::{self, Definition, Patch, Status};

use crate::extract::{Call, Routed, id, json};

#[derive(Deserialize)]
struct StatusChange {
    status: Status,
    note: Option<String>,
}

pub async fn route(call: &Call<'_>) -> Routed {
    let (db, caller) = (call.db(), call.caller);
    match (call.method(), call.path) {
        ("GET", ["assistants"]) => json(assistant::list(db, caller).await?),
        ("POST", ["assistants"]) => {
            let definition: Definition = call.body()?;
            json(assistant::create(db, caller, &definition).await?)
        }
        ("GET", ["assistants", assistant]) => {
            json(assistant::get(db, caller, id(assistant)?).await?)
        }
        ("PATCH", ["assistants", assistant]) => {
            let assistant = id(assistant)?;
            let patch: Patch = call.body()?;
            json(assistant::update(db, caller, assistant, &patch).await?)
        }
        ("DELETE", ["assistants", assistant]) => {
            json(assistant::delete(db, caller, id(assistant)?).await?)
        }
        ("POST", ["assistants", assistant, "status"]) => {
            let assistant = id(assistant)?;
            let change: StatusChange = call.body()?;
            let (status, note) = (change.status, change.note.as_deref());
            json(assistant::change_status(db, caller, assistant, status, note).await?)
        }
        _ => Ok(None),
    }
}
