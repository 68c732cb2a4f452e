//! Models, settings, roles and usage. Every access decision is made in `shared`.

use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use shared::settings::NewSetting;
use shared::usage::{self, GroupBy};
use shared::{models, roles};

use crate::extract::{Call, Routed, id, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Roles {
    roles: Vec<String>,
}

pub async fn route(call: &Call<'_>) -> Routed {
    let (db, caller, settings) = (call.db(), call.caller, &call.deps.settings);
    match (call.method(), call.path) {
        ("GET", ["models"]) if call.flag("all") && caller.is_administrator() => {
            json(models::list_all(db, caller).await?)
        }
        ("GET", ["models"]) => json(models::list_usable(db, caller).await?),
        ("POST", ["models"]) => json(models::create(db, caller, &call.body()?).await?),
        ("PATCH", ["models", model]) => {
            let model = id(model)?;
            json(models::update(db, caller, model, &call.body()?).await?)
        }
        ("GET", ["settings"]) => json(settings.list(caller).await?),
        ("POST", ["settings", "rotate-key"]) => json(settings.rotate_key(caller).await?),
        ("PUT", ["settings", key]) => {
            let new: NewSetting = call.body()?;
            json(settings.set(caller, key, &new).await?)
        }
        ("DELETE", ["settings", key]) => {
            settings.delete(caller, key).await?;
            json(json!({ "key": key, "deleted": true }))
        }
        ("GET", ["users", user, "roles"]) => json(roles::get(db, caller, id(user)?).await?),
        ("PUT", ["users", user, "roles"]) => {
            let user = id(user)?;
            let new: Roles = call.body()?;
            json(roles::set(db, caller, user, &new.roles).await?)
        }
        ("GET", ["usage"]) => {
            let (from, to) = usage::period(call.query("from"), call.query("to"), Utc::now())?;
            let group_by: GroupBy = call.query("groupBy").unwrap_or("user").parse()?;
            let groups = usage::report(db, caller, from, to, group_by).await?;
            json(json!({ "from": from, "to": to, "groupBy": group_by, "groups": groups }))
        }
        _ => Ok(None),
    }
}
