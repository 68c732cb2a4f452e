//! Embeddings: the embedder port, the offline embedder, and the generator that turns
//! stored chunks into vectors and items into `completed`.

mod bedrock;
mod generator;
mod offline;
mod openai;

pub use bedrock::{BedrockConfigError, BedrockEmbedder};
pub use generator::{EmbedReport, embed_chunks};
pub use offline::HashingEmbedder;
pub use openai::OpenAiEmbedder;

use crate::error::AppError;
use crate::ports::embed::Embedder;

/// The embedder the environment names: `EMBEDDING_PROVIDER` = `offline` (default),
/// `openai` (any OpenAI-compatible server: `EMBEDDING_BASE_URL`, else `OPENAI_BASE_URL`;
/// `OPENAI_API_KEY`) or `bedrock`
/// (the ambient AWS configuration, `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` locally), with
/// `EMBEDDING_MODEL_ID` and `EMBEDDING_DIMENSIONS` (default 1024).
pub async fn from_env() -> Result<Box<dyn Embedder>, AppError> {
    from_vars(|name| std::env::var(name).ok()).await
}

/// [`from_env`] over any source of variables.
pub async fn from_vars(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Box<dyn Embedder>, AppError> {
    let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let dimensions = match var("EMBEDDING_DIMENSIONS") {
        None => 1024,
        Some(text) => text.parse::<usize>().map_err(|_| {
            AppError::validation(format!(
                "EMBEDDING_DIMENSIONS must be a number, not {text:?}"
            ))
        })?,
    };
    match var("EMBEDDING_PROVIDER").as_deref().unwrap_or("offline") {
        "offline" => Ok(Box::new(HashingEmbedder::new(dimensions))),
        "openai" => {
            let model = var("EMBEDDING_MODEL_ID").ok_or_else(|| {
                AppError::validation("EMBEDDING_MODEL_ID is required for the openai provider")
            })?;
            let base = var("EMBEDDING_BASE_URL")
                .or_else(|| var("OPENAI_BASE_URL"))
                .unwrap_or_else(|| "https://api.openai.com/v1".to_owned());
            Ok(Box::new(OpenAiEmbedder::new(
                &base,
                var("OPENAI_API_KEY"),
                &model,
                dimensions,
            )))
        }
        "bedrock" => {
            let model = var("EMBEDDING_MODEL_ID")
                .unwrap_or_else(|| BedrockEmbedder::DEFAULT_MODEL.to_owned());
            let sdk = crate::adapters::aws::sdk_config().await;
            let endpoint = var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME");
            BedrockEmbedder::new(&sdk, endpoint.as_deref(), &model, dimensions)
                .map(|e| Box::new(e) as Box<dyn Embedder>)
                .map_err(|e| AppError::validation(e.to_string()))
        }
        other => Err(AppError::validation(format!(
            "EMBEDDING_PROVIDER {other:?} is not supported; use offline, openai or bedrock"
        ))),
    }
}
