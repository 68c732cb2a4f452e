//! Embeddings on Amazon Bedrock through InvokeModel: Titan Text Embeddings v2 (one text per
//! call, calls for a batch run concurrently) and Cohere Embed v3 (up to 96 texts per call).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_bedrockruntime::primitives::Blob;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use serde_json::{Value, json};

use super::runtime::{self as bedrock, Failure};
use crate::ports::embed::{EmbedError, Embedder};

/// Titan v2 texts per `embed` call: the generator writes vectors after each call, so this
/// bounds what a throttled call makes us redo.
const TITAN_BATCH: usize = 32;
/// Concurrent InvokeModel calls for one Titan batch (Bedrock's default quota is
/// thousands of requests per minute; several messages are embedded at once too).
const TITAN_CONCURRENCY: usize = 8;
/// Cohere Embed on Bedrock takes at most 96 texts per call.
const COHERE_BATCH: usize = 96;
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    TitanV2,
    CohereV3,
}

impl Family {
    fn of(model: &str) -> Option<Self> {
        // Model ids may carry a region prefix (inference profiles) or be ARNs.
        if model.contains("amazon.titan-embed-text-v2") {
            Some(Self::TitanV2)
        } else if model.contains("cohere.embed-english-v3")
            || model.contains("cohere.embed-multilingual-v3")
        {
            Some(Self::CohereV3)
        } else {
            None
        }
    }

    fn dimensions_allowed(self) -> &'static [usize] {
        match self {
            Self::TitanV2 => &[256, 512, 1024],
            Self::CohereV3 => &[1024],
        }
    }
}

pub struct BedrockEmbedder {
    client: aws_sdk_bedrockruntime::Client,
    model: String,
    family: Family,
    dimensions: usize,
    concurrency: usize,
}

impl std::fmt::Debug for BedrockEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BedrockEmbedder")
            .field("model", &self.model)
            .field("dimensions", &self.dimensions)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

/// Why a Bedrock embedder cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BedrockConfigError {
    #[error(
        "embedding model {0:?} is not supported on Bedrock; use amazon.titan-embed-text-v2:0, cohere.embed-english-v3 or cohere.embed-multilingual-v3"
    )]
    UnsupportedModel(String),
    #[error("{model} makes vectors of {allowed:?} dimensions, not {dimensions}")]
    Dimensions {
        model: String,
        dimensions: usize,
        allowed: &'static [usize],
    },
}

#[derive(Deserialize)]
struct TitanResponse {
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct CohereResponse {
    embeddings: CohereEmbeddings,
}

/// `embeddings_floats` answers a list; `embeddings_by_type` an object keyed by type.
#[derive(Deserialize)]
#[serde(untagged)]
enum CohereEmbeddings {
    Floats(Vec<Vec<f32>>),
    ByType { float: Vec<Vec<f32>> },
}

impl BedrockEmbedder {
    pub const DEFAULT_MODEL: &'static str = "amazon.titan-embed-text-v2:0";

    /// An embedder for `model` on the Bedrock Runtime of `sdk` (`endpoint` overrides its URL).
    pub fn new(
        sdk: &aws_config::SdkConfig,
        endpoint: Option<&str>,
        model: &str,
        dimensions: usize,
    ) -> Result<Self, BedrockConfigError> {
        let family =
            Family::of(model).ok_or_else(|| BedrockConfigError::UnsupportedModel(model.into()))?;
        if !family.dimensions_allowed().contains(&dimensions) {
            return Err(BedrockConfigError::Dimensions {
                model: model.to_owned(),
                dimensions,
                allowed: family.dimensions_allowed(),
            });
        }
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(bedrock::CONNECT_TIMEOUT)
            .operation_attempt_timeout(CALL_TIMEOUT)
            .build();
        Ok(Self {
            client: bedrock::runtime_client(sdk, endpoint, timeouts),
            model: model.to_owned(),
            family,
            dimensions,
            concurrency: TITAN_CONCURRENCY,
        })
    }

    /// At most `concurrency` Titan calls in flight for one batch.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    async fn invoke(&self, body: &Value) -> Result<Vec<u8>, EmbedError> {
        let output = self
            .client
            .invoke_model()
            .model_id(&self.model)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body.to_string()))
            .send()
            .await
            .map_err(|error| {
                let classified = bedrock::classify(&error);
                match classified.failure {
                    Failure::Throttled => EmbedError::Throttled { retry_after: None },
                    Failure::Rejected | Failure::Unauthorized => {
                        EmbedError::Rejected(classified.message)
                    }
                    Failure::Unavailable | Failure::TimedOut => {
                        EmbedError::Provider(classified.message)
                    }
                }
            })?;
        Ok(output.body.into_inner())
    }

    async fn titan(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let body = json!({ "inputText": text, "dimensions": self.dimensions, "normalize": true });
        let bytes = self.invoke(&body).await?;
        let response: TitanResponse = serde_json::from_slice(&bytes)
            .map_err(|e| EmbedError::Provider(format!("unreadable Titan response: {e}")))?;
        Ok(response.embedding)
    }

    async fn cohere(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let body = json!({ "texts": texts, "input_type": "search_document", "truncate": "END" });
        let bytes = self.invoke(&body).await?;
        let response: CohereResponse = serde_json::from_slice(&bytes)
            .map_err(|e| EmbedError::Provider(format!("unreadable Cohere response: {e}")))?;
        Ok(match response.embeddings {
            CohereEmbeddings::Floats(vectors) | CohereEmbeddings::ByType { float: vectors } => {
                vectors
            }
        })
    }
}

#[async_trait]
impl Embedder for BedrockEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    fn max_batch(&self) -> usize {
        match self.family {
            Family::TitanV2 => TITAN_BATCH,
            Family::CohereV3 => COHERE_BATCH,
        }
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        match self.family {
            // `buffered` keeps the order of the texts whatever order the calls finish in,
            // and the first failure drops the calls still in flight.
            Family::TitanV2 => {
                let calls: Vec<_> = texts.iter().map(|text| self.titan(text)).collect();
                stream::iter(calls)
                    .buffered(self.concurrency)
                    .try_collect()
                    .await
            }
            Family::CohereV3 => {
                let mut vectors = Vec::with_capacity(texts.len());
                for batch in texts.chunks(COHERE_BATCH) {
                    vectors.extend(self.cohere(batch).await?);
                }
                Ok(vectors)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_families_and_their_dimensions_are_checked_when_built() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let titan = BedrockEmbedder::new(&sdk, None, "amazon.titan-embed-text-v2:0", 512);
        assert_eq!(titan.map(|e| e.max_batch()).ok(), Some(TITAN_BATCH));
        let cohere = BedrockEmbedder::new(&sdk, None, "cohere.embed-multilingual-v3", 1024);
        assert_eq!(cohere.map(|e| e.max_batch()).ok(), Some(96));
        let wrong = BedrockEmbedder::new(&sdk, None, "cohere.embed-english-v3", 768);
        assert!(
            wrong
                .err()
                .is_some_and(|e| e.to_string().contains("[1024] dimensions, not 768"))
        );
        assert!(matches!(
            BedrockEmbedder::new(&sdk, None, "amazon.titan-embed-text-v1", 1024),
            Err(BedrockConfigError::UnsupportedModel(_))
        ));
    }
}
