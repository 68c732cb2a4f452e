//! Chat: the service, conversations, personas, RAG, compare and the stream formats, over
//! the chat-model port ([`crate::ports::chat`]); the adapters are the providers'
//! ([`crate::providers`]).

pub mod compare;
pub mod conversations;
pub mod openai_compat;
pub mod personas;
pub mod rag;
pub mod relay;
pub mod request;
pub mod resilience;
pub mod service;
pub mod ui_stream;

use std::sync::Arc;

pub use resilience::{Answer, Candidate, Fallback};

use crate::error::AppError;
use crate::ports::chat::{ChatModel, ProviderSettings};
use crate::providers;

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

/// The registered provider's adapter, behind its address's breaker when it has one.
async fn build_adapter(
    provider: &str,
    settings: &ProviderSettings,
) -> Result<Arc<dyn ChatModel>, AppError> {
    let (_, adapter) = providers::chat_provider(provider)?;
    let model = (adapter.build)(settings).await?;
    Ok(match (adapter.address)(settings) {
        None => model,
        Some(address) => {
            let breaker = resilience::breaker(provider, address.trim_end_matches('/'));
            Arc::new(resilience::Guarded::new(model, breaker))
        }
    })
}
