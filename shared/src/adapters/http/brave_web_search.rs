//! Brave Search API as the web search provider: `GET /res/v1/web/search?q=&count=` with
//! the key in `X-Subscription-Token`; results from `web.results[]` (`title`, `url`,
//! `description`). A 429 waits as long as `Retry-After` says, or else as long as the
//! exhausted window's `X-RateLimit-Reset`.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::ports::web_search::{MAX_RESULTS, SearchError, SearchHit, WebSearch};

pub const BRAVE_BASE_URL: &str = "https://api.search.brave.com";

pub struct BraveWebSearch {
    http: reqwest::Client,
    api_key: String,
    endpoint: String,
    timeout: Duration,
}

impl std::fmt::Debug for BraveWebSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BraveWebSearch")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl BraveWebSearch {
    /// `base_url` overrides `https://api.search.brave.com` (the path is appended).
    pub fn new(api_key: String, base_url: Option<&str>, timeout: Duration) -> Self {
        let base = base_url.unwrap_or(BRAVE_BASE_URL).trim_end_matches('/');
        Self {
            http: reqwest::Client::new(),
            api_key,
            endpoint: format!("{base}/res/v1/web/search"),
            timeout,
        }
    }
}

#[derive(Deserialize)]
struct Response {
    web: Option<Web>,
}

#[derive(Deserialize)]
struct Web {
    #[serde(default)]
    results: Vec<Hit>,
}

#[derive(Deserialize)]
struct Hit {
    title: String,
    url: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    detail: String,
}

#[async_trait]
impl WebSearch for BraveWebSearch {
    fn provider(&self) -> &str {
        "brave"
    }

    async fn search(&self, query: &str, max_results: usize) -> Result<Vec<SearchHit>, SearchError> {
        let count = max_results.clamp(1, MAX_RESULTS).to_string();
        let url = reqwest::Url::parse_with_params(
            &self.endpoint,
            [
                ("q", query),
                ("count", count.as_str()),
                ("text_decorations", "false"),
                ("result_filter", "web"),
            ],
        )
        .map_err(|e| SearchError::Unavailable {
            message: format!("the search endpoint {} is not a URL: {e}", self.endpoint),
        })?;
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .header("x-subscription-token", &self.api_key)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| SearchError::Unavailable {
                message: if e.is_timeout() {
                    format!("no answer within {:?}", self.timeout)
                } else {
                    format!("cannot reach Brave Search: {e}")
                },
            })?;
        let status = response.status();
        if status.is_success() {
            let body: Response = response
                .json()
                .await
                .map_err(|e| SearchError::Unavailable {
                    message: format!("an unreadable answer: {e}"),
                })?;
            return Ok(body
                .web
                .map(|w| w.results)
                .unwrap_or_default()
                .into_iter()
                .take(max_results)
                .map(|h| SearchHit {
                    title: h.title,
                    url: h.url,
                    snippet: h.description,
                })
                .collect());
        }
        let retry_after = retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        let message = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => format!("{} ({})", body.error.detail, body.error.code),
            Err(_) => format!(
                "HTTP {status}: {}",
                text.chars().take(200).collect::<String>()
            ),
        };
        Err(match status.as_u16() {
            429 => SearchError::RateLimited {
                retry_after,
                message,
            },
            401 | 403 => SearchError::Unauthorized { message },
            400..=499 => SearchError::Rejected { message },
            _ => SearchError::Unavailable { message },
        })
    }
}

/// `Retry-After` (seconds), or else the reset of the window that ran out: Brave sends one
/// comma-separated value per window in `X-RateLimit-Remaining` and `X-RateLimit-Reset`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let list = |name: &str| -> Vec<u64> {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_default()
    };
    if let Some(seconds) = list("retry-after").first() {
        return Some(Duration::from_secs(*seconds));
    }
    let (remaining, reset) = (list("x-ratelimit-remaining"), list("x-ratelimit-reset"));
    let exhausted = remaining
        .iter()
        .zip(&reset)
        .filter(|(left, _)| **left == 0)
        .map(|(_, reset)| *reset)
        .max();
    exhausted
        .or(reset.first().copied())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_wait_comes_from_retry_after_or_the_exhausted_window() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")])),
            Some(Duration::from_secs(7))
        );
        // The per-second window is spent: wait for it, not for the month's.
        assert_eq!(
            retry_after(&headers(&[
                ("x-ratelimit-remaining", "0, 14000"),
                ("x-ratelimit-reset", "1, 1419704")
            ])),
            Some(Duration::from_secs(1))
        );
        // The monthly quota is spent.
        assert_eq!(
            retry_after(&headers(&[
                ("x-ratelimit-remaining", "1, 0"),
                ("x-ratelimit-reset", "1, 86400")
            ])),
            Some(Duration::from_secs(86400))
        );
        assert_eq!(retry_after(&headers(&[])), None);
    }
}
