//! Tools a prompt can enable, called by name with JSON input: `web_search` (through the
//! [`WebSearch`] port, one real provider: Brave Search) and `fetch_page` (the SSRF-guarded
//! fetch plus HTML main-content extraction, capped).

mod fetch_page;
mod web_search;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::ConfigError;
use crate::error::{AppError, ErrorCode};
use crate::fetch::FetchPolicy;

pub use crate::adapters::http::BraveWebSearch;
pub use fetch_page::{FetchedPage, PageLimits, fetch_page};
pub use web_search::{SearchError, SearchHit, WebSearch, WebSearchConfig, web_search_from};

/// A tool by the name prompts enable it with (`assistant_prompts.enabled_tools`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    WebSearch,
    FetchPage,
}

impl Tool {
    pub const ALL: [Tool; 2] = [Tool::WebSearch, Tool::FetchPage];

    pub fn name(self) -> &'static str {
        match self {
            Self::WebSearch => "web_search",
            Self::FetchPage => "fetch_page",
        }
    }

    pub fn parse(name: &str) -> Result<Self, ToolError> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| ToolError::UnknownTool(name.to_owned()))
    }

    /// The tool as a model sees it: name, description and a JSON Schema of its input.
    pub fn definition(self) -> Value {
        match self {
            Self::WebSearch => json!({
                "name": "web_search",
                "description": "Search the web. Returns up to maxResults results with title, url and snippet.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "query": { "type": "string", "description": "What to search for", "maxLength": web_search::MAX_QUERY_CHARS },
                        "maxResults": { "type": "integer", "minimum": 1, "maximum": web_search::MAX_RESULTS, "default": 5 }
                    },
                    "required": ["query"]
                }
            }),
            Self::FetchPage => json!({
                "name": "fetch_page",
                "description": "Fetch a public web page and return its main text (navigation, scripts and footers removed).",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "url": { "type": "string", "description": "An http or https URL" },
                        "maxChars": { "type": "integer", "minimum": 1, "maximum": fetch_page::MAX_CHARS_LIMIT }
                    },
                    "required": ["url"]
                }
            }),
        }
    }
}

/// Why a tool call failed. The chain runner records the message as the tool's result.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("there is no tool named {0:?} (tools: web_search, fetch_page)")]
    UnknownTool(String),
    #[error("invalid input for {tool}: {message}")]
    InvalidInput { tool: &'static str, message: String },
    #[error("{tool} is not configured: {reason}")]
    NotConfigured { tool: &'static str, reason: String },
    #[error(transparent)]
    Search(#[from] SearchError),
    /// The page was refused (an internal address, too large) or could not be read.
    #[error("{}", .0.message)]
    Page(AppError),
}

impl ToolError {
    /// Whether calling again later might succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Search(error) => error.is_transient(),
            Self::Page(error) => error.is_retryable(),
            _ => false,
        }
    }
}

impl From<ToolError> for AppError {
    fn from(error: ToolError) -> Self {
        let message = error.to_string();
        match error {
            ToolError::UnknownTool(_) | ToolError::InvalidInput { .. } => {
                AppError::validation(message)
            }
            ToolError::NotConfigured { .. } => AppError::new(ErrorCode::Unavailable, message),
            ToolError::Search(SearchError::RateLimited { retry_after, .. }) => {
                let error = AppError::new(ErrorCode::RateLimited, message);
                match retry_after {
                    Some(wait) => {
                        error.with_details(json!({ "retryAfterSeconds": wait.as_secs().max(1) }))
                    }
                    None => error,
                }
            }
            ToolError::Search(SearchError::Unavailable { .. }) => {
                AppError::new(ErrorCode::Unavailable, message)
            }
            ToolError::Search(_) => AppError::new(ErrorCode::ProviderError, message),
            ToolError::Page(error) => error,
        }
    }
}

/// The tools available to a run: web search when a provider is configured, page fetch always.
#[derive(Clone)]
pub struct Tools {
    web_search: Option<Arc<dyn WebSearch>>,
    fetch_policy: FetchPolicy,
    page_limits: PageLimits,
}

impl std::fmt::Debug for Tools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tools")
            .field(
                "web_search",
                &self.web_search.as_ref().map(|s| s.provider().to_owned()),
            )
            .field("fetch_policy", &self.fetch_policy)
            .field("page_limits", &self.page_limits)
            .finish()
    }
}

impl Tools {
    pub fn new(web_search: Option<Arc<dyn WebSearch>>, fetch_policy: FetchPolicy) -> Self {
        Self {
            web_search,
            fetch_policy,
            page_limits: PageLimits::default(),
        }
    }

    /// Web search from `WEB_SEARCH_*` (see [`WebSearchConfig::from_env`]); fetches under the
    /// default policy, a page read in at most 15 seconds and 5 MB.
    pub fn from_env() -> Result<Self, ConfigError> {
        let web_search = match WebSearchConfig::from_env()? {
            Some(config) => Some(web_search_from(&config)?),
            None => None,
        };
        Ok(Self::new(
            web_search,
            FetchPolicy {
                max_bytes: 5 * 1024 * 1024,
                timeout: Duration::from_secs(15),
                ..FetchPolicy::default()
            },
        ))
    }

    pub fn with_page_limits(mut self, limits: PageLimits) -> Self {
        self.page_limits = limits;
        self
    }

    /// The tools that can run now (web search only with a provider).
    pub fn available(&self) -> Vec<Tool> {
        Tool::ALL
            .into_iter()
            .filter(|t| *t != Tool::WebSearch || self.web_search.is_some())
            .collect()
    }

    /// Runs the tool `name` on `input` (its JSON arguments).
    pub async fn run(&self, name: &str, input: Value) -> Result<Value, ToolError> {
        match Tool::parse(name)? {
            Tool::WebSearch => {
                let search =
                    self.web_search
                        .as_deref()
                        .ok_or_else(|| ToolError::NotConfigured {
                            tool: "web_search",
                            reason: "no search provider is set (WEB_SEARCH_PROVIDER)".to_owned(),
                        })?;
                web_search::run(search, &input).await
            }
            Tool::FetchPage => fetch_page::run(&self.fetch_policy, &self.page_limits, &input).await,
        }
    }
}
