//! A mock of the Brave Search API for tests and the local stack: `GET /res/v1/web/search`
//! answers with Brave's real response shape (`type`, `query`, `mixed`, `web.results[]` with
//! `title`, `url`, `description`, `profile`, `meta_url`...), its `ErrorResponse` for a bad
//! key, and scripted faults (a 429 with Brave's `X-RateLimit-*` headers, a 503). Results
//! are made from the query, so a caller can tell its answer from another's.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// A fault the next request gets instead of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with the per-second window spent; its reset in `X-RateLimit-Reset`.
    RateLimited { reset_seconds: u64 },
    /// 503 with Brave's error body.
    Unavailable,
}

/// A request the mock received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub query: String,
    pub count: Option<String>,
    pub had_key: bool,
}

#[derive(Debug, Default)]
struct Script {
    key: String,
    faults: VecDeque<Fault>,
    received: Vec<Received>,
}

#[derive(Debug, Clone)]
pub struct MockSearch {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl MockSearch {
    /// Serves on `addr` (port 0 picks one), accepting `key` as the subscription token.
    pub async fn start(addr: SocketAddr, key: &str) -> std::io::Result<Self> {
        let script = Arc::new(Mutex::new(Script {
            key: key.to_owned(),
            ..Script::default()
        }));
        let app = Router::new()
            .route("/res/v1/web/search", get(search))
            .with_state(Arc::clone(&script));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(error) = crate::net::serve(listener, app).await {
                tracing::error!(error = %error, "The mock search server stopped");
            }
        });
        Ok(Self { addr, script })
    }

    /// What `WEB_SEARCH_BASE_URL` should be.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next request gets `fault`.
    pub fn fail_next(&self, fault: Fault) {
        lock(&self.script).faults.push_back(fault);
    }

    pub fn received(&self) -> Vec<Received> {
        lock(&self.script).received.clone()
    }
}

fn lock(script: &Mutex<Script>) -> MutexGuard<'_, Script> {
    script
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Default)]
struct Params {
    q: Option<String>,
    count: Option<String>,
}

impl Params {
    fn parse(raw: Option<&str>) -> Self {
        let mut params = Self::default();
        let url = reqwest::Url::parse(&format!("http://mock/?{}", raw.unwrap_or_default()));
        for (name, value) in url.iter().flat_map(|u| u.query_pairs()) {
            match name.as_ref() {
                "q" => params.q = Some(value.into_owned()),
                "count" => params.count = Some(value.into_owned()),
                _ => {}
            }
        }
        params
    }
}

fn error_body(status: u16, code: &str, detail: &str, meta: Value) -> Value {
    json!({
        "type": "ErrorResponse",
        "error": {
            "id": uuid::Uuid::new_v4().to_string(),
            "status": status,
            "code": code,
            "detail": detail,
            "meta": meta
        },
        "time": chrono::Utc::now().timestamp()
    })
}

async fn search(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = Params::parse(raw.as_deref());
    let (fault, key_ok) = {
        let mut script = lock(&script);
        let given = headers
            .get("x-subscription-token")
            .and_then(|v| v.to_str().ok());
        script.received.push(Received {
            query: params.q.clone().unwrap_or_default(),
            count: params.count.clone(),
            had_key: given.is_some(),
        });
        let key_ok = given == Some(script.key.as_str());
        (script.faults.pop_front(), key_ok)
    };
    if !key_ok {
        let body = error_body(
            401,
            "SUBSCRIPTION_TOKEN_INVALID",
            "The provided subscription token is invalid.",
            json!({ "component": "authentication" }),
        );
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    match fault {
        Some(Fault::RateLimited { reset_seconds }) => {
            let body = error_body(
                429,
                "RATE_LIMITED",
                "Request rate limit exceeded for plan.",
                json!({ "plan": "Free", "rate_limit": 1, "rate_current": 1, "quota_limit": 2000,
                        "quota_current": 47, "component": "rate_limiter" }),
            );
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("x-ratelimit-limit", "1, 2000".to_owned()),
                    ("x-ratelimit-policy", "1;w=1, 2000;w=2592000".to_owned()),
                    ("x-ratelimit-remaining", "0, 1953".to_owned()),
                    ("x-ratelimit-reset", format!("{reset_seconds}, 1419704")),
                ],
                axum::Json(body),
            )
                .into_response();
        }
        Some(Fault::Unavailable) => {
            let body = error_body(
                503,
                "SERVICE_UNAVAILABLE",
                "The service is temporarily unavailable.",
                json!({}),
            );
            return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
        }
        None => {}
    }
    let query = params.q.unwrap_or_default();
    if query.trim().is_empty() {
        let body = error_body(
            422,
            "VALIDATION",
            "Unable to validate request parameter(s)",
            json!({ "errors": [{ "type": "missing", "loc": ["query", "q"], "msg": "Field required" }] }),
        );
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
    }
    let count = params
        .count
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 20);
    (StatusCode::OK, axum::Json(results(&query, count))).into_response()
}

/// A Brave web search answer with `count` results about `query`.
fn results(query: &str, count: usize) -> Value {
    let slug: String = query
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-");
    let hits: Vec<Value> = (1..=count)
        .map(|i| {
            let host = format!("site{i}.example.com");
            let url = format!("https://{host}/articles/{slug}");
            json!({
                "title": format!("{query} — result {i}"),
                "url": url,
                "is_source_local": false,
                "is_source_both": false,
                "description": format!("What site {i} says about {query}: a short passage of the page."),
                "page_age": "2025-09-14T08:12:44",
                "profile": {
                    "name": format!("Site {i}"),
                    "url": url,
                    "long_name": host,
                    "img": format!("https://imgs.search.brave.com/{i}/favicon.png")
                },
                "language": "en",
                "family_friendly": true,
                "type": "search_result",
                "subtype": "generic",
                "is_live": false,
                "meta_url": {
                    "scheme": "https",
                    "netloc": host,
                    "hostname": host,
                    "favicon": format!("https://imgs.search.brave.com/{i}/favicon.png"),
                    "path": format!("› articles › {slug}")
                },
                "age": "September 14, 2025",
                "extra_snippets": [format!("Another passage about {query} from site {i}.")]
            })
        })
        .collect();
    json!({
        "query": {
            "original": query,
            "show_strict_warning": false,
            "is_navigational": false,
            "is_news_breaking": false,
            "spellcheck_off": true,
            "country": "us",
            "bad_results": false,
            "should_fallback": false,
            "postal_code": "",
            "city": "",
            "header_country": "",
            "more_results_available": true,
            "state": ""
        },
        "mixed": {
            "type": "mixed",
            "main": (0..count).map(|i| json!({ "type": "web", "index": i, "all": false })).collect::<Vec<_>>(),
            "top": [],
            "side": []
        },
        "type": "search",
        "web": {
            "type": "search",
            "results": hits,
            "family_friendly": true
        }
    })
}
