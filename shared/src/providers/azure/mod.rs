//! Azure OpenAI: deployments of OpenAI models behind a resource's endpoint, reached with
//! the chat completions adapter in its Azure flavour (deployment in the path, `api-key`
//! header, `api-version`).

use std::sync::Arc;

use super::openai::OpenAiChat;
use super::{ChatAdapter, Provider, Setting};

pub static PROVIDER: Provider = Provider {
    name: "azure",
    settings: &[
        Setting {
            field: "api_key",
            secret: true,
            description: "Azure OpenAI API key",
        },
        Setting {
            field: "base_url",
            secret: false,
            description: "Azure OpenAI endpoint, https://<resource>.openai.azure.com",
        },
        Setting {
            field: "api_version",
            secret: false,
            description: "Azure OpenAI api-version",
        },
    ],
    chat: Some(ChatAdapter {
        build: |settings| Box::pin(async move { Ok(Arc::new(OpenAiChat::azure(settings)?) as _) }),
        address: |settings| settings.base_url.clone(),
    }),
    embeddings: None,
};
