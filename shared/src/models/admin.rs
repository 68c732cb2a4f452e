//! The catalogue's administration: adding and changing models.

use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use super::{AiModel, COLUMNS};
use crate::auth::Caller;
use crate::data_api::{self, DataApi, Params, TextArray};
use crate::error::AppError;

/// The body of `POST /models`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewModel {
    pub provider: String,
    pub model_id: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub allowed_roles: Vec<String>,
    #[serde(default)]
    pub input_price_per_1k: Decimal,
    #[serde(default)]
    pub output_price_per_1k: Decimal,
    pub cached_input_price_per_1k: Option<Decimal>,
    pub context_window: Option<i64>,
    pub max_output_tokens: Option<i64>,
    pub config: Option<serde_json::Value>,
    pub active: Option<bool>,
    pub chat_enabled: Option<bool>,
    pub fallback_model_id: Option<Uuid>,
}

/// The body of `PATCH /models/{id}`: absent fields stay; `fallbackModelId: null` clears it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub allowed_roles: Option<Vec<String>>,
    pub input_price_per_1k: Option<Decimal>,
    pub output_price_per_1k: Option<Decimal>,
    pub cached_input_price_per_1k: Option<Decimal>,
    pub context_window: Option<i64>,
    pub max_output_tokens: Option<i64>,
    pub active: Option<bool>,
    pub chat_enabled: Option<bool>,
    #[serde(default, with = "double_option")]
    pub fallback_model_id: Option<Option<Uuid>>,
}

pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

pub(super) fn require_admin(caller: &Caller) -> Result<(), AppError> {
    if caller.is_administrator() {
        Ok(())
    } else {
        Err(AppError::forbidden("Only administrators manage models"))
    }
}

fn check_price(name: &str, price: Option<&Decimal>) -> Result<(), AppError> {
    match price {
        Some(p) if p.is_sign_negative() || p.scale() > 6 || *p >= Decimal::from(1_000_000) => {
            Err(AppError::validation(format!(
                "{name} must be between 0 and 999999.999999 with at most 6 decimals"
            )))
        }
        _ => Ok(()),
    }
}

fn check_positive(name: &str, value: Option<i64>) -> Result<(), AppError> {
    match value {
        Some(n) if n <= 0 || n > i64::from(i32::MAX) => Err(AppError::validation(format!(
            "{name} must be a positive whole number"
        ))),
        _ => Ok(()),
    }
}

fn check_name(name: &str) -> Result<(), AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::validation("A model name is 1 to 200 characters"));
    }
    Ok(())
}

fn decimal(value: &Decimal) -> data_api::Decimal {
    data_api::Decimal(value.to_string())
}

/// Adds a model to the catalogue.
pub async fn create(db: &DataApi, caller: &Caller, new: &NewModel) -> Result<AiModel, AppError> {
    require_admin(caller)?;
    crate::providers::chat_provider(&new.provider)?;
    if new.model_id.trim().is_empty() {
        return Err(AppError::validation("modelId is required"));
    }
    check_name(&new.name)?;
    check_price("inputPricePer1k", Some(&new.input_price_per_1k))?;
    check_price("outputPricePer1k", Some(&new.output_price_per_1k))?;
    check_price(
        "cachedInputPricePer1k",
        new.cached_input_price_per_1k.as_ref(),
    )?;
    check_positive("contextWindow", new.context_window)?;
    check_positive("maxOutputTokens", new.max_output_tokens)?;
    let config = new.config.clone().unwrap_or_else(|| serde_json::json!({}));
    if !config.is_object() {
        return Err(AppError::validation("config must be a JSON object"));
    }
    db.query_one(
        &format!(
            "INSERT INTO ai_models (provider, model_id, name, description, capabilities, allowed_roles,
                 input_price_per_1k, output_price_per_1k, cached_input_price_per_1k, context_window,
                 max_output_tokens, config, active, chat_enabled, fallback_model_id)
             VALUES (:provider, :model_id, :name, :description, :capabilities::text[], :allowed_roles::text[],
                 :input, :output, :cached, :context_window, :max_output, :config::jsonb, :active, :chat, :fallback)
             RETURNING {COLUMNS}"
        ),
        Params::new()
            .bind("provider", new.provider.as_str())
            .bind("model_id", new.model_id.trim())
            .bind("name", new.name.trim())
            .bind("description", new.description.as_deref())
            .bind("capabilities", TextArray(new.capabilities.clone()))
            .bind("allowed_roles", TextArray(new.allowed_roles.clone()))
            .bind("input", decimal(&new.input_price_per_1k))
            .bind("output", decimal(&new.output_price_per_1k))
            .bind("cached", new.cached_input_price_per_1k.as_ref().map(decimal))
            .bind("context_window", new.context_window)
            .bind("max_output", new.max_output_tokens)
            .bind("config", config)
            .bind("active", new.active.unwrap_or(true))
            .bind("chat", new.chat_enabled.unwrap_or(true))
            .bind("fallback", new.fallback_model_id),
    )
    .await
    .map_err(|e| match AppError::from(e) {
        e if e.code == crate::ErrorCode::Conflict => AppError::new(
            crate::ErrorCode::Conflict,
            format!("{} already has a model {}", new.provider, new.model_id),
        ),
        e => e,
    })
}

/// Changes a model; absent fields keep their value.
pub async fn update(
    db: &DataApi,
    caller: &Caller,
    id: Uuid,
    changes: &ModelChanges,
) -> Result<AiModel, AppError> {
    require_admin(caller)?;
    if let Some(name) = &changes.name {
        check_name(name)?;
    }
    check_price("inputPricePer1k", changes.input_price_per_1k.as_ref())?;
    check_price("outputPricePer1k", changes.output_price_per_1k.as_ref())?;
    check_price(
        "cachedInputPricePer1k",
        changes.cached_input_price_per_1k.as_ref(),
    )?;
    check_positive("contextWindow", changes.context_window)?;
    check_positive("maxOutputTokens", changes.max_output_tokens)?;
    if changes.fallback_model_id == Some(Some(id)) {
        return Err(AppError::validation("A model cannot fall back to itself"));
    }
    let (set_fallback, fallback) = match changes.fallback_model_id {
        None => (false, None),
        Some(fallback) => (true, fallback),
    };
    db.query_opt(
        &format!(
            "UPDATE ai_models SET
                 name = coalesce(:name, name),
                 description = coalesce(:description, description),
                 allowed_roles = coalesce(:allowed_roles::text[], allowed_roles),
                 input_price_per_1k = coalesce(:input, input_price_per_1k),
                 output_price_per_1k = coalesce(:output, output_price_per_1k),
                 cached_input_price_per_1k = coalesce(:cached, cached_input_price_per_1k),
                 context_window = coalesce(:context_window, context_window),
                 max_output_tokens = coalesce(:max_output, max_output_tokens),
                 active = coalesce(:active, active),
                 chat_enabled = coalesce(:chat, chat_enabled),
                 fallback_model_id = CASE WHEN :set_fallback THEN :fallback ELSE fallback_model_id END
             WHERE id = :id
             RETURNING {COLUMNS}"
        ),
        Params::new()
            .bind("id", id)
            .bind("name", changes.name.as_deref().map(str::trim))
            .bind("description", changes.description.as_deref())
            .bind("allowed_roles", changes.allowed_roles.clone().map(TextArray))
            .bind("input", changes.input_price_per_1k.as_ref().map(decimal))
            .bind("output", changes.output_price_per_1k.as_ref().map(decimal))
            .bind("cached", changes.cached_input_price_per_1k.as_ref().map(decimal))
            .bind("context_window", changes.context_window)
            .bind("max_output", changes.max_output_tokens)
            .bind("active", changes.active)
            .bind("chat", changes.chat_enabled)
            .bind("set_fallback", set_fallback)
            .bind("fallback", fallback),
    )
    .await?
    .ok_or_else(|| AppError::not_found(format!("No model {id}")))
}
