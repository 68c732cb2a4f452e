//! Notifications: the caller's own, and marking one read.

use shared::notify;

use crate::extract::{Call, Routed, id, json};

pub async fn route(call: &Call<'_>) -> Routed {
    let (db, caller) = (call.db(), call.caller);
    match (call.method(), call.path) {
        ("GET", ["notifications"]) => {
            let limit = call.query_int("limit", notify::inbox::MAX_LIST)?;
            let offset = call.query_int("offset", 0)?;
            json(notify::list(db, caller, call.flag("unread"), limit, offset).await?)
        }
        ("POST", ["notifications", notification, "read"]) => {
            json(notify::mark_read(db, caller, id(notification)?).await?)
        }
        _ => Ok(None),
    }
}
