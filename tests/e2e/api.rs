//! The api function on API Gateway REST events (the fixture, varied), against the real
//! schema, moto's S3 and SQS, and the offline embedder.

use api::deps::Deps;
use api::handler::handle;
use serde_json::{Value, json};
use shared::adapters::aws::{S3ObjectStore, SqsQueue, sdk_config};
use shared::data_api::Params;
use shared::embed::embed_chunks;
use shared::ingest::{self, NewChunk};
use shared::providers::offline::HashingEmbedder;
use studio_tests::TestDb;
use uuid::Uuid;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with scripts/test.sh"))
}

pub(crate) async fn deps(t: &TestDb) -> Deps {
    let sdk = sdk_config().await;
    Deps {
        db: t.db.clone(),
        store: Box::new(S3ObjectStore::new(&sdk, &env("DOCUMENTS_BUCKET"))),
        processing: Box::new(SqsQueue::new(&sdk, &env("FILE_PROCESSING_QUEUE_URL"))),
        assistant_runs: Box::new(SqsQueue::new(&sdk, &env("ASSISTANT_RUNS_QUEUE_URL"))),
        embedder: Box::new(HashingEmbedder::new(1024)),
        settings: studio_tests::settings(&t.db).await,
    }
}

/// The fixture event with another method, path, body, query and caller.
pub(crate) fn event(
    method: &str,
    path: &str,
    body: Option<Value>,
    query: Option<Value>,
    sub: Option<&str>,
) -> lambda_http::Request {
    let mut event: Value =
        serde_json::from_str(include_str!("../../events/api/create-repository.json")).unwrap();
    event["httpMethod"] = json!(method);
    event["requestContext"]["httpMethod"] = json!(method);
    event["path"] = json!(path);
    event["requestContext"]["path"] = json!(format!("/prod{path}"));
    event["body"] = body.map_or(Value::Null, |b| json!(b.to_string()));
    event["queryStringParameters"] = query.clone().unwrap_or(Value::Null);
    event["multiValueQueryStringParameters"] = query
        .map(|q| {
            json!(
                q.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), json!([v])))
                    .collect::<serde_json::Map<_, _>>()
            )
        })
        .unwrap_or(Value::Null);
    match sub {
        Some(sub) => {
            event["requestContext"]["authorizer"]["claims"]["sub"] = json!(sub);
            event["requestContext"]["authorizer"]["claims"]["email"] =
                json!(format!("{sub}@example.org"));
        }
        None => event["requestContext"]["authorizer"] = json!({}),
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

pub(crate) async fn call(deps: &Deps, request: lambda_http::Request) -> (u16, Value) {
    let response = handle(request, deps).await.unwrap();
    let status = response.status().as_u16();
    let body = match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

#[tokio::test]
async fn a_member_creates_a_repository_uploads_pastes_searches_and_deletes() {
    let t = TestDb::migrated().await;
    let deps = deps(&t).await;
    let (ours, theirs) = (Uuid::new_v4(), Uuid::new_v4());
    for team in [ours, theirs] {
        t.db.execute(
            "INSERT INTO teams (id, name) VALUES (:id, 'T')",
            Params::new().bind("id", team),
        )
        .await
        .unwrap();
    }
    let (owner, outsider) = (format!("owner-{ours}"), format!("outsider-{theirs}"));
    t.member(&owner, "staff", ours).await;
    t.member(&outsider, "staff", theirs).await;

    // The fixture itself: POST /repositories.
    let (status, created) = call(
        &deps,
        event(
            "POST",
            "/repositories",
            Some(json!({"name": "Research papers"})),
            None,
            Some(&owner),
        ),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["isSuccess"], true);
    let repository = created["data"]["id"].as_str().unwrap().to_owned();

    // A file upload gets a presigned URL that accepts the bytes.
    let upload = json!({"type": "file", "fileName": "notes.txt", "contentType": "text/plain", "sizeBytes": 11});
    let (status, file) = call(
        &deps,
        event(
            "POST",
            &format!("/repositories/{repository}/items"),
            Some(upload),
            None,
            Some(&owner),
        ),
    )
    .await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["data"]["item"]["status"], "pending");
    let url = file["data"]["upload"]["url"].as_str().unwrap();
    let put = reqwest::Client::new()
        .put(url)
        .header("content-type", "text/plain")
        .body("hello world")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let key = file["data"]["item"]["source"].as_str().unwrap();
    assert_eq!(deps.store.get(key, 100).await.unwrap(), b"hello world");

    // Pasted text lands in storage under its item's key.
    let paste = json!({"type": "text", "name": "Minutes", "text": "The board approved the solar panel budget."});
    let (status, text) = call(
        &deps,
        event(
            "POST",
            &format!("/repositories/{repository}/items"),
            Some(paste),
            None,
            Some(&owner),
        ),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let text_item: Uuid = text["data"]["item"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let text_key = text["data"]["item"]["source"].as_str().unwrap().to_owned();
    assert_eq!(
        deps.store.get(&text_key, 1000).await.unwrap(),
        b"The board approved the solar panel budget."
    );

    // Once processed (stored and embedded here directly), the search route finds it.
    let chunk = NewChunk {
        content: "The board approved the solar panel budget.".into(),
        page_start: Some(1),
        page_end: Some(1),
        heading_path: vec![],
        token_count: 7,
        content_hash: "c".into(),
    };
    let stored = ingest::store_chunks(&t.db, text_item, "doc", Some(1), &[chunk])
        .await
        .unwrap();
    embed_chunks(&t.db, deps.embedder.as_ref(), stored.chunk_ids())
        .await
        .unwrap();
    let query = json!({"q": "solar panel budget", "mode": "hybrid"});
    let (status, hits) = call(
        &deps,
        event(
            "GET",
            &format!("/repositories/{repository}/search"),
            None,
            Some(query.clone()),
            Some(&owner),
        ),
    )
    .await;
    assert_eq!(status, 200, "{hits}");
    assert_eq!(hits["data"][0]["itemName"], "Minutes");
    assert_eq!(hits["data"][0]["pageStart"], 1);
    // Searching with no repository named covers every one the caller can read: the owner's
    // includes it, another team's never does.
    let everywhere = |sub: &str| event("GET", "/search", None, Some(query.clone()), Some(sub));
    let (status, hits) = call(&deps, everywhere(owner.as_str())).await;
    assert_eq!(status, 200, "{hits}");
    assert!(
        hits["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["itemName"] == "Minutes" && h["repositoryId"] == json!(repository)),
        "{hits}"
    );
    let (status, theirs) = call(&deps, everywhere(outsider.as_str())).await;
    assert_eq!(status, 200, "{theirs}");
    assert!(
        !theirs["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["repositoryId"] == json!(repository)),
        "{theirs}"
    );

    // Another team sees nothing of it.
    for (method, path, query) in [
        ("GET", format!("/repositories/{repository}/items"), None),
        ("GET", format!("/items/{text_item}"), None),
        (
            "GET",
            format!("/repositories/{repository}/search"),
            Some(query),
        ),
        ("DELETE", format!("/items/{text_item}"), None),
    ] {
        let (status, refused) =
            call(&deps, event(method, &path, None, query, Some(&outsider))).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{method} {path}"
        );
    }
    let (_, theirs_list) = call(
        &deps,
        event("GET", "/repositories", None, None, Some(&outsider)),
    )
    .await;
    assert_eq!(theirs_list["data"], json!([]));

    // Deleting removes the item and its object.
    let (status, _) = call(
        &deps,
        event(
            "DELETE",
            &format!("/items/{text_item}"),
            None,
            None,
            Some(&owner),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        deps.store.get(&text_key, 1000).await.unwrap_err().code,
        shared::ErrorCode::NotFound
    );
    let (status, _) = call(
        &deps,
        event(
            "GET",
            &format!("/items/{text_item}"),
            None,
            None,
            Some(&owner),
        ),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_requests_get_readable_errors_and_no_claims_get_401() {
    let t = TestDb::migrated().await;
    let deps = deps(&t).await;
    let team = Uuid::new_v4();
    t.db.execute(
        "INSERT INTO teams (id, name) VALUES (:id, 'T')",
        Params::new().bind("id", team),
    )
    .await
    .unwrap();
    let sub = format!("u-{team}");
    t.member(&sub, "staff", team).await;

    let (status, body) = call(&deps, event("GET", "/repositories", None, None, None)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let cases = [
        (
            "POST",
            "/repositories".to_owned(),
            Some(json!({"nom": "x"})),
            400,
            "validation",
        ),
        (
            "POST",
            "/repositories".to_owned(),
            Some(json!({"name": ""})),
            400,
            "validation",
        ),
        (
            "GET",
            "/repositories/not-an-id".to_owned(),
            None,
            400,
            "validation",
        ),
        (
            "GET",
            format!("/repositories/{}", Uuid::new_v4()),
            None,
            404,
            "not_found",
        ),
        ("PATCH", "/repositories".to_owned(), None, 404, "not_found"),
    ];
    for (method, path, body, expected, code) in cases {
        let (status, response) = call(&deps, event(method, &path, body, None, Some(&sub))).await;
        assert_eq!(
            (status, response["error"]["code"].as_str()),
            (expected, Some(code)),
            "{method} {path}: {response}"
        );
        assert!(
            !response["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
    }
    let (_, created) = call(
        &deps,
        event(
            "POST",
            "/repositories",
            Some(json!({"name": "R"})),
            None,
            Some(&sub),
        ),
    )
    .await;
    let repository = created["data"]["id"].as_str().unwrap().to_owned();
    let too_big = json!({"type": "file", "fileName": "big.pdf", "sizeBytes": 60_000_000});
    let (status, refused) = call(
        &deps,
        event(
            "POST",
            &format!("/repositories/{repository}/items"),
            Some(too_big),
            None,
            Some(&sub),
        ),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (413, Some("too_large"))
    );
    let sneaky = json!({"type": "file", "fileName": "../../other/x.pdf", "sizeBytes": 10});
    let (status, accepted) = call(
        &deps,
        event(
            "POST",
            &format!("/repositories/{repository}/items"),
            Some(sneaky),
            None,
            Some(&sub),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let source = accepted["data"]["item"]["source"].as_str().unwrap();
    assert!(
        source.starts_with(&format!("repositories/{repository}/")),
        "{source}"
    );
    assert_eq!(
        source.split('/').count(),
        4,
        "the name stayed one segment: {source}"
    );
    let key = shared::knowledge::ObjectKey::parse_event_key(source).unwrap();
    assert_eq!(key.repository_id.to_string(), repository);
}
