//! The web search port: a query in, ranked results out, with failures a caller can act on.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Longest query accepted (Brave's limit: 400 characters, 50 words).
pub const MAX_QUERY_CHARS: usize = 400;
/// Most results one call returns (Brave's `count` maximum).
pub const MAX_RESULTS: usize = 20;

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub title: String,
    pub url: String,
    pub snippet: String,
}

/// Why a search failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("the search provider is rate limiting requests{}: {message}", .retry_after.map(|d| format!(" (retry in {}s)", d.as_secs().max(1))).unwrap_or_default())]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("the search provider refused the API key: {message}")]
    Unauthorized { message: String },
    #[error("the search provider refused the query: {message}")]
    Rejected { message: String },
    #[error("the search provider is unavailable: {message}")]
    Unavailable { message: String },
}

impl SearchError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. })
    }
}

/// A web search provider.
#[async_trait]
pub trait WebSearch: Send + Sync {
    /// The provider's name (`brave`).
    fn provider(&self) -> &str;
    /// Up to `max_results` results for `query`, best first.
    async fn search(&self, query: &str, max_results: usize) -> Result<Vec<SearchHit>, SearchError>;
}
