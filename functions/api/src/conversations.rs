//! Conversation routes: list, read messages, rename or archive, delete (the owner only).

use lambda_http::Request;
use serde_json::Value;
use shared::AppError;
use shared::auth::Caller;
use shared::chat::conversations::{self, Change};
use shared::data_api::DataApi;

use crate::routes::{body, query_flag, to_value, uuid};

pub async fn dispatch(
    request: &Request,
    caller: &Caller,
    db: &DataApi,
    path: &[&str],
) -> Result<Value, AppError> {
    match (request.method().as_str(), path) {
        ("GET", []) => {
            to_value(conversations::list(db, caller, query_flag(request, "archived")).await?)
        }
        ("GET", [id]) => to_value(conversations::require_own(db, caller, uuid(id)?).await?),
        ("GET", [id, "messages"]) => {
            to_value(conversations::messages(db, caller, uuid(id)?).await?)
        }
        ("PATCH", [id]) => {
            let change: Change = body(request)?;
            to_value(conversations::update(db, caller, uuid(id)?, &change).await?)
        }
        ("DELETE", [id]) => {
            conversations::delete(db, caller, uuid(id)?).await?;
            Ok(serde_json::json!({ "deleted": id }))
        }
        (method, _) => Err(AppError::not_found(format!(
            "No route for {method} /conversations/{}",
            path.join("/")
        ))),
    }
}
