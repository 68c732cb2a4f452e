//! Persona routes: create in a team, list the caller's teams' personas, read, change and
//! delete (archived instead when conversations name it).

use lambda_http::Request;
use serde_json::Value;
use shared::AppError;
use shared::auth::Caller;
use shared::chat::personas::{self, NewPersona, PersonaChanges};
use shared::data_api::DataApi;

use crate::routes::{body, query_flag, to_value, uuid};

pub async fn dispatch(
    request: &Request,
    caller: &Caller,
    db: &DataApi,
    path: &[&str],
) -> Result<Value, AppError> {
    match (request.method().as_str(), path) {
        ("GET", []) => to_value(personas::list(db, caller, query_flag(request, "archived")).await?),
        ("POST", []) => {
            let new: NewPersona = body(request)?;
            to_value(personas::create(db, caller, &new).await?)
        }
        ("GET", [id]) => to_value(personas::get(db, caller, uuid(id)?).await?),
        ("PATCH", [id]) => {
            let id = uuid(id)?;
            let changes: PersonaChanges = body(request)?;
            to_value(personas::update(db, caller, id, &changes).await?)
        }
        ("DELETE", [id]) => to_value(personas::delete(db, caller, uuid(id)?).await?),
        (method, _) => Err(AppError::not_found(format!(
            "No route for {method} /personas/{}",
            path.join("/")
        ))),
    }
}
