//! A provider for the registry's own tests, added as `docs/adding-a-provider.md` says: this
//! folder and one line in [`super::REGISTRY`]. Chat repeats the last user message; an
//! embedding is the text's length, one-hot. It needs an `echo.api_key`, so the settings it
//! declares are read the way a real provider's are.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream;

use super::{ChatAdapter, EmbeddingAdapter, Provider, Setting};
use crate::error::AppError;
use crate::ports::chat::{
    ChatEvent, ChatModel, ChatRequest, ChatStream, FinishReason, ProviderError, Role,
};
use crate::ports::embed::{EmbedError, Embedder};

pub static PROVIDER: Provider = Provider {
    name: "echo",
    settings: &[Setting {
        field: "api_key",
        secret: true,
        description: "Echo API key",
    }],
    chat: Some(ChatAdapter {
        build: |settings| {
            Box::pin(async move {
                match &settings.api_key {
                    Some(_) => Ok(Arc::new(EchoChat) as _),
                    None => Err(AppError::validation("the echo provider needs an API key")),
                }
            })
        },
        address: |_| None,
    }),
    embeddings: Some(EmbeddingAdapter {
        base_url_from: &[],
        build: |settings| {
            let dimensions = settings.dimensions.max(1);
            Box::pin(async move { Ok(Box::new(EchoEmbedder { dimensions }) as _) })
        },
    }),
};

struct EchoChat;

#[async_trait]
impl ChatModel for EchoChat {
    fn provider(&self) -> &str {
        PROVIDER.name
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ProviderError> {
        let last = request
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let events = [
            ChatEvent::TextDelta(last),
            ChatEvent::Finish(FinishReason::Stop),
        ];
        Ok(Box::pin(stream::iter(events.map(Ok))))
    }
}

struct EchoEmbedder {
    dimensions: usize,
}

#[async_trait]
impl Embedder for EchoEmbedder {
    fn model(&self) -> &str {
        "echo-length"
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    fn max_batch(&self) -> usize {
        64
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts
            .iter()
            .map(|text| {
                let mut vector = vec![0.0; self.dimensions];
                vector[text.chars().count() % self.dimensions] = 1.0;
                vector
            })
            .collect())
    }
}
