//! Writing an assistant's input fields and prompts, and checking what its prompts point
//! at (models, tools, repositories) exists and is the caller's to use.

use serde::Deserialize;
use uuid::Uuid;

use super::{InputField, Prompt};
use crate::auth::Caller;
use crate::data_api::{DataApi, Params, TextArray, Transaction};
use crate::error::{AppError, ErrorCode};
use crate::knowledge::{Access, repositories};

/// Models exist, repositories are readable by the caller, tools are known.
pub(super) async fn check_references(
    db: &DataApi,
    caller: &Caller,
    prompts: &[Prompt],
) -> Result<(), AppError> {
    #[derive(Deserialize)]
    struct Found {
        id: String,
    }
    let models: Vec<Uuid> = prompts.iter().filter_map(|p| p.model_id).collect();
    let known: Vec<Found> = db
        .query(
            "SELECT id::text AS id FROM ai_models WHERE id = ANY(:ids::uuid[])",
            Params::new().bind(
                "ids",
                TextArray(models.iter().map(Uuid::to_string).collect()),
            ),
        )
        .await?;
    if let Some(missing) = models
        .iter()
        .find(|m| !known.iter().any(|k| k.id == m.to_string()))
    {
        return Err(AppError::validation(format!("There is no model {missing}")));
    }
    let tools: Vec<String> = prompts
        .iter()
        .flat_map(|p| p.enabled_tools.clone())
        .collect();
    let known: Vec<Found> = db
        .query(
            "SELECT identifier AS id FROM tools WHERE identifier = ANY(:ids::text[]) AND active",
            Params::new().bind("ids", TextArray(tools.clone())),
        )
        .await?;
    if let Some(missing) = tools.iter().find(|t| !known.iter().any(|k| &k.id == *t)) {
        return Err(AppError::validation(format!(
            "There is no tool {missing:?}"
        )));
    }
    let mut repos: Vec<Uuid> = prompts
        .iter()
        .flat_map(|p| p.repository_ids.clone())
        .collect();
    repos.sort_unstable();
    repos.dedup();
    for repo in repos {
        repositories::require(db, caller, repo, Access::Read).await?;
    }
    Ok(())
}

pub(super) async fn write_parts(
    tx: &Transaction<'_>,
    id: Uuid,
    fields: &[InputField],
    prompts: &[Prompt],
) -> Result<(), AppError> {
    let field_sets: Vec<Params> = fields
        .iter()
        .enumerate()
        .map(|(position, f)| {
            let label = if f.label.trim().is_empty() {
                &f.name
            } else {
                &f.label
            };
            Params::new()
                .bind("assistant", id)
                .bind("position", position as i64)
                .bind("name", &f.name)
                .bind("label", label.trim())
                .bind("type", f.field_type.as_str())
                .bind("options", f.options.as_ref().map(|o| serde_json::json!(o)))
                .bind("required", f.required)
                .bind("placeholder", f.placeholder.as_deref())
        })
        .collect();
    tx.batch_execute(
        "INSERT INTO assistant_input_fields (assistant_id, position, name, label, field_type, options, required, placeholder)
         VALUES (:assistant, :position, :name, :label, :type, :options, :required, :placeholder)",
        &field_sets,
    )
    .await?;
    let prompt_sets: Vec<Params> = prompts
        .iter()
        .enumerate()
        .map(|(position, p)| {
            Params::new()
                .bind("assistant", id)
                .bind("position", position as i64)
                .bind("name", p.name.trim())
                .bind("content", &p.content)
                .bind("model", p.model_id)
                .bind("system", p.system_context.as_deref())
                .bind(
                    "repos",
                    TextArray(p.repository_ids.iter().map(Uuid::to_string).collect()),
                )
                .bind("tools", TextArray(p.enabled_tools.clone()))
                .bind("timeout", p.timeout_seconds)
                .bind("group", p.parallel_group)
        })
        .collect();
    tx.batch_execute(
        "INSERT INTO assistant_prompts (assistant_id, position, name, content, model_id, system_context,
             repository_ids, enabled_tools, timeout_seconds, parallel_group)
         VALUES (:assistant, :position, :name, :content, :model, :system, :repos::uuid[], :tools::text[], :timeout, :group)",
        &prompt_sets,
    )
    .await
    .map_err(|e| match e.sql_state() {
        Some("23505") => AppError::new(ErrorCode::Conflict, "Two prompts share a position"),
        _ => e.into(),
    })?;
    Ok(())
}
