//! The catalogue as a process keeps it: every model in memory, found by id or name, with
//! its fallback chain, without a database round trip on the hot path.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::{AiModel, COLUMNS};
use crate::cache::Kept;
use crate::data_api::{DataApi, Params};
use crate::error::{AppError, ErrorCode};

/// How deep a fallback chain is followed.
const MAX_FALLBACKS: usize = 3;

/// How long a process trusts its copy of the catalogue (`MODELS_CACHE_SECS` overrides it).
const DEFAULT_CATALOGUE_TTL: Duration = Duration::from_secs(60);

/// The catalogue as one process sees it: every `ai_models` row, read in one statement and
/// kept for a minute (refreshed ahead of expiry, see [`Kept`]), so a chat turn finds its
/// model and fallbacks without a database round trip. A model that is not in the copy
/// reloads it once (a model created a moment ago is found at once); a change to an
/// existing model reaches a warm process within the TTL.
pub struct Catalogue {
    db: DataApi,
    copy: Kept<Vec<AiModel>>,
}

impl Catalogue {
    /// A catalogue over `db` kept for `MODELS_CACHE_SECS` (default 60 s; the test stack 1 s).
    pub fn new(db: DataApi) -> Self {
        let ttl = std::env::var("MODELS_CACHE_SECS")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .map_or(DEFAULT_CATALOGUE_TTL, Duration::from_secs);
        Self::with_ttl(db, ttl)
    }

    /// A catalogue kept for `ttl` (zero reads the table every time).
    pub fn with_ttl(db: DataApi, ttl: Duration) -> Self {
        Self {
            db,
            copy: Kept::new(ttl),
        }
    }

    async fn rows(&self, reload: bool) -> Result<Arc<Vec<AiModel>>, AppError> {
        let db = self.db.clone();
        let load = || async move {
            db.query(&format!("SELECT {COLUMNS} FROM ai_models"), Params::new())
                .await
                .map_err(AppError::from)
        };
        if reload {
            self.copy.reload(load).await
        } else {
            self.copy.get(load).await
        }
    }

    /// Finds a model by its id or by its `model_id` (which must then name one model), with
    /// the models it falls back to, in order.
    pub async fn find(&self, requested: &str) -> Result<(AiModel, Vec<AiModel>), AppError> {
        let rows = self.rows(false).await?;
        let rows = match pick(&rows, requested) {
            Err(error) if error.code == ErrorCode::NotFound => self.rows(true).await?,
            _ => rows,
        };
        let model = pick(&rows, requested)?;
        let fallbacks = fallback_chain(&rows, &model);
        Ok((model, fallbacks))
    }
}

/// The model `requested` names among `rows`: its id, or its `model_id` when one model (or
/// one active model, when several providers serve it) has it.
pub(super) fn pick(rows: &[AiModel], requested: &str) -> Result<AiModel, AppError> {
    let requested = requested.trim();
    if requested.is_empty() {
        return Err(AppError::validation("Choose a model (modelId)"));
    }
    let found: Vec<&AiModel> = match Uuid::parse_str(requested) {
        Ok(id) => rows.iter().filter(|m| m.id == id).collect(),
        Err(_) => rows.iter().filter(|m| m.model_id == requested).collect(),
    };
    match found.as_slice() {
        [] => Err(AppError::not_found(format!("No model {requested}"))),
        [model] => Ok((*model).clone()),
        several => match several
            .iter()
            .filter(|m| m.active)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [active] => Ok((**active).clone()),
            _ => Err(AppError::validation(format!(
                "{requested} names several models: choose one by its id"
            ))),
        },
    }
}

/// The models `model` falls back to, in order, at most [`MAX_FALLBACKS`] deep, never
/// revisiting one (a cycle ends the chain).
fn fallback_chain(rows: &[AiModel], model: &AiModel) -> Vec<AiModel> {
    let mut chain: Vec<AiModel> = Vec::new();
    let mut next = model.fallback_model_id;
    while let Some(id) = next
        && chain.len() < MAX_FALLBACKS
        && id != model.id
        && !chain.iter().any(|m| m.id == id)
    {
        let Some(fallback) = rows.iter().find(|m| m.id == id) else {
            break;
        };
        next = fallback.fallback_model_id;
        chain.push(fallback.clone());
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::super::Prices;
    use super::*;
    use chrono::Utc;

    fn model(name: &str, active: bool, fallback: Option<Uuid>) -> AiModel {
        AiModel {
            id: Uuid::new_v4(),
            provider: "openai".into(),
            model_id: name.into(),
            name: name.into(),
            description: None,
            capabilities: vec!["chat".into()],
            allowed_roles: Vec::new(),
            prices: Prices::default(),
            context_window: None,
            max_output_tokens: None,
            config: serde_json::json!({}),
            active,
            chat_enabled: true,
            fallback_model_id: fallback,
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_model_is_found_by_id_or_by_its_one_active_model_id() {
        let retired = model("gpt-4o", false, None);
        let current = model("gpt-4o", true, None);
        let rows = vec![retired.clone(), current.clone()];
        assert_eq!(pick(&rows, &retired.id.to_string()).unwrap(), retired);
        assert_eq!(pick(&rows, " gpt-4o ").unwrap(), current);
        let twice = vec![current.clone(), model("gpt-4o", true, None)];
        let error = pick(&twice, "gpt-4o").unwrap_err();
        assert!(
            error.message.contains("several models"),
            "{}",
            error.message
        );
        assert_eq!(pick(&rows, "gpt-5").unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(pick(&rows, "  ").unwrap_err().code, ErrorCode::Validation);
    }

    #[test]
    fn a_fallback_chain_is_followed_in_order_and_stops_at_a_cycle_or_its_depth() {
        let mut a = model("a", true, None);
        let mut b = model("b", true, None);
        let mut c = model("c", true, None);
        a.fallback_model_id = Some(b.id);
        b.fallback_model_id = Some(c.id);
        c.fallback_model_id = Some(a.id);
        let rows = vec![a.clone(), b.clone(), c.clone()];
        let names = |chain: Vec<AiModel>| chain.into_iter().map(|m| m.name).collect::<Vec<_>>();
        assert_eq!(names(fallback_chain(&rows, &a)), ["b", "c"]);
        assert_eq!(names(fallback_chain(&rows, &c)), ["a", "b"]);

        let mut long: Vec<AiModel> = (0..6)
            .map(|i| model(&format!("m{i}"), true, None))
            .collect();
        for i in 0..5 {
            long[i].fallback_model_id = Some(long[i + 1].id);
        }
        assert_eq!(names(fallback_chain(&long, &long[0])), ["m1", "m2", "m3"]);
        // A fallback that no longer exists ends the chain.
        let orphan = model("orphan", true, Some(Uuid::new_v4()));
        assert!(fallback_chain(&rows, &orphan).is_empty());
    }
}
