//! Chat: the provider adapters behind the chat-model port ([`crate::ports::chat`]) and
//! the chat domain (the service, conversations, personas, RAG, compare, the stream formats).

pub mod compare;
pub mod conversations;
pub mod gemini;
mod http;
pub mod offline;
pub mod openai;
pub mod openai_compat;
pub mod personas;
pub mod rag;
pub mod relay;
pub mod request;
pub mod resilience;
pub mod service;
pub mod ui_stream;

mod bedrock;

pub use bedrock::BedrockChat;

use std::sync::Arc;

pub use gemini::GeminiChat;
pub use http::{DEFAULT_TIMEOUT, retry_after};
pub use offline::OfflineChat;
pub use openai::OpenAiChat;
pub use resilience::{Answer, Candidate, Fallback};

use crate::error::AppError;
use crate::ports::chat::{ChatModel, ProviderSettings};

/// The adapter for `provider` (as `ai_models.provider` spells it), reaching it as
/// `settings` say. The model id travels in each [`ChatRequest::model`], so one adapter
/// serves every model of a provider. Remote providers come behind the process-wide
/// circuit breaker of their address ([`resilience::breaker`]). Adapters are kept for the
/// life of the process (a warm Lambda reuses their connections), one per distinct
/// provider and settings.
pub async fn build(
    provider: &str,
    settings: &ProviderSettings,
) -> Result<Arc<dyn ChatModel>, AppError> {
    type Built = std::collections::HashMap<String, Arc<dyn ChatModel>>;
    static BUILT: std::sync::OnceLock<std::sync::Mutex<Built>> = std::sync::OnceLock::new();
    let key = {
        use sha2::Digest;
        let key_hash = settings
            .api_key
            .as_ref()
            .map(|k| hex::encode(&sha2::Sha256::digest(k.as_bytes())[..8]));
        format!(
            "{provider}|{:?}|{:?}|{:?}|{:?}|{key_hash:?}",
            settings.base_url, settings.api_version, settings.region, settings.timeout
        )
    };
    let built = BUILT.get_or_init(Default::default);
    let cached = built
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
        .cloned();
    if let Some(model) = cached {
        return Ok(model);
    }
    let model = build_adapter(provider, settings).await?;
    built
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, Arc::clone(&model));
    Ok(model)
}

async fn build_adapter(
    provider: &str,
    settings: &ProviderSettings,
) -> Result<Arc<dyn ChatModel>, AppError> {
    let (model, address): (Arc<dyn ChatModel>, String) = match provider {
        "offline" => return Ok(Arc::new(OfflineChat)),
        "openai" => {
            let base = settings
                .base_url
                .as_deref()
                .unwrap_or(openai::OPENAI_BASE_URL);
            (Arc::new(OpenAiChat::openai(settings)?), base.to_owned())
        }
        "azure" => (
            Arc::new(OpenAiChat::azure(settings)?),
            settings.base_url.clone().unwrap_or_default(),
        ),
        "openai_compatible" => (
            Arc::new(OpenAiChat::compatible(settings)?),
            settings.base_url.clone().unwrap_or_default(),
        ),
        "gemini" => {
            let base = settings
                .base_url
                .as_deref()
                .unwrap_or(gemini::GEMINI_BASE_URL);
            (Arc::new(GeminiChat::new(settings)?), base.to_owned())
        }
        "bedrock" => (
            Arc::new(BedrockChat::from_settings(settings).await),
            format!(
                "bedrock:{}",
                settings
                    .base_url
                    .clone()
                    .or_else(|| settings.region.clone())
                    .unwrap_or_default()
            ),
        ),
        other => {
            return Err(AppError::validation(format!(
                "unknown chat provider {other:?}; use openai, azure, openai_compatible, gemini, bedrock or offline"
            )));
        }
    };
    let breaker = resilience::breaker(provider, address.trim_end_matches('/'));
    Ok(Arc::new(resilience::Guarded::new(model, breaker)))
}
