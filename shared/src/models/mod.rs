//! The AI model catalogue (`ai_models`): who may use which model, and its administration.

mod catalogue;

pub use catalogue::Catalogue;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Caller;
use crate::chat::Usage;
use crate::data_api::{self, DataApi, Params, TextArray};
use crate::error::AppError;

/// Providers `ai_models.provider` accepts (its CHECK constraint).
pub const PROVIDERS: &[&str] = &[
    "openai",
    "azure",
    "bedrock",
    "gemini",
    "openai_compatible",
    "offline",
];

/// One `ai_models` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct AiModel {
    pub id: Uuid,
    pub provider: String,
    /// The provider's own id (`gpt-4o-mini`).
    pub model_id: String,
    pub name: String,
    pub description: Option<String>,
    pub capabilities: Vec<String>,
    /// Roles allowed to use the model; empty: every role.
    pub allowed_roles: Vec<String>,
    #[serde(flatten)]
    pub prices: Prices,
    pub context_window: Option<i64>,
    pub max_output_tokens: Option<i64>,
    /// Non-secret provider options (`base_url`, `api_version`, `region`).
    pub config: serde_json::Value,
    pub active: bool,
    pub chat_enabled: bool,
    pub fallback_model_id: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

/// USD per 1,000 tokens, exact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct Prices {
    pub input_price_per_1k: Decimal,
    pub output_price_per_1k: Decimal,
    /// `None`: cached input costs the input price.
    pub cached_input_price_per_1k: Option<Decimal>,
}

impl Prices {
    /// `(input - cached) * input + cached * (cached or input) + output * output`, per 1,000
    /// tokens, exactly (prices have 6 decimals, so costs have at most 9).
    pub fn cost(&self, usage: &Usage) -> Decimal {
        let thousand = Decimal::from(1000);
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let uncached = Decimal::from(usage.input_tokens - cached);
        let cached_price = self
            .cached_input_price_per_1k
            .unwrap_or(self.input_price_per_1k);
        ((uncached * self.input_price_per_1k
            + Decimal::from(cached) * cached_price
            + Decimal::from(usage.output_tokens) * self.output_price_per_1k)
            / thousand)
            .normalize()
    }
}

impl AiModel {
    /// Whether `caller`'s roles allow the model (administrators may use any).
    pub fn allows(&self, caller: &Caller) -> bool {
        caller.is_administrator()
            || self.allowed_roles.is_empty()
            || self.allowed_roles.iter().any(|role| caller.has_role(role))
    }
}

pub(crate) const COLUMNS: &str = "id, provider, model_id, name, description, capabilities, allowed_roles,
    input_price_per_1k, output_price_per_1k, cached_input_price_per_1k, context_window, max_output_tokens,
    config, active, chat_enabled, fallback_model_id, updated_at";

/// Finds a model by its id or by its `model_id`, reading the table now (for routes that
/// change or show one model; executors use a [`Catalogue`]).
pub async fn find(db: &DataApi, requested: &str) -> Result<AiModel, AppError> {
    let rows: Vec<AiModel> = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM ai_models WHERE id::text = :requested OR model_id = :requested"
            ),
            Params::new().bind("requested", requested.trim()),
        )
        .await?;
    catalogue::pick(&rows, requested)
}

/// The active chat models the caller may use.
pub async fn list_usable(db: &DataApi, caller: &Caller) -> Result<Vec<AiModel>, AppError> {
    let models: Vec<AiModel> = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM ai_models WHERE active AND chat_enabled ORDER BY name, id"
            ),
            Params::new(),
        )
        .await?;
    Ok(models.into_iter().filter(|m| m.allows(caller)).collect())
}

/// Every model, active or not; administrators only.
pub async fn list_all(db: &DataApi, caller: &Caller) -> Result<Vec<AiModel>, AppError> {
    require_admin(caller)?;
    Ok(db
        .query(
            &format!("SELECT {COLUMNS} FROM ai_models ORDER BY name, id"),
            Params::new(),
        )
        .await?)
}

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

fn require_admin(caller: &Caller) -> Result<(), AppError> {
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
    if !PROVIDERS.contains(&new.provider.as_str()) {
        return Err(AppError::validation(format!(
            "provider {:?} is not one of {}",
            new.provider,
            PROVIDERS.join(", ")
        )));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn cost_charges_cached_input_at_its_own_price_exactly() {
        let prices = Prices {
            input_price_per_1k: d("0.000150"),
            output_price_per_1k: d("0.000600"),
            cached_input_price_per_1k: Some(d("0.000075")),
        };
        let usage = Usage {
            input_tokens: 1_234,
            output_tokens: 567,
            cached_input_tokens: 1_000,
            reasoning_tokens: 100,
        };
        // (234 * 0.00015 + 1000 * 0.000075 + 567 * 0.0006) / 1000 = 0.4503 / 1000
        assert_eq!(prices.cost(&usage), d("0.0004503"));
        assert_eq!(prices.cost(&usage).to_string(), "0.0004503");
    }

    #[test]
    fn cached_input_without_its_own_price_costs_the_input_price() {
        let prices = Prices {
            input_price_per_1k: d("0.003"),
            output_price_per_1k: d("0.015"),
            cached_input_price_per_1k: None,
        };
        let usage = Usage {
            input_tokens: 7,
            output_tokens: 0,
            cached_input_tokens: 3,
            reasoning_tokens: 0,
        };
        assert_eq!(prices.cost(&usage), d("0.000021"));
    }

    #[test]
    fn a_tiny_call_keeps_its_nine_decimals() {
        let prices = Prices {
            input_price_per_1k: d("0.000001"),
            ..Prices::default()
        };
        let usage = Usage {
            input_tokens: 1,
            ..Usage::default()
        };
        assert_eq!(prices.cost(&usage), d("0.000000001"));
    }
}
