//! Model providers, one folder each: its chat and embedding adapters and its entry in
//! [`REGISTRY`]. Everything that knows a provider by name reads the registry: model
//! validation ([`chat_provider`]), the settings catalogue (each entry's [`Setting`]s), the
//! chat adapter factory (`chat::build`) and the embedder factory (`embed::from_env`).
//! Adding one is a folder and a line below: `docs/adding-a-provider.md`.

pub mod azure;
#[cfg(feature = "bedrock")]
pub mod bedrock;
pub mod gemini;
pub(crate) mod http;
pub mod offline;
pub mod openai;
pub mod openai_compatible;

#[cfg(test)]
mod echo;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::AppError;
use crate::ports::chat::{ChatModel, ProviderSettings};
use crate::ports::embed::Embedder;

pub use http::{DEFAULT_TIMEOUT, retry_after};

/// Every provider the studio can reach, by [`Provider::name`].
pub static REGISTRY: &[&Provider] = &[
    &openai::PROVIDER,
    &azure::PROVIDER,
    &openai_compatible::PROVIDER,
    &gemini::PROVIDER,
    #[cfg(feature = "bedrock")]
    &bedrock::PROVIDER,
    &offline::PROVIDER,
    #[cfg(test)]
    &echo::PROVIDER,
];

/// One provider: its name, the settings it reads and the adapters it builds.
#[derive(Debug)]
pub struct Provider {
    /// As `ai_models.provider`, `EMBEDDING_PROVIDER` and the settings keys spell it.
    pub name: &'static str,
    /// The settings it reads, each stored as `<name>.<field>` (environment fallback
    /// `<NAME>_<FIELD>`), in the catalogue administrators see.
    pub settings: &'static [Setting],
    /// Chat models (`ai_models` rows may name the provider only when it has them).
    pub chat: Option<ChatAdapter>,
    /// Embedding models (`EMBEDDING_PROVIDER`).
    pub embeddings: Option<EmbeddingAdapter>,
}

/// A provider setting, `<provider>.<field>`, with `field` one of [`FIELDS`].
#[derive(Debug)]
pub struct Setting {
    pub field: &'static str,
    /// Stored encrypted and never returned.
    pub secret: bool,
    pub description: &'static str,
}

/// The fields [`ProviderSettings`] carries, which every provider's settings are drawn from.
pub const FIELDS: &[&str] = &[
    "api_key",
    "base_url",
    "api_version",
    "region",
    "timeout_secs",
];

/// A future an adapter builder returns.
pub type Building<'a, T> = Pin<Box<dyn Future<Output = Result<T, AppError>> + Send + 'a>>;

/// How a provider's chat models are reached.
#[derive(Debug)]
pub struct ChatAdapter {
    /// The adapter for every model of the provider, reached as `settings` say (the model
    /// id travels in each request). A setting it cannot work without is a validation
    /// error naming it.
    pub build: for<'a> fn(&'a ProviderSettings) -> Building<'a, Arc<dyn ChatModel>>,
    /// The address whose circuit breaker guards the adapter (failures at one address do
    /// not trip another's); `None` for a model that runs in the process.
    pub address: fn(&ProviderSettings) -> Option<String>,
}

/// What an embedder is built from: the provider's settings (from the environment, at cold
/// start), the model and the vector size the schema holds.
#[derive(Debug, Clone, Default)]
pub struct EmbeddingSettings {
    pub provider: ProviderSettings,
    pub model_id: Option<String>,
    pub dimensions: usize,
}

/// How a provider's embedding models are reached.
#[derive(Debug)]
pub struct EmbeddingAdapter {
    /// Variables naming the base URL, read before `<PROVIDER>_BASE_URL` (the template's
    /// `EMBEDDING_BASE_URL` is the OpenAI-compatible server's).
    pub base_url_from: &'static [&'static str],
    pub build: for<'a> fn(&'a EmbeddingSettings) -> Building<'a, Box<dyn Embedder>>,
}

/// The provider named `name`.
pub fn find(name: &str) -> Option<&'static Provider> {
    REGISTRY.iter().copied().find(|p| p.name == name)
}

/// The provider of an `ai_models` row: one that has chat models, or a validation error
/// listing those that do.
pub fn chat_provider(name: &str) -> Result<(&'static Provider, &'static ChatAdapter), AppError> {
    find(name)
        .and_then(|p| p.chat.as_ref().map(|chat| (p, chat)))
        .ok_or_else(|| {
            AppError::validation(format!(
                "provider {name:?} is not one of {}",
                names(|p| p.chat.is_some())
            ))
        })
}

/// The embedding provider `name`, or a validation error listing those there are.
pub fn embedding_provider(name: &str) -> Result<&'static EmbeddingAdapter, AppError> {
    find(name)
        .and_then(|p| p.embeddings.as_ref())
        .ok_or_else(|| {
            AppError::validation(format!(
                "EMBEDDING_PROVIDER {name:?} is not supported; use {}",
                names(|p| p.embeddings.is_some())
            ))
        })
}

/// The names of the providers `keep` selects, for messages.
fn names(keep: impl Fn(&Provider) -> bool) -> String {
    let names: Vec<&str> = REGISTRY
        .iter()
        .filter(|p| keep(p))
        .map(|p| p.name)
        .collect();
    names.join(", ")
}

#[cfg(test)]
mod tests;
