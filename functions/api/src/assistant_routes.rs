//! Routes for assistant architects and their schedules; `None` when the path is not theirs.

use lambda_http::Request;
use serde::Deserialize;
use serde_json::Value;
use shared::AppError;
use shared::assistant::{self, Definition, Patch, Status};
use shared::auth::Caller;
use shared::data_api::DataApi;
use shared::schedule::{self, NewSchedule, SchedulePatch};

use crate::routes::{body, to_value, uuid};

#[derive(Deserialize)]
struct StatusChange {
    status: Status,
    note: Option<String>,
}

pub async fn dispatch(
    request: &Request,
    path: &[&str],
    caller: &Caller,
    db: &DataApi,
) -> Option<Result<Value, AppError>> {
    let method = request.method().as_str();
    let outcome = match (method, path) {
        ("GET", ["assistants"]) => assistant::list(db, caller).await.and_then(to_value),
        ("POST", ["assistants"]) => match body::<Definition>(request) {
            Ok(definition) => assistant::create(db, caller, &definition)
                .await
                .and_then(to_value),
            Err(e) => Err(e),
        },
        ("GET", ["assistants", id]) => match uuid(id) {
            Ok(id) => assistant::get(db, caller, id).await.and_then(to_value),
            Err(e) => Err(e),
        },
        ("PATCH", ["assistants", id]) => match (uuid(id), body::<Patch>(request)) {
            (Ok(id), Ok(patch)) => assistant::update(db, caller, id, &patch)
                .await
                .and_then(to_value),
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        ("DELETE", ["assistants", id]) => match uuid(id) {
            Ok(id) => assistant::delete(db, caller, id).await.and_then(to_value),
            Err(e) => Err(e),
        },
        ("POST", ["assistants", id, "status"]) => match (uuid(id), body::<StatusChange>(request)) {
            (Ok(id), Ok(change)) => {
                assistant::change_status(db, caller, id, change.status, change.note.as_deref())
                    .await
                    .and_then(to_value)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        ("GET", ["schedules"]) => schedule::list(db, caller).await.and_then(to_value),
        ("POST", ["schedules"]) => match body::<NewSchedule>(request) {
            Ok(new) => schedule::create(db, caller, &new).await.and_then(to_value),
            Err(e) => Err(e),
        },
        ("GET", ["schedules", id]) => match uuid(id) {
            Ok(id) => schedule::get(db, caller, id).await.and_then(to_value),
            Err(e) => Err(e),
        },
        ("PATCH", ["schedules", id]) => match (uuid(id), body::<SchedulePatch>(request)) {
            (Ok(id), Ok(patch)) => schedule::update(db, caller, id, &patch)
                .await
                .and_then(to_value),
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        ("DELETE", ["schedules", id]) => match uuid(id) {
            Ok(id) => schedule::delete(db, caller, id).await.and_then(to_value),
            Err(e) => Err(e),
        },
        _ => return None,
    };
    Some(outcome)
}
