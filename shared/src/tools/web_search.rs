//! Web search: its configuration, the adapter it names and the `web_search` tool's input
//! handling (the port is [`crate::ports::web_search`]).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::ToolError;
use crate::adapters::http::BraveWebSearch;
use crate::config::ConfigError;
pub use crate::ports::web_search::{
    MAX_QUERY_CHARS, MAX_RESULTS, SearchError, SearchHit, WebSearch,
};

/// Which provider to call and how. The settings store resolves these (DB first, then
/// `WEB_SEARCH_PROVIDER`, `WEB_SEARCH_API_KEY`, `WEB_SEARCH_BASE_URL`).
#[derive(Clone, PartialEq, Eq)]
pub struct WebSearchConfig {
    /// `brave`.
    pub provider: String,
    pub api_key: Option<String>,
    /// Overrides the provider's address (a mock, a proxy).
    pub base_url: Option<String>,
    pub timeout: Duration,
}

impl std::fmt::Debug for WebSearchConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSearchConfig")
            .field("provider", &self.provider)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl WebSearchConfig {
    /// From the process environment; `None` when `WEB_SEARCH_PROVIDER` is unset or `none`.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let value = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        match value("WEB_SEARCH_PROVIDER").as_deref() {
            None | Some("none") => Ok(None),
            Some("brave") => Ok(Some(Self {
                provider: "brave".to_owned(),
                api_key: Some(
                    value("WEB_SEARCH_API_KEY")
                        .ok_or(ConfigError::Missing(vec!["WEB_SEARCH_API_KEY"]))?,
                ),
                base_url: value("WEB_SEARCH_BASE_URL"),
                timeout: Duration::from_secs(15),
            })),
            Some(other) => Err(ConfigError::Invalid {
                name: "WEB_SEARCH_PROVIDER",
                reason: format!("{other:?} is not one of brave, none"),
            }),
        }
    }
}

/// The adapter for `config.provider`.
pub fn web_search_from(config: &WebSearchConfig) -> Result<Arc<dyn WebSearch>, ConfigError> {
    match config.provider.as_str() {
        "brave" => {
            let key = config
                .api_key
                .clone()
                .ok_or(ConfigError::Missing(vec!["WEB_SEARCH_API_KEY"]))?;
            Ok(Arc::new(BraveWebSearch::new(
                key,
                config.base_url.as_deref(),
                config.timeout,
            )))
        }
        other => Err(ConfigError::Invalid {
            name: "WEB_SEARCH_PROVIDER",
            reason: format!("{other:?} is not one of brave, none"),
        }),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Input {
    query: String,
    max_results: Option<usize>,
}

/// The `web_search` tool: `{query, maxResults?}` -> `{query, provider, results: [...]}`.
pub(super) async fn run(search: &dyn WebSearch, input: &Value) -> Result<Value, ToolError> {
    let invalid = |message: String| ToolError::InvalidInput {
        tool: "web_search",
        message,
    };
    let input: Input = serde_json::from_value(input.clone()).map_err(|e| invalid(e.to_string()))?;
    let query = input.query.trim();
    if query.is_empty() {
        return Err(invalid("the query is empty".to_owned()));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(invalid(format!(
            "the query is over {MAX_QUERY_CHARS} characters"
        )));
    }
    let max_results = input.max_results.unwrap_or(5);
    if !(1..=MAX_RESULTS).contains(&max_results) {
        return Err(invalid(format!("maxResults is 1 to {MAX_RESULTS}")));
    }
    let results = search.search(query, max_results).await?;
    Ok(json!({ "query": query, "provider": search.provider(), "results": results }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Option<WebSearchConfig>, ConfigError> {
        WebSearchConfig::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_provider_key_and_address_come_from_the_environment_and_the_key_is_never_printed() {
        assert_eq!(config(&[]), Ok(None));
        assert_eq!(config(&[("WEB_SEARCH_PROVIDER", "none")]), Ok(None));
        assert_eq!(
            config(&[("WEB_SEARCH_PROVIDER", "brave")]),
            Err(ConfigError::Missing(vec!["WEB_SEARCH_API_KEY"]))
        );
        assert!(matches!(
            config(&[("WEB_SEARCH_PROVIDER", "bing"), ("WEB_SEARCH_API_KEY", "k")]),
            Err(ConfigError::Invalid {
                name: "WEB_SEARCH_PROVIDER",
                ..
            })
        ));
        let brave = config(&[
            ("WEB_SEARCH_PROVIDER", "brave"),
            ("WEB_SEARCH_API_KEY", "secret-key-123"),
            ("WEB_SEARCH_BASE_URL", "http://127.0.0.1:9999"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(brave.base_url.as_deref(), Some("http://127.0.0.1:9999"));
        assert!(web_search_from(&brave).is_ok());
        let printed = format!("{brave:?}");
        assert!(!printed.contains("secret-key-123"), "{printed}");
    }
}
