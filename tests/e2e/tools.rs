//! Assistant tools: web search through the real Brave adapter against a mock speaking
//! Brave's wire format (results, 429 with its rate-limit headers, 401), and fetch_page
//! through the SSRF guard and the HTML main-content extractor.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::json;
use shared::fetch::FetchPolicy;
use shared::tools::{BraveWebSearch, SearchError, ToolError, Tools, WebSearch};
use studio_local::mock_search::{Fault, MockSearch};

const KEY: &str = "brave-test-key";

async fn mock() -> MockSearch {
    MockSearch::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), KEY)
        .await
        .unwrap()
}

fn brave(mock: &MockSearch, key: &str) -> BraveWebSearch {
    BraveWebSearch::new(
        key.to_owned(),
        Some(&mock.base_url()),
        Duration::from_secs(5),
    )
}

#[tokio::test]
async fn web_search_maps_braves_results_and_asks_for_as_many_as_wanted() {
    let mock = mock().await;
    let tools = Tools::new(Some(Arc::new(brave(&mock, KEY))), FetchPolicy::default());

    let out = tools
        .run(
            "web_search",
            json!({ "query": "pgvector hnsw tuning", "maxResults": 3 }),
        )
        .await
        .unwrap();
    assert_eq!(out["provider"], "brave");
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["title"], "pgvector hnsw tuning — result 1");
    assert_eq!(
        results[0]["url"],
        "https://site1.example.com/articles/pgvector-hnsw-tuning"
    );
    assert!(
        results[2]["snippet"]
            .as_str()
            .unwrap()
            .contains("site 3 says about pgvector hnsw tuning")
    );
    let received = mock.received();
    assert_eq!(received[0].query, "pgvector hnsw tuning");
    assert_eq!(received[0].count.as_deref(), Some("3"));
}

#[tokio::test]
async fn a_429_is_a_typed_rate_limit_with_the_wait_brave_gives() {
    let mock = mock().await;
    mock.fail_next(Fault::RateLimited { reset_seconds: 7 });
    let error = brave(&mock, KEY).search("anything", 5).await.unwrap_err();
    match &error {
        SearchError::RateLimited {
            retry_after,
            message,
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(7)));
            assert!(message.contains("RATE_LIMITED"), "{message}");
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    assert!(error.is_transient());
    // As an API error it carries the wait for Retry-After.
    let app: shared::AppError = ToolError::Search(error).into();
    assert_eq!(app.code, shared::ErrorCode::RateLimited);
    assert_eq!(app.details.unwrap()["retryAfterSeconds"], 7);
    // The fault was one request; the next one is answered.
    assert_eq!(
        brave(&mock, KEY).search("anything", 2).await.unwrap().len(),
        2
    );

    mock.fail_next(Fault::Unavailable);
    let error = brave(&mock, KEY).search("anything", 2).await.unwrap_err();
    assert!(
        matches!(error, SearchError::Unavailable { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_not_worth_retrying() {
    let mock = mock().await;
    let error = brave(&mock, "wrong-key")
        .search("anything", 5)
        .await
        .unwrap_err();
    match &error {
        SearchError::Unauthorized { message } => {
            assert!(
                message.contains("subscription token is invalid"),
                "{message}"
            );
        }
        other => panic!("expected unauthorized, got {other:?}"),
    }
    assert!(!error.is_transient());
    assert!(mock.received()[0].had_key);
}

#[tokio::test]
async fn tool_calls_with_bad_names_or_input_or_no_provider_get_readable_errors() {
    let tools = Tools::new(None, FetchPolicy::default());
    assert_eq!(
        tools
            .available()
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>(),
        ["fetch_page"]
    );
    let error = tools.run("code_interpreter", json!({})).await.unwrap_err();
    assert!(matches!(error, ToolError::UnknownTool(_)), "{error}");
    let error = tools
        .run("web_search", json!({ "query": "x" }))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("WEB_SEARCH_PROVIDER"), "{error}");

    let mock = mock().await;
    let tools = Tools::new(Some(Arc::new(brave(&mock, KEY))), FetchPolicy::default());
    for input in [
        json!({}),
        json!({ "query": "   " }),
        json!({ "query": "x".repeat(401) }),
        json!({ "query": "x", "maxResults": 0 }),
        json!({ "query": "x", "maxResults": 21 }),
        json!({ "query": "x", "limit": 3 }),
    ] {
        let error = tools.run("web_search", input.clone()).await.unwrap_err();
        assert!(
            matches!(error, ToolError::InvalidInput { .. }),
            "{input}: {error}"
        );
    }
    assert!(
        mock.received().is_empty(),
        "no bad input reached the provider"
    );
}

const ARTICLE: &str = r#"<!doctype html><html><head><title>Tuning HNSW</title>
<script>var tracking = "do not read me";</script></head>
<body><nav><a href="/">Home</a> | <a href="/about">Menu item</a></nav>
<main><h1>Tuning HNSW</h1><p>Raise ef_search for recall; raise m for dense data.</p>
<p>Build the index after loading the rows.</p></main>
<footer>Copyright footer text</footer></body></html>"#;

async fn site() -> String {
    let app = Router::new()
        .route(
            "/article",
            get(|| async { ([("content-type", "text/html; charset=utf-8")], ARTICLE) }),
        )
        .route(
            "/long",
            get(|| async {
                (
                    [("content-type", "text/html")],
                    format!("<main><p>{}</p></main>", "word ".repeat(5000)),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test]
async fn fetch_page_returns_the_main_text_of_an_allowed_page_capped_in_size() {
    let base = site().await;
    // This machine's test server is allowed, as tests/e2e/fetch.rs does; nothing else is.
    let tools = Tools::new(
        None,
        FetchPolicy {
            allow_addresses: vec!["127.0.0.1".parse().unwrap()],
            ..FetchPolicy::default()
        },
    );
    let page = tools
        .run("fetch_page", json!({ "url": format!("{base}/article") }))
        .await
        .unwrap();
    assert_eq!(page["title"], "Tuning HNSW");
    assert_eq!(page["truncated"], false);
    let text = page["text"].as_str().unwrap();
    assert!(text.contains("Raise ef_search for recall"), "{text}");
    assert!(text.contains("Build the index after loading"), "{text}");
    for noise in ["do not read me", "Menu item", "Copyright footer"] {
        assert!(!text.contains(noise), "{noise:?} in {text}");
    }

    let long = tools
        .run(
            "fetch_page",
            json!({ "url": format!("{base}/long"), "maxChars": 100 }),
        )
        .await
        .unwrap();
    assert_eq!(long["truncated"], true);
    assert_eq!(long["text"].as_str().unwrap().chars().count(), 100);
}

#[tokio::test]
async fn fetch_page_refuses_loopback_and_cloud_metadata_addresses() {
    let base = site().await;
    let tools = Tools::new(None, FetchPolicy::default());
    for url in [
        format!("{base}/article"),
        "http://127.0.0.1/".to_owned(),
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        let error = tools
            .run("fetch_page", json!({ "url": url }))
            .await
            .unwrap_err();
        match &error {
            ToolError::Page(app) => {
                assert_eq!(app.code, shared::ErrorCode::Validation, "{url}: {error}")
            }
            other => panic!("{url}: expected a refusal, got {other:?}"),
        }
    }
    let error = tools
        .run("fetch_page", json!({ "url": "http://169.254.169.254/" }))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("private, loopback or link-local"),
        "{error}"
    );
}

#[tokio::test]
async fn the_local_stack_configures_web_search_against_its_brave_mock() {
    assert!(
        std::env::var("WEB_SEARCH_BASE_URL").is_ok(),
        "WEB_SEARCH_BASE_URL is not set: run the tests with scripts/test.sh"
    );
    let tools = Tools::from_env().unwrap();
    assert_eq!(tools.available().len(), 2);
    let out = tools
        .run("web_search", json!({ "query": "barn owl" }))
        .await
        .unwrap();
    assert_eq!(out["results"].as_array().unwrap().len(), 5);
    assert_eq!(out["results"][0]["title"], "barn owl — result 1");
}
