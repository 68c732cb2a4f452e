//! The executor configurator: for a caller and a requested model, everything a chat, compare
//! or assistant executor needs (the model row, its provider's settings, the fallback chain,
//! the system prompt), after the access check. Executors never read settings themselves.

use std::time::Duration;

use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::chat::service::{Models, Speaker};
use crate::chat::{Candidate, Fallback};
use crate::data_api::{DataApi, Params};
use crate::error::AppError;
use crate::models::{AiModel, Catalogue};
use crate::ports::chat::ProviderSettings;
use crate::settings::Settings;

/// Setting holding the system prompt every chat starts with.
pub const SYSTEM_PROMPT: &str = "chat.system_prompt";

/// A model and how to reach its provider.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    pub model: AiModel,
    pub provider: ProviderSettings,
}

/// What an executor runs with.
#[derive(Debug, Clone)]
pub struct Execution {
    pub primary: ResolvedModel,
    /// Models to try, in order, when the primary fails before its first token. Only
    /// active models the caller may use are included.
    pub fallbacks: Vec<ResolvedModel>,
    /// The persona's prompt, else the global default, else none.
    pub system_prompt: Option<String>,
}

/// What to resolve.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// An `ai_models` id or its `model_id` (`gpt-4o-mini`).
    pub model: &'a str,
    /// A persona of one of the caller's teams whose system prompt applies.
    pub persona: Option<Uuid>,
}

/// How to reach `model`'s provider: `<provider>.<field>` settings (database, then
/// environment), with the model's own non-secret `config` (base_url, api_version, region)
/// taking precedence.
pub async fn provider_settings(
    settings: &Settings,
    model: &AiModel,
) -> Result<ProviderSettings, AppError> {
    let provider = model.provider.as_str();
    let from_model = |field: &str| {
        model
            .config
            .get(field)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let setting = async |field: &str| settings.text(&format!("{provider}.{field}")).await;
    let timeout = match setting("timeout_secs").await? {
        None => None,
        Some(text) => match text.trim().parse::<f64>() {
            Ok(secs) if secs > 0.0 && secs.is_finite() => Some(Duration::from_secs_f64(secs)),
            _ => {
                tracing::warn!(
                    provider,
                    "{provider}.timeout_secs is not a positive number; ignored"
                );
                None
            }
        },
    };
    Ok(ProviderSettings {
        base_url: match from_model("base_url") {
            Some(url) => Some(url),
            None => setting("base_url").await?,
        },
        api_key: setting("api_key").await?,
        api_version: match from_model("api_version") {
            Some(version) => Some(version),
            None => setting("api_version").await?,
        },
        region: match from_model("region") {
            Some(region) => Some(region),
            None => setting("region").await?,
        },
        timeout,
    })
}

async fn persona_prompt(db: &DataApi, caller: &Caller, persona: Uuid) -> Result<String, AppError> {
    #[derive(Deserialize)]
    struct Persona {
        team_id: Uuid,
        system_prompt: String,
        active: bool,
    }
    let found: Persona = db
        .query_opt(
            "SELECT team_id, system_prompt, active FROM personas WHERE id = :id",
            Params::new().bind("id", persona),
        )
        .await?
        .ok_or_else(|| AppError::not_found(format!("No persona {persona}")))?;
    if !caller.in_team(found.team_id) {
        return Err(AppError::not_found(format!("No persona {persona}")));
    }
    if !found.active {
        return Err(AppError::validation("This persona is archived"));
    }
    Ok(found.system_prompt)
}

/// The studio's executor configurator and speakers: the catalogue's checked model and
/// fallbacks, each built into its provider adapter (kept for the process), behind one
/// [`Fallback`]. Build one per process and share it: it keeps the model catalogue.
pub struct StudioModels {
    db: DataApi,
    settings: Settings,
    catalogue: Catalogue,
}

impl StudioModels {
    pub fn new(db: DataApi, settings: Settings) -> Self {
        Self {
            catalogue: Catalogue::new(db.clone()),
            db,
            settings,
        }
    }

    /// Resolves `request` for `caller`, refusing with `forbidden` (before any provider call)
    /// a model that is inactive, not enabled for chat, or not allowed to the caller's roles.
    /// Without a persona this reads no table: the catalogue and settings are cached.
    pub async fn resolve(
        &self,
        caller: &Caller,
        request: Request<'_>,
    ) -> Result<Execution, AppError> {
        let (model, fallbacks) = self.catalogue.find(request.model).await?;
        model.check_access(caller)?;
        let system_prompt = match request.persona {
            Some(persona) => Some(persona_prompt(&self.db, caller, persona).await?),
            None => self.settings.text(SYSTEM_PROMPT).await?,
        };
        let resolve = async |model: AiModel| -> Result<ResolvedModel, AppError> {
            Ok(ResolvedModel {
                provider: provider_settings(&self.settings, &model).await?,
                model,
            })
        };
        let primary = resolve(model).await?;
        let mut resolved = Vec::with_capacity(fallbacks.len());
        for model in fallbacks {
            if model.check_access(caller).is_ok() {
                resolved.push(resolve(model).await?);
            }
        }
        Ok(Execution {
            primary,
            fallbacks: resolved,
            system_prompt,
        })
    }
}

#[async_trait::async_trait]
impl Models for StudioModels {
    async fn speaker(&self, caller: &Caller, model_ref: &str) -> Result<Speaker, AppError> {
        let execution = self
            .resolve(
                caller,
                Request {
                    model: model_ref,
                    persona: None,
                },
            )
            .await?;
        let resolved: Vec<&ResolvedModel> = std::iter::once(&execution.primary)
            .chain(&execution.fallbacks)
            .collect();
        let mut candidates = Vec::with_capacity(resolved.len());
        for model in &resolved {
            candidates.push(Candidate {
                label: model.model.id.to_string(),
                model_id: model.model.model_id.clone(),
                chat: crate::chat::build(&model.model.provider, &model.provider).await?,
            });
        }
        let primary = &execution.primary.model;
        Ok(Speaker {
            model: std::sync::Arc::new(Fallback::new(candidates)),
            ai_model_id: primary.id,
            model_name: primary.model_id.clone(),
            max_output_tokens: primary
                .max_output_tokens
                .and_then(|n| u32::try_from(n).ok()),
            models: resolved.into_iter().map(|m| m.model.clone()).collect(),
            persona: None,
            system: execution.system_prompt,
        })
    }
}
