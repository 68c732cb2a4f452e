//! Google Gemini: `streamGenerateContent` over server-sent events.

mod chat;

pub use chat::{GEMINI_BASE_URL, GeminiChat};

use std::sync::Arc;

use super::{ChatAdapter, Provider, Setting};

pub static PROVIDER: Provider = Provider {
    name: "gemini",
    settings: &[
        Setting {
            field: "api_key",
            secret: true,
            description: "Google Gemini API key",
        },
        Setting {
            field: "base_url",
            secret: false,
            description: "Gemini API base URL",
        },
    ],
    chat: Some(ChatAdapter {
        build: |settings| Box::pin(async move { Ok(Arc::new(GeminiChat::new(settings)?) as _) }),
        address: |settings| {
            Some(
                settings
                    .base_url
                    .clone()
                    .unwrap_or_else(|| GEMINI_BASE_URL.to_owned()),
            )
        },
    }),
    embeddings: None,
};
