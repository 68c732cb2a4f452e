//! The `fetch_page` tool: the ingestion fetch (SSRF guard, redirects re-checked, size and
//! time capped), then the extractor (HTML main content, or any document type it reads),
//! returning readable text cut to a size a prompt can hold.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ToolError;
use crate::error::{AppError, ErrorCode};
use crate::extract::{Limits, extract_document};
use crate::fetch::{FetchPolicy, fetch};

/// Largest `maxChars` a call may ask for.
pub const MAX_CHARS_LIMIT: usize = 100_000;

/// How much text a page may give a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    /// When the call names no `maxChars`.
    pub default_chars: usize,
    pub max_chars: usize,
}

impl Default for PageLimits {
    fn default() -> Self {
        Self {
            default_chars: 20_000,
            max_chars: MAX_CHARS_LIMIT,
        }
    }
}

/// A page's readable text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchedPage {
    /// The URL after redirects.
    pub url: String,
    pub title: Option<String>,
    pub content_type: Option<String>,
    pub text: String,
    /// The text was cut at `maxChars`.
    pub truncated: bool,
}

/// Fetches `url` under `policy` and returns at most `max_chars` characters of its text.
pub async fn fetch_page(
    url: &str,
    policy: &FetchPolicy,
    max_chars: usize,
) -> Result<FetchedPage, ToolError> {
    let fetched = fetch(url, policy).await.map_err(ToolError::Page)?;
    let file_name = fetched
        .url
        .split(['?', '#'])
        .next()
        .and_then(|path| path.rsplit('/').next())
        .filter(|name| name.contains('.'))
        .unwrap_or("page.html")
        .to_owned();
    let (bytes, content_type) = (fetched.bytes, fetched.content_type.clone());
    let extracted = tokio::task::spawn_blocking(move || {
        let limits = Limits {
            max_chars: MAX_CHARS_LIMIT * 20,
            ..Limits::default()
        };
        extract_document(&bytes, &file_name, content_type.as_deref(), &limits)
    })
    .await
    .map_err(|e| {
        ToolError::Page(AppError::internal("Extraction stopped unexpectedly").caused_by(e))
    })?
    .map_err(|e| ToolError::Page(e.into()))?;
    if extracted.needs_ocr {
        return Err(ToolError::Page(AppError::new(
            ErrorCode::UnsupportedMedia,
            "The page is an image or a scan; it has no text to read",
        )));
    }
    let all: String = extracted
        .pages
        .iter()
        .map(|p| p.text.trim())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let truncated = all.chars().count() > max_chars;
    let text = if truncated {
        all.chars().take(max_chars).collect()
    } else {
        all
    };
    Ok(FetchedPage {
        url: fetched.url,
        title: extracted.title,
        content_type: fetched.content_type,
        text,
        truncated,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Input {
    url: String,
    max_chars: Option<usize>,
}

/// The `fetch_page` tool: `{url, maxChars?}` -> [`FetchedPage`] as JSON.
pub(super) async fn run(
    policy: &FetchPolicy,
    limits: &PageLimits,
    input: &Value,
) -> Result<Value, ToolError> {
    let invalid = |message: String| ToolError::InvalidInput {
        tool: "fetch_page",
        message,
    };
    let input: Input = serde_json::from_value(input.clone()).map_err(|e| invalid(e.to_string()))?;
    let max_chars = input.max_chars.unwrap_or(limits.default_chars);
    if !(1..=limits.max_chars).contains(&max_chars) {
        return Err(invalid(format!("maxChars is 1 to {}", limits.max_chars)));
    }
    let page = fetch_page(input.url.trim(), policy, max_chars).await?;
    serde_json::to_value(page).map_err(|e| {
        ToolError::Page(AppError::internal("The page could not be written as JSON").caused_by(e))
    })
}
