//! Embeddings from OpenAI or any server that speaks its `/embeddings` API (Ollama, vLLM,
//! Azure OpenAI's compatible endpoint), honouring `429` with `Retry-After`.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::ports::embed::{EmbedError, Embedder};

pub struct OpenAiEmbedder {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    model: String,
    dimensions: usize,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("dimensions", &self.dimensions)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Embedding>,
}

#[derive(Deserialize)]
struct Embedding {
    index: usize,
    embedding: Vec<f32>,
}

impl OpenAiEmbedder {
    pub fn new(base_url: &str, api_key: Option<String>, model: &str, dimensions: usize) -> Self {
        Self {
            http: reqwest::Client::new(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            model: model.to_owned(),
            dimensions,
        }
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// OpenAI takes 2,048 texts but at most 300,000 tokens a request, which 2,048 chunks of
    /// 512 tokens exceed; 128 fit, and a small model on a CPU answers them within the
    /// request's timeout.
    fn max_batch(&self) -> usize {
        128
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut body = json!({ "model": self.model, "input": texts, "encoding_format": "float" });
        if self.model.starts_with("text-embedding-3") {
            body["dimensions"] = json!(self.dimensions);
        }
        let mut request = self
            .http
            .post(format!("{}/embeddings", self.base_url))
            .timeout(Duration::from_secs(60))
            .json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| EmbedError::Provider(e.to_string()))?;
        let status = response.status();
        if status.as_u16() == 429 {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(Duration::from_secs_f64);
            return Err(EmbedError::Throttled { retry_after });
        }
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            let detail: String = text.chars().take(300).collect();
            return Err(if status.is_server_error() {
                EmbedError::Provider(format!("HTTP {status}: {detail}"))
            } else {
                EmbedError::Rejected(format!("HTTP {status}: {detail}"))
            });
        }
        let mut parsed: Response = response
            .json()
            .await
            .map_err(|e| EmbedError::Provider(format!("unreadable response: {e}")))?;
        parsed.data.sort_by_key(|e| e.index);
        Ok(parsed.data.into_iter().map(|e| e.embedding).collect())
    }
}
