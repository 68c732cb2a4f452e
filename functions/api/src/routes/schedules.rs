//! Schedules: when an assistant runs on its own.

use shared::schedule::{self, NewSchedule, SchedulePatch};

use crate::extract::{Call, Routed, id, json};

pub async fn route(call: &Call<'_>) -> Routed {
    let (db, caller) = (call.db(), call.caller);
    match (call.method(), call.path) {
        ("GET", ["schedules"]) => json(schedule::list(db, caller).await?),
        ("POST", ["schedules"]) => {
            let new: NewSchedule = call.body()?;
            json(schedule::create(db, caller, &new).await?)
        }
        ("GET", ["schedules", schedule]) => json(schedule::get(db, caller, id(schedule)?).await?),
        ("PATCH", ["schedules", schedule]) => {
            let schedule = id(schedule)?;
            let patch: SchedulePatch = call.body()?;
            json(schedule::update(db, caller, schedule, &patch).await?)
        }
        ("DELETE", ["schedules", schedule]) => {
            json(schedule::delete(db, caller, id(schedule)?).await?)
        }
        _ => Ok(None),
    }
}
