//! The AI model catalogue (`ai_models`): who may use which model, and its administration.

mod admin;
mod catalogue;

pub(crate) use admin::double_option;
use admin::require_admin;
pub use admin::{ModelChanges, NewModel, create, update};
pub use catalogue::Catalogue;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Caller;
use crate::data_api::{DataApi, Params};
use crate::error::AppError;
use crate::ports::chat::Usage;

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
    /// The access rule, in one place: active, chat-enabled, and allowed to one of the
    /// caller's roles (administrators may use any model).
    pub fn check_access(&self, caller: &Caller) -> Result<(), AppError> {
        if !self.active {
            return Err(AppError::forbidden(format!(
                "{} is not active; an administrator can enable it",
                self.name
            )));
        }
        if !self.chat_enabled {
            return Err(AppError::forbidden(format!(
                "{} is not enabled for chat",
                self.name
            )));
        }
        if !self.allows(caller) {
            return Err(AppError::forbidden(format!(
                "{} is available to {} only",
                self.name,
                self.allowed_roles.join(", ")
            )));
        }
        Ok(())
    }

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
