//! Personas as their team manages them: a name, a system prompt and an optional preferred
//! model, created by a member of the team and seen only by its members; chat answers in
//! them (`service::personas` reads the ones a turn asks for).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod validate;

pub use validate::{MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_SYSTEM_PROMPT_CHARS};
use validate::{check_description, check_name, check_system_prompt, invalid};

use crate::auth::Caller;
use crate::data_api::{DataApi, DbError, Params, TextArray};
use crate::error::{AppError, ErrorCode};

/// A persona as the members of its team see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct TeamPersona {
    pub id: Uuid,
    pub team_id: Uuid,
    pub created_by: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub system_prompt: String,
    /// The `ai_models` row it answers with; `None` answers with the model the chat names.
    pub model_id: Option<Uuid>,
    /// Archived personas (`false`) are kept for the answers that name them, unused by chat.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether the caller may change or delete it: its creator, an owner of its team, or an
    /// administrator in the team.
    pub can_edit: bool,
}

/// The body of `POST /personas`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPersona {
    pub name: String,
    pub system_prompt: String,
    pub description: Option<String>,
    /// An `ai_models` id or its provider model id (`gpt-4o-mini`), as chat's `modelId`.
    pub model_id: Option<String>,
    /// The caller's team when absent (which must then be the only one).
    pub team_id: Option<Uuid>,
}

/// The body of `PATCH /personas/{id}`: absent fields stay; `modelId: null` and
/// `description: null` clear them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonaChanges {
    pub name: Option<String>,
    pub system_prompt: Option<String>,
    #[serde(default, with = "crate::models::double_option")]
    pub description: Option<Option<String>>,
    #[serde(default, with = "crate::models::double_option")]
    pub model_id: Option<Option<String>>,
    pub active: Option<bool>,
}

/// What `DELETE /personas/{id}` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    pub id: Uuid,
    pub outcome: Removal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Removal {
    /// Nothing referred to it: the row is gone.
    Deleted,
    /// Conversations or answers name it: it is archived (inactive), so they keep saying
    /// who answered.
    Archived,
}

/// Whether the caller (`:user`, `:admin`) may change persona `p` (see
/// [`TeamPersona::can_edit`]). Macros so statements are built with `concat!` from
/// literals, never `format!`.
macro_rules! may_edit {
    () => {
        "(coalesce(p.created_by = :user, false) OR :admin
          OR EXISTS (SELECT 1 FROM team_members tm
                     WHERE tm.team_id = p.team_id AND tm.user_id = :user AND tm.role = 'owner'))"
    };
}

/// The columns of [`TeamPersona`] from `p` (the table, or a CTE of changed rows).
macro_rules! persona_columns {
    () => {
        concat!(
            "SELECT p.id, p.team_id, p.created_by, p.name, p.description, p.system_prompt, p.model_id,
                p.active, p.created_at, p.updated_at, ",
            may_edit!(),
            " AS can_edit"
        )
    };
}

/// The caller, as the statements above bind it; `:teams` limits every read to their teams.
fn caller_params(caller: &Caller) -> Params {
    Params::new()
        .bind("user", caller.user_id)
        .bind("admin", caller.is_administrator())
        .bind(
            "teams",
            TextArray(caller.teams.iter().map(Uuid::to_string).collect()),
        )
}

/// The model `reference` names, if the caller may chat with it: the same rule chat applies
/// to every turn (active, chat-enabled, allowed to one of the caller's roles). Chat checks
/// it again for whoever uses the persona.
async fn usable_model(db: &DataApi, caller: &Caller, reference: &str) -> Result<Uuid, AppError> {
    let model = crate::models::find(db, reference)
        .await
        .map_err(|e| match e.code {
            ErrorCode::NotFound | ErrorCode::Validation => invalid("modelId", e.message),
            _ => e,
        })?;
    model.check_access(caller)?;
    Ok(model.id)
}

/// The team already has a persona of that name (names are unique per team, any case).
fn name_taken(error: DbError, name: &str) -> AppError {
    match error.sql_state() {
        Some("23505") => AppError::new(
            ErrorCode::Conflict,
            format!("Your team already has a persona named {:?}", name.trim()),
        ),
        _ => error.into(),
    }
}

/// Creates a persona in the named team (the caller's only team when none is named).
pub async fn create(
    db: &DataApi,
    caller: &Caller,
    new: &NewPersona,
) -> Result<TeamPersona, AppError> {
    check_name(&new.name)?;
    check_system_prompt(&new.system_prompt)?;
    check_description(new.description.as_deref())?;
    let team = match new.team_id {
        Some(team) => team,
        None => caller.default_team()?,
    };
    caller.require_team(team)?;
    let model = match new.model_id.as_deref() {
        Some(reference) => Some(usable_model(db, caller, reference).await?),
        None => None,
    };
    const SQL: &str = concat!(
        "WITH p AS (
             INSERT INTO personas (team_id, created_by, name, description, system_prompt, model_id)
             VALUES (:team, :user, :name, :description, :system_prompt, :model)
             RETURNING *) ",
        persona_columns!(),
        " FROM p"
    );
    db.query_one(
        SQL,
        caller_params(caller)
            .bind("team", team)
            .bind("name", new.name.trim())
            .bind("description", new.description.as_deref())
            .bind("system_prompt", new.system_prompt.trim())
            .bind("model", model),
    )
    .await
    .map_err(|e| name_taken(e, &new.name))
}

/// The caller's teams' personas by name: the active ones, or only the archived ones.
pub async fn list(
    db: &DataApi,
    caller: &Caller,
    archived: bool,
) -> Result<Vec<TeamPersona>, AppError> {
    const SQL: &str = concat!(
        persona_columns!(),
        " FROM personas p WHERE p.team_id = ANY(:teams::uuid[]) AND p.active <> :archived
          ORDER BY lower(p.name), p.id"
    );
    Ok(db
        .query(SQL, caller_params(caller).bind("archived", archived))
        .await?)
}

/// The persona, if it belongs to one of the caller's teams; another team's reads as
/// absent, as chat treats it.
pub async fn get(db: &DataApi, caller: &Caller, id: Uuid) -> Result<TeamPersona, AppError> {
    const SQL: &str = concat!(
        persona_columns!(),
        " FROM personas p WHERE p.id = :id AND p.team_id = ANY(:teams::uuid[])"
    );
    db.query_opt(SQL, caller_params(caller).bind("id", id))
        .await?
        .ok_or_else(|| AppError::not_found("No such persona in your teams"))
}

/// Why a change to `id` matched no row: it is not the caller's to see, or not to change.
async fn refusal(db: &DataApi, caller: &Caller, id: Uuid) -> AppError {
    match get(db, caller, id).await {
        Ok(_) => AppError::forbidden(
            "Only the persona's creator, a team owner or an administrator changes it",
        ),
        Err(error) => error,
    }
}

/// Applies the changes, if the caller may edit the persona.
pub async fn update(
    db: &DataApi,
    caller: &Caller,
    id: Uuid,
    changes: &PersonaChanges,
) -> Result<TeamPersona, AppError> {
    if let Some(name) = &changes.name {
        check_name(name)?;
    }
    if let Some(prompt) = &changes.system_prompt {
        check_system_prompt(prompt)?;
    }
    check_description(changes.description.as_ref().and_then(Option::as_deref))?;
    let (set_model, model) = match &changes.model_id {
        None => (false, None),
        Some(None) => (true, None),
        Some(Some(reference)) => (true, Some(usable_model(db, caller, reference).await?)),
    };
    let (set_description, description) = match &changes.description {
        None => (false, None),
        Some(description) => (true, description.as_deref()),
    };
    const SQL: &str = concat!(
        "WITH p AS (
             UPDATE personas p SET
                 name = coalesce(:name, p.name),
                 system_prompt = coalesce(:system_prompt, p.system_prompt),
                 description = CASE WHEN :set_description THEN :description ELSE p.description END,
                 model_id = CASE WHEN :set_model THEN :model ELSE p.model_id END,
                 active = coalesce(:active, p.active)
             WHERE p.id = :id AND p.team_id = ANY(:teams::uuid[]) AND ",
        may_edit!(),
        " RETURNING p.*) ",
        persona_columns!(),
        " FROM p"
    );
    let updated: Option<TeamPersona> = db
        .query_opt(
            SQL,
            caller_params(caller)
                .bind("id", id)
                .bind("name", changes.name.as_deref().map(str::trim))
                .bind(
                    "system_prompt",
                    changes.system_prompt.as_deref().map(str::trim),
                )
                .bind("set_description", set_description)
                .bind("description", description)
                .bind("set_model", set_model)
                .bind("model", model)
                .bind("active", changes.active),
        )
        .await
        .map_err(|e| name_taken(e, changes.name.as_deref().unwrap_or_default()))?;
    match updated {
        Some(persona) => Ok(persona),
        None => Err(refusal(db, caller, id).await),
    }
}

/// Deletes the persona when nothing names it; otherwise archives it, so conversations and
/// answers keep saying which persona spoke (their references would be cleared by a delete).
pub async fn delete(db: &DataApi, caller: &Caller, id: Uuid) -> Result<Removed, AppError> {
    #[derive(Deserialize)]
    struct Outcome {
        archived: i64,
        deleted: i64,
    }
    const SQL: &str = concat!(
        "WITH target AS (
             SELECT p.id,
                 EXISTS (SELECT 1 FROM messages m WHERE m.persona_id = p.id)
                 OR EXISTS (SELECT 1 FROM conversations c WHERE c.persona_id = p.id) AS referenced
             FROM personas p
             WHERE p.id = :id AND p.team_id = ANY(:teams::uuid[]) AND ",
        may_edit!(),
        "), archived AS (
             UPDATE personas SET active = false
             WHERE id IN (SELECT id FROM target WHERE referenced) RETURNING id
         ), deleted AS (
             DELETE FROM personas WHERE id IN (SELECT id FROM target WHERE NOT referenced) RETURNING id
         )
         SELECT (SELECT count(*) FROM archived) AS archived, (SELECT count(*) FROM deleted) AS deleted"
    );
    let outcome: Outcome = db
        .query_one(SQL, caller_params(caller).bind("id", id))
        .await?;
    let outcome = match (outcome.deleted, outcome.archived) {
        (0, 0) => return Err(refusal(db, caller, id).await),
        (0, _) => Removal::Archived,
        _ => Removal::Deleted,
    };
    Ok(Removed { id, outcome })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_patch_tells_a_cleared_model_from_an_untouched_one() {
        let cleared: PersonaChanges = serde_json::from_value(json!({"modelId": null})).unwrap();
        assert_eq!(cleared.model_id, Some(None));
        let untouched: PersonaChanges = serde_json::from_value(json!({"name": "Tutor"})).unwrap();
        assert_eq!(untouched.model_id, None);
        assert!(serde_json::from_value::<PersonaChanges>(json!({"prompt": "x"})).is_err());
    }
}
