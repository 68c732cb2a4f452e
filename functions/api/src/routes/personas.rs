//! Personas: create in a team, list the caller's teams' personas, read, change and delete
//! (archived instead when conversations name it).

use shared::chat::personas::{self, NewPersona, PersonaChanges};

use crate::extract::{Call, Routed, id, json};

pub async fn route(call: &Call<'_>) -> Routed {
    let (db, caller) = (call.db(), call.caller);
    match (call.method(), call.path) {
        ("GET", ["personas"]) => json(personas::list(db, caller, call.flag("archived")).await?),
        ("POST", ["personas"]) => {
            let new: NewPersona = call.body()?;
            json(personas::create(db, caller, &new).await?)
        }
        ("GET", ["personas", persona]) => json(personas::get(db, caller, id(persona)?).await?),
        ("PATCH", ["personas", persona]) => {
            let persona = id(persona)?;
            let changes: PersonaChanges = call.body()?;
            json(personas::update(db, caller, persona, &changes).await?)
        }
        ("DELETE", ["personas", persona]) => {
            json(personas::delete(db, caller, id(persona)?).await?)
        }
        _ => Ok(None),
    }
}
