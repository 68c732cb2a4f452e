//! The embedding port: texts in, vectors of one model out.

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The provider asked us to slow down; `retry_after` is its hint when it gave one.
    #[error("the embedding provider is throttling requests")]
    Throttled {
        retry_after: Option<std::time::Duration>,
    },
    #[error("the embedding provider failed: {0}")]
    Provider(String),
    #[error("the embedding provider refused the input: {0}")]
    Rejected(String),
}

impl EmbedError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Provider(_))
    }
}

/// Turns texts into vectors with one model.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// The model id stored with each vector (`embeddings.model`).
    fn model(&self) -> &str;
    fn dimensions(&self) -> usize;
    /// How many texts one call may carry (Titan v2: 1, Cohere on Bedrock: 96, OpenAI: 128).
    fn max_batch(&self) -> usize;
    /// One vector per text, in order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
}
