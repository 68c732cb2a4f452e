//! Storing and loading assistants (parts in `parts.rs`), and the access
//! rules of the module doc applied to each call.

use uuid::Uuid;

use super::parts::{check_references, write_parts};
use super::validate::validate_definition;
use super::{Assistant, Definition, Patch, Status};
use crate::auth::{self, Caller};
use crate::data_api::{DataApi, Params, TextArray, Transaction};
use crate::error::AppError;

/// The columns of [`Assistant`] (without its parts); callers add the WHERE.
macro_rules! select_assistant {
    () => {
        "SELECT id, team_id AS \"teamId\", owner_id AS \"ownerId\", name, description, status,
        review_note AS \"reviewNote\", reviewed_at AS \"reviewedAt\", created_at AS \"createdAt\", updated_at AS \"updatedAt\"
    FROM assistant_architects"
    };
}

/// Whether `caller` may see `assistant` at all.
pub(super) fn can_see(caller: &Caller, assistant: &Assistant) -> bool {
    caller.is_administrator()
        || (caller.in_team(assistant.team_id)
            && (is_owner(caller, assistant) || assistant.status == Status::Approved))
}

pub(super) fn is_owner(caller: &Caller, assistant: &Assistant) -> bool {
    assistant.owner_id == Some(caller.user_id) && caller.in_team(assistant.team_id)
}

/// The assistant row alone, whoever asks.
pub(super) async fn load_row(db: &DataApi, id: Uuid) -> Result<Assistant, AppError> {
    db.query_opt(
        concat!(select_assistant!(), " WHERE id = :id"),
        Params::new().bind("id", id),
    )
    .await?
    .ok_or_else(|| AppError::not_found("No such assistant"))
}

async fn load_parts(db: &DataApi, mut assistant: Assistant) -> Result<Assistant, AppError> {
    let by_id = || Params::new().bind("id", assistant.id);
    assistant.input_fields = db
        .query(
            "SELECT name, label, field_type AS type, options, required, placeholder
             FROM assistant_input_fields WHERE assistant_id = :id ORDER BY position",
            by_id(),
        )
        .await?;
    assistant.prompts = db
        .query(
            "SELECT id, name, content, model_id AS \"modelId\", system_context AS \"systemContext\",
                    repository_ids AS \"repositoryIds\", enabled_tools AS \"enabledTools\",
                    timeout_seconds AS \"timeoutSeconds\", parallel_group AS \"parallelGroup\"
             FROM assistant_prompts WHERE assistant_id = :id ORDER BY position",
            by_id(),
        )
        .await?;
    Ok(assistant)
}

/// The assistant with its fields and prompts, if the caller may see it.
pub async fn get(db: &DataApi, caller: &Caller, id: Uuid) -> Result<Assistant, AppError> {
    let assistant = load_row(db, id).await?;
    if !can_see(caller, &assistant) {
        return Err(refusal(caller, &assistant));
    }
    load_parts(db, assistant).await
}

/// The assistant, if the caller may run (or schedule) it: a member of its team, and it is
/// approved, or the caller owns it and it is not disabled.
pub async fn get_runnable(db: &DataApi, caller: &Caller, id: Uuid) -> Result<Assistant, AppError> {
    let assistant = load_row(db, id).await?;
    let runnable = caller.in_team(assistant.team_id)
        && match assistant.status {
            Status::Approved => true,
            Status::Disabled => false,
            _ => is_owner(caller, &assistant),
        };
    if !runnable {
        return Err(
            match (caller.in_team(assistant.team_id), assistant.status) {
                (false, _) => AppError::forbidden("You have no access to this assistant"),
                (true, Status::Disabled) => AppError::forbidden("This assistant is disabled"),
                (true, status) => AppError::forbidden(format!(
                    "This assistant is {}; only approved assistants run for people other than their owner",
                    status.as_str()
                )),
            },
        );
    }
    auth::require_tool(db, caller, "assistant_architect").await?;
    load_parts(db, assistant).await
}

fn refusal(caller: &Caller, assistant: &Assistant) -> AppError {
    if caller.in_team(assistant.team_id) {
        AppError::forbidden(format!(
            "This assistant is {}; only its owner sees it until it is approved",
            assistant.status.as_str()
        ))
    } else {
        AppError::forbidden("You have no access to this assistant")
    }
}

/// The assistants the caller sees (without fields and prompts), newest first;
/// administrators also see every one awaiting approval.
pub async fn list(db: &DataApi, caller: &Caller) -> Result<Vec<Assistant>, AppError> {
    let teams = TextArray(caller.teams.iter().map(Uuid::to_string).collect());
    Ok(db
        .query(
            concat!(
                select_assistant!(),
                " WHERE (team_id = ANY(:teams::uuid[]) AND (status = 'approved' OR owner_id = :user))
                    OR (:admin AND status = 'pending_approval')
                 ORDER BY created_at DESC, id"
            ),
            Params::new()
                .bind("teams", teams)
                .bind("user", caller.user_id)
                .bind("admin", caller.is_administrator()),
        )
        .await?)
}

/// Creates a draft assistant in the caller's team. Building assistants is for staff and
/// administrators.
pub async fn create(
    db: &DataApi,
    caller: &Caller,
    definition: &Definition,
) -> Result<Assistant, AppError> {
    validate_definition(definition)?;
    let team = match definition.team_id {
        Some(team) => team,
        None => caller.default_team()?,
    };
    caller.require_team(team)?;
    if !(caller.is_administrator() || caller.has_role("staff")) {
        return Err(AppError::forbidden(
            "Only staff and administrators build assistants",
        ));
    }
    auth::require_tool(db, caller, "assistant_architect").await?;
    check_references(db, caller, &definition.prompts).await?;
    let id = Uuid::new_v4();
    db.transaction(async |tx: &Transaction<'_>| -> Result<(), AppError> {
        tx.execute(
            "INSERT INTO assistant_architects (id, team_id, owner_id, name, description)
             VALUES (:id, :team, :user, :name, :description)",
            Params::new()
                .bind("id", id)
                .bind("team", team)
                .bind("user", caller.user_id)
                .bind("name", definition.name.trim())
                .bind("description", definition.description.as_deref()),
        )
        .await?;
        write_parts(tx, id, &definition.input_fields, &definition.prompts).await
    })
    .await?;
    get(db, caller, id).await
}

/// Applies a patch. Only the owner or an administrator edits; an owner's edit of a
/// reviewed assistant returns it to draft, to be approved again.
pub async fn update(
    db: &DataApi,
    caller: &Caller,
    id: Uuid,
    patch: &Patch,
) -> Result<Assistant, AppError> {
    let current = get(db, caller, id).await?;
    require_editor(caller, &current)?;
    let definition = Definition {
        name: patch.name.clone().unwrap_or(current.name.clone()),
        description: patch.description.clone().or(current.description.clone()),
        team_id: Some(current.team_id),
        input_fields: patch
            .input_fields
            .clone()
            .unwrap_or(current.input_fields.clone()),
        prompts: patch.prompts.clone().unwrap_or(current.prompts.clone()),
    };
    validate_definition(&definition)?;
    if let Some(prompts) = &patch.prompts {
        check_references(db, caller, prompts).await?;
    }
    let back_to_draft = !caller.is_administrator() && current.status != Status::Draft;
    db.transaction(async |tx: &Transaction<'_>| -> Result<(), AppError> {
        tx.execute(
            "UPDATE assistant_architects SET name = :name, description = :description,
                 status = CASE WHEN :back_to_draft THEN 'draft' ELSE status END
             WHERE id = :id",
            Params::new()
                .bind("id", id)
                .bind("name", definition.name.trim())
                .bind("description", definition.description.as_deref())
                .bind("back_to_draft", back_to_draft),
        )
        .await?;
        tx.execute(
            "DELETE FROM assistant_input_fields WHERE assistant_id = :id",
            Params::new().bind("id", id),
        )
        .await?;
        tx.execute(
            "DELETE FROM assistant_prompts WHERE assistant_id = :id",
            Params::new().bind("id", id),
        )
        .await?;
        write_parts(tx, id, &definition.input_fields, &definition.prompts).await
    })
    .await?;
    get(db, caller, id).await
}

/// Deletes an assistant with its prompts, executions and schedules.
pub async fn delete(db: &DataApi, caller: &Caller, id: Uuid) -> Result<Assistant, AppError> {
    let assistant = get(db, caller, id).await?;
    require_editor(caller, &assistant)?;
    db.execute(
        "DELETE FROM assistant_architects WHERE id = :id",
        Params::new().bind("id", id),
    )
    .await?;
    Ok(assistant)
}

fn require_editor(caller: &Caller, assistant: &Assistant) -> Result<(), AppError> {
    if is_owner(caller, assistant) || caller.is_administrator() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "Only the owner or an administrator changes this assistant",
        ))
    }
}
