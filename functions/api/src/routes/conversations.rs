//! Conversations: list, read messages, rename or archive, delete (the owner only).

use serde_json::json;
use shared::chat::conversations::{self, Change};

use crate::extract::{Call, Routed, id, json};

pub async fn route(call: &Call<'_>) -> Routed {
    let (db, caller) = (call.db(), call.caller);
    match (call.method(), call.path) {
        ("GET", ["conversations"]) => {
            json(conversations::list(db, caller, call.flag("archived")).await?)
        }
        ("GET", ["conversations", conversation]) => {
            json(conversations::require_own(db, caller, id(conversation)?).await?)
        }
        ("GET", ["conversations", conversation, "messages"]) => {
            json(conversations::messages(db, caller, id(conversation)?).await?)
        }
        ("PATCH", ["conversations", conversation]) => {
            let change: Change = call.body()?;
            json(conversations::update(db, caller, id(conversation)?, &change).await?)
        }
        ("DELETE", ["conversations", conversation]) => {
            conversations::delete(db, caller, id(conversation)?).await?;
            json(json!({ "deleted": conversation }))
        }
        _ => Ok(None),
    }
}
