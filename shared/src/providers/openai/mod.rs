//! OpenAI: chat completions (streamed; Azure and OpenAI-compatible servers reuse the
//! adapter in their own flavour) and `/embeddings`.

mod chat;
mod embed;
mod stream;

pub use chat::{AZURE_API_VERSION, OPENAI_BASE_URL, OpenAiChat};
pub use embed::OpenAiEmbedder;

use std::sync::Arc;

use super::{ChatAdapter, EmbeddingAdapter, Provider, Setting};

pub static PROVIDER: Provider = Provider {
    name: "openai",
    settings: &[
        Setting {
            field: "api_key",
            secret: true,
            description: "OpenAI API key",
        },
        Setting {
            field: "base_url",
            secret: false,
            description: "OpenAI API base URL (default https://api.openai.com/v1)",
        },
    ],
    chat: Some(ChatAdapter {
        build: |settings| Box::pin(async move { Ok(Arc::new(OpenAiChat::openai(settings)?) as _) }),
        address: |settings| {
            Some(
                settings
                    .base_url
                    .clone()
                    .unwrap_or_else(|| OPENAI_BASE_URL.to_owned()),
            )
        },
    }),
    // Any server speaking OpenAI's `/embeddings`: OpenAI, Ollama, vLLM, the local stack's
    // model.
    embeddings: Some(EmbeddingAdapter {
        base_url_from: &["EMBEDDING_BASE_URL"],
        build: |settings| {
            Box::pin(async move {
                let model = settings.model_id.as_deref().ok_or_else(|| {
                    crate::error::AppError::validation(
                        "EMBEDDING_MODEL_ID is required for the openai provider",
                    )
                })?;
                let base = settings
                    .provider
                    .base_url
                    .as_deref()
                    .unwrap_or(OPENAI_BASE_URL);
                let embedder = OpenAiEmbedder::new(
                    base,
                    settings.provider.api_key.clone(),
                    model,
                    settings.dimensions,
                );
                Ok(Box::new(embedder) as _)
            })
        },
    }),
};
