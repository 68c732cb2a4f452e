//! URL items are fetched with the SSRF guard: redirects into the network are refused at
//! every hop, and size and redirect counts are capped.

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;
use shared::ErrorCode;
use shared::fetch::{FetchPolicy, fetch};

async fn site() -> String {
    let app = Router::new()
        .route(
            "/page",
            get(|| async {
                (
                    [("content-type", "text/html")],
                    "<html><body><p>Hello</p></body></html>",
                )
            }),
        )
        .route(
            "/to-metadata",
            get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/iam/") }),
        )
        .route(
            "/to-private",
            get(|| async { Redirect::permanent("http://10.0.0.7/admin") }),
        )
        .route("/to-page", get(|| async { Redirect::temporary("/page") }))
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route("/big", get(|| async { "x".repeat(2 * 1024 * 1024) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// The default policy, except that this machine's test server may be reached.
fn policy() -> FetchPolicy {
    FetchPolicy {
        allow_addresses: vec!["127.0.0.1".parse().unwrap()],
        max_bytes: 1024 * 1024,
        ..FetchPolicy::default()
    }
}

#[tokio::test]
async fn a_page_is_fetched_through_same_site_redirects() {
    let base = site().await;
    let fetched = fetch(&format!("{base}/to-page"), &policy()).await.unwrap();
    assert_eq!(fetched.url, format!("{base}/page"));
    assert_eq!(fetched.content_type.as_deref(), Some("text/html"));
    assert!(String::from_utf8_lossy(&fetched.bytes).contains("Hello"));
}

#[tokio::test]
async fn redirects_into_the_network_are_refused_at_the_hop() {
    let base = site().await;
    for path in ["/to-metadata", "/to-private"] {
        let error = fetch(&format!("{base}{path}"), &policy())
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::Validation, "{path}");
        assert!(
            error.message.contains("private, loopback or link-local"),
            "{path}: {}",
            error.message
        );
    }
    let error = fetch(&format!("{base}/page"), &FetchPolicy::default())
        .await
        .unwrap_err();
    assert!(
        error.message.contains("127.0.0.1"),
        "loopback itself is refused by default: {}",
        error.message
    );
}

#[tokio::test]
async fn size_and_redirect_loops_are_capped() {
    let base = site().await;
    let big = fetch(&format!("{base}/big"), &policy()).await.unwrap_err();
    assert_eq!(big.code, ErrorCode::TooLarge);
    let looping = fetch(&format!("{base}/loop"), &policy()).await.unwrap_err();
    assert!(
        looping.message.contains("More than 5 redirects"),
        "{}",
        looping.message
    );
}
