//! OpenAI chat completions, streaming: the OpenAI API itself, Azure OpenAI deployments and
//! any OpenAI-compatible server (Ollama, vLLM, DeepSeek...), which differ only in address,
//! authentication and a few request fields.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use serde_json::{Value, json};

use super::stream::ChunkDecoder;
use crate::error::AppError;
use crate::ports::chat::{
    ChatModel, ChatRequest, ChatStream, ProviderError, ProviderSettings, ReasoningEffort, Role,
};
use crate::providers::http;

pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The GA Azure OpenAI API version that streams usage (`stream_options`).
pub const AZURE_API_VERSION: &str = "2024-10-21";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Flavor {
    OpenAi,
    Azure { api_version: String },
    Compatible,
}

/// A chat model reached over the chat completions API. The model (for Azure: the
/// deployment) is [`ChatRequest::model`].
pub struct OpenAiChat {
    flavor: Flavor,
    base: Url,
    api_key: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for OpenAiChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiChat")
            .field("flavor", &self.flavor)
            .field("base", &self.base.as_str())
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl OpenAiChat {
    /// The OpenAI API (`base_url` defaults to `https://api.openai.com/v1`); a key is required.
    pub fn openai(settings: &ProviderSettings) -> Result<Self, AppError> {
        let base = settings.base_url.as_deref().unwrap_or(OPENAI_BASE_URL);
        let chat = Self::new(Flavor::OpenAi, base, settings)?;
        if chat.api_key.is_none() {
            return Err(AppError::validation("the openai provider needs an API key"));
        }
        Ok(chat)
    }

    /// An Azure OpenAI resource: `base_url` is its endpoint
    /// (`https://<resource>.openai.azure.com`), models are deployment names, the key goes
    /// in the `api-key` header.
    pub fn azure(settings: &ProviderSettings) -> Result<Self, AppError> {
        let endpoint = settings.base_url.as_deref().ok_or_else(|| {
            AppError::validation("the azure provider needs its endpoint as base_url")
        })?;
        let api_version = settings
            .api_version
            .clone()
            .unwrap_or_else(|| AZURE_API_VERSION.to_owned());
        let chat = Self::new(Flavor::Azure { api_version }, endpoint, settings)?;
        if chat.api_key.is_none() {
            return Err(AppError::validation("the azure provider needs an API key"));
        }
        Ok(chat)
    }

    /// Any server speaking the chat completions API at `base_url` (e.g.
    /// `http://localhost:11434/v1` for Ollama); the key is optional.
    pub fn compatible(settings: &ProviderSettings) -> Result<Self, AppError> {
        let base = settings.base_url.as_deref().ok_or_else(|| {
            AppError::validation("the openai_compatible provider needs a base_url")
        })?;
        Self::new(Flavor::Compatible, base, settings)
    }

    fn new(flavor: Flavor, base: &str, settings: &ProviderSettings) -> Result<Self, AppError> {
        let base = Url::parse(base.trim_end_matches('/'))
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| AppError::validation(format!("{base:?} is not an http(s) URL")))?;
        Ok(Self {
            flavor,
            base,
            api_key: settings.api_key.clone().filter(|k| !k.trim().is_empty()),
            timeout: settings.timeout.unwrap_or(http::DEFAULT_TIMEOUT),
        })
    }

    fn url(&self, model: &str) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty();
            if matches!(self.flavor, Flavor::Azure { .. }) {
                segments.extend(["openai", "deployments", model]);
            }
            segments.extend(["chat", "completions"]);
        }
        if let Flavor::Azure { api_version } = &self.flavor {
            url.query_pairs_mut()
                .append_pair("api-version", api_version);
        }
        url
    }

    fn body(&self, request: &ChatRequest) -> Value {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if let Some(system) = &request.system {
            messages.push(json!({ "role": "system", "content": system }));
        }
        messages.extend(request.messages.iter().map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({ "role": role, "content": m.content })
        }));
        let mut body = json!({
            "model": request.model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        // OpenAI's reasoning models refuse `temperature` and `reasoning_effort` is an error
        // for its other models; Azure deployments and other servers are named freely, so
        // there the caller (who knows the model's capabilities) decides.
        let reasoning_model = match self.flavor {
            Flavor::OpenAi => is_openai_reasoning_model(&request.model),
            _ => true,
        };
        if let Some(max) = request.max_output_tokens {
            // Compatible servers (Ollama) know the older name; OpenAI deprecated it.
            let field = match self.flavor {
                Flavor::Compatible => "max_tokens",
                _ => "max_completion_tokens",
            };
            body[field] = json!(max);
        }
        if let Some(temperature) = request.temperature
            && !(self.flavor == Flavor::OpenAi && reasoning_model)
        {
            body["temperature"] = json!(temperature);
        }
        if let Some(effort) = request.reasoning_effort
            && reasoning_model
        {
            body["reasoning_effort"] = json!(match effort {
                ReasoningEffort::Low => "low",
                ReasoningEffort::Medium => "medium",
                ReasoningEffort::High => "high",
            });
        }
        body
    }
}

/// o1, o3, o4-mini, gpt-5 (but not `gpt-5-chat`, which does not reason).
fn is_openai_reasoning_model(model: &str) -> bool {
    let model = model.to_ascii_lowercase();
    ["o1", "o3", "o4"]
        .iter()
        .any(|family| model == *family || model.starts_with(&format!("{family}-")))
        || (model.starts_with("gpt-5") && !model.contains("-chat"))
}

#[async_trait]
impl ChatModel for OpenAiChat {
    fn provider(&self) -> &str {
        match self.flavor {
            Flavor::OpenAi => "openai",
            Flavor::Azure { .. } => "azure",
            Flavor::Compatible => "openai_compatible",
        }
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ProviderError> {
        let mut call = http::client()
            .post(self.url(&request.model))
            .header("accept", "text/event-stream")
            .json(&self.body(&request));
        if let Some(key) = &self.api_key {
            call = match self.flavor {
                Flavor::Azure { .. } => call.header("api-key", key),
                _ => call.bearer_auth(key),
            };
        }
        let response = http::send(call, self.timeout).await?;
        Ok(http::sse_stream(
            response,
            ChunkDecoder::default(),
            self.timeout,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::chat::ChatMessage;

    fn request(model: &str) -> ChatRequest {
        ChatRequest {
            model: model.into(),
            system: Some("Be brief.".into()),
            messages: vec![ChatMessage::user("Hi")],
            max_output_tokens: Some(100),
            temperature: Some(0.2),
            reasoning_effort: Some(ReasoningEffort::High),
        }
    }

    #[test]
    fn reasoning_effort_goes_only_to_openai_reasoning_models() {
        let settings = ProviderSettings {
            api_key: Some("sk-test".into()),
            ..Default::default()
        };
        let openai = OpenAiChat::openai(&settings).unwrap();
        let body = openai.body(&request("o4-mini"));
        assert_eq!(body["reasoning_effort"], "high");
        assert_eq!(body["max_completion_tokens"], 100);
        assert!(body.get("temperature").is_none());
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["stream_options"]["include_usage"], true);

        let body = openai.body(&request("gpt-4o-mini"));
        assert!(body.get("reasoning_effort").is_none());
        assert!((body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
        assert!(is_openai_reasoning_model("gpt-5-mini"));
        assert!(!is_openai_reasoning_model("gpt-5-chat-latest"));
        assert!(!is_openai_reasoning_model("o1x"));
    }

    #[test]
    fn azure_addresses_the_deployment_with_the_api_version() {
        let azure = OpenAiChat::azure(&ProviderSettings {
            base_url: Some("https://acme.openai.azure.com/".into()),
            api_key: Some("k".into()),
            api_version: Some("2025-01-01-preview".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            azure.url("gpt-4o prod").as_str(),
            "https://acme.openai.azure.com/openai/deployments/gpt-4o%20prod/chat/completions?api-version=2025-01-01-preview"
        );
        let compatible = OpenAiChat::compatible(&ProviderSettings {
            base_url: Some("http://localhost:11434/v1/".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            compatible.url("llama3").as_str(),
            "http://localhost:11434/v1/chat/completions"
        );
        assert!(
            compatible
                .body(&request("llama3"))
                .get("max_tokens")
                .is_some()
        );
    }

    #[test]
    fn missing_keys_and_addresses_are_refused_up_front() {
        assert!(OpenAiChat::openai(&ProviderSettings::default()).is_err());
        assert!(OpenAiChat::compatible(&ProviderSettings::default()).is_err());
        assert!(
            OpenAiChat::compatible(&ProviderSettings {
                base_url: Some("ftp://x".into()),
                ..Default::default()
            })
            .is_err()
        );
    }
}
