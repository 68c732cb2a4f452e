//! Routes for models, settings, roles and usage: parse, call one shared function, return data.
//! Every access decision is made in `shared`.

use chrono::Utc;
use lambda_http::{Request, RequestExt};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::auth::Caller;
use shared::settings::NewSetting;
use shared::usage::{self, GroupBy};

use shared::{AppError, models, roles};

use crate::handler::Deps;
use crate::routes::{body, to_value, uuid};

/// Handles the route if it is one of these; `None` otherwise.
pub async fn dispatch(
    request: &Request,
    caller: &Caller,
    deps: &Deps,
    path: &[&str],
) -> Option<Result<Value, AppError>> {
    let db = &deps.db;
    let settings = &deps.settings;
    Some(match (request.method().as_str(), path) {
        ("GET", ["models"]) => match query(request, "all") {
            Some("true") if caller.is_administrator() => {
                models::list_all(db, caller).await.and_then(to_value)
            }
            _ => models::list_usable(db, caller).await.and_then(to_value),
        },
        ("POST", ["models"]) => match body(request) {
            Ok(new) => models::create(db, caller, &new).await.and_then(to_value),
            Err(error) => Err(error),
        },
        ("PATCH", ["models", id]) => match (uuid(id), body(request)) {
            (Ok(id), Ok(changes)) => models::update(db, caller, id, &changes)
                .await
                .and_then(to_value),
            (Err(error), _) | (_, Err(error)) => Err(error),
        },
        ("GET", ["settings"]) => settings.list(caller).await.and_then(to_value),
        ("POST", ["settings", "rotate-key"]) => {
            settings.rotate_key(caller).await.and_then(to_value)
        }
        ("PUT", ["settings", key]) => match body::<NewSetting>(request) {
            Ok(new) => settings.set(caller, key, &new).await.and_then(to_value),
            Err(error) => Err(error),
        },
        ("DELETE", ["settings", key]) => settings
            .delete(caller, key)
            .await
            .map(|()| json!({ "key": key, "deleted": true })),
        ("GET", ["users", id, "roles"]) => match uuid(id) {
            Ok(id) => roles::get(db, caller, id).await.and_then(to_value),
            Err(error) => Err(error),
        },
        ("PUT", ["users", id, "roles"]) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Roles {
                roles: Vec<String>,
            }
            match (uuid(id), body::<Roles>(request)) {
                (Ok(id), Ok(new)) => roles::set(db, caller, id, &new.roles)
                    .await
                    .and_then(to_value),
                (Err(error), _) | (_, Err(error)) => Err(error),
            }
        }
        ("GET", ["usage"]) => usage_report(request, caller, deps).await,
        _ => return None,
    })
}

async fn usage_report(request: &Request, caller: &Caller, deps: &Deps) -> Result<Value, AppError> {
    let (from, to) = usage::period(query(request, "from"), query(request, "to"), Utc::now())?;
    let group_by: GroupBy = query(request, "groupBy").unwrap_or("user").parse()?;
    let groups = usage::report(&deps.db, caller, from, to, group_by).await?;
    Ok(json!({ "from": from, "to": to, "groupBy": group_by, "groups": groups }))
}

fn query<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
}
