//! Embeddings: the embedder port, the offline embedder, and the generator that turns
//! stored chunks into vectors and items into `completed`.

mod generator;

pub use generator::{EmbedReport, embed_chunks};

use crate::config::Env;
use crate::error::AppError;
use crate::ports::chat::ProviderSettings;
use crate::ports::embed::Embedder;
use crate::providers::{self, EmbeddingAdapter, EmbeddingSettings};
use crate::settings::catalogue::env_name;

/// The embedder the environment names: `EMBEDDING_PROVIDER` (default `offline`) is a
/// registered provider with embeddings ([`crate::providers::REGISTRY`]), `EMBEDDING_MODEL_ID`
/// its model and `EMBEDDING_DIMENSIONS` the vector size (default 1024). The provider's
/// settings come from its variables (`OPENAI_API_KEY`, `BEDROCK_REGION`...); its base
/// URL from the variables it names first ([`providers::EmbeddingAdapter::base_url_from`]).
pub async fn from_env() -> Result<Box<dyn Embedder>, AppError> {
    from_vars(|name| std::env::var(name).ok()).await
}

/// [`from_env`] over any source of variables.
pub async fn from_vars(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Box<dyn Embedder>, AppError> {
    let (adapter, settings) = read(&Env::new(lookup))?;
    (adapter.build)(&settings).await
}

fn read(env: &Env<'_>) -> Result<(&'static EmbeddingAdapter, EmbeddingSettings), AppError> {
    let dimensions = match env.optional("EMBEDDING_DIMENSIONS") {
        None => 1024,
        Some(text) => text.trim().parse::<usize>().map_err(|_| {
            AppError::validation(format!(
                "EMBEDDING_DIMENSIONS must be a number, not {text:?}"
            ))
        })?,
    };
    let name = env
        .optional("EMBEDDING_PROVIDER")
        .map_or_else(|| "offline".to_owned(), |name| name.trim().to_owned());
    let adapter = providers::embedding_provider(&name)?;
    let setting = |field: &str| env.optional(&env_name(&format!("{name}.{field}")));
    let settings = EmbeddingSettings {
        provider: ProviderSettings {
            base_url: adapter
                .base_url_from
                .iter()
                .find_map(|name| env.optional(name))
                .or_else(|| setting("base_url")),
            api_key: setting("api_key"),
            api_version: setting("api_version"),
            region: setting("region"),
            timeout: None,
        },
        model_id: env.optional("EMBEDDING_MODEL_ID"),
        dimensions,
    };
    Ok((adapter, settings))
}
