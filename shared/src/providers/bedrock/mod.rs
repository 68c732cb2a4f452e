//! Amazon Bedrock through the AWS SDK with the function's role: chat over ConverseStream,
//! embeddings from Titan Text v2 and Cohere v3.

mod chat;
mod embed;
mod runtime;

pub use chat::BedrockChat;
pub use embed::{BedrockConfigError, BedrockEmbedder};

use std::sync::Arc;

use super::{ChatAdapter, EmbeddingAdapter, Provider, Setting};
use crate::error::AppError;

pub static PROVIDER: Provider = Provider {
    name: "bedrock",
    settings: &[Setting {
        field: "region",
        secret: false,
        description: "AWS region for Bedrock (default: the function's region)",
    }],
    chat: Some(ChatAdapter {
        build: |settings| {
            Box::pin(async move { Ok(Arc::new(BedrockChat::from_settings(settings).await) as _) })
        },
        address: |settings| {
            let place = settings.base_url.as_ref().or(settings.region.as_ref());
            Some(format!("bedrock:{}", place.map_or("", String::as_str)))
        },
    }),
    embeddings: Some(EmbeddingAdapter {
        base_url_from: &["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"],
        build: |settings| {
            Box::pin(async move {
                let model = settings
                    .model_id
                    .as_deref()
                    .unwrap_or(BedrockEmbedder::DEFAULT_MODEL);
                let sdk = runtime::sdk_config(&settings.provider).await;
                let endpoint = settings.provider.base_url.as_deref();
                BedrockEmbedder::new(&sdk, endpoint, model, settings.dimensions)
                    .map(|embedder| Box::new(embedder) as _)
                    .map_err(|e| AppError::validation(e.to_string()))
            })
        },
    }),
};
