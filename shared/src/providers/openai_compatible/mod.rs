//! Any server speaking OpenAI's chat completions API at a base URL of its own (Ollama,
//! vLLM, LM Studio, DeepSeek...); the key is optional.

use std::sync::Arc;

use super::openai::OpenAiChat;
use super::{ChatAdapter, Provider, Setting};

pub static PROVIDER: Provider = Provider {
    name: "openai_compatible",
    settings: &[
        Setting {
            field: "base_url",
            secret: false,
            description: "Base URL of an OpenAI-compatible server (Ollama, vLLM)",
        },
        Setting {
            field: "api_key",
            secret: true,
            description: "API key of the OpenAI-compatible server, if it needs one",
        },
    ],
    chat: Some(ChatAdapter {
        build: |settings| {
            Box::pin(async move { Ok(Arc::new(OpenAiChat::compatible(settings)?) as _) })
        },
        address: |settings| settings.base_url.clone(),
    }),
    embeddings: None,
};
