//! The Textract adapter with the real `aws-sdk-textract` client against recorded Textract
//! responses (`tests/fixtures/textract/`, served over the awsJson1.1 protocol by a tiny
//! local server), and the textract-processor handler on its `events/` fixtures.

use std::sync::{Arc, Mutex};

use aws_lambda_events::event::sqs::SqsEvent;
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::adapters::aws::{S3ObjectStore, SqsQueue, TextractOcr, sdk_config};
use shared::data_api::Params;
use shared::fetch::FetchPolicy;
use shared::ingest::DataApiIngestStore;
use shared::ingest::pipeline::Pipeline;
use shared::ingest::stages::{DocumentExtractor, TokenChunker};
use shared::knowledge::{NewItem, NewRepository, items, repositories};
use shared::ocr::{budget, jobs};
use shared::ports::ocr::{Completion, DocumentLocation, JobResult, OcrEngine};
use studio_tests::TestDb;
use uuid::Uuid;

const PAGE_1: &str = include_str!("../fixtures/textract/get-document-text-detection-1.json");
const PAGE_2: &str = include_str!("../fixtures/textract/get-document-text-detection-2.json");
const FAILED: &str = include_str!("../fixtures/textract/get-document-text-detection-failed.json");
const STARTED: &str = include_str!("../fixtures/textract/start-document-text-detection.json");
const SUCCEEDED_EVENT: &str = include_str!("../../events/textract-processor/sns-succeeded.json");
const FAILED_EVENT: &str = include_str!("../../events/textract-processor/sns-failed.json");
/// The job the FAILED event names.
const FAILED_JOB: &str = "9f3e2d1c0b4a59687766554433221100ffeeddccbbaa99887766554433221100";

/// Requests the recorded server received: (X-Amz-Target, body).
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// Serves the recorded responses: GetDocumentTextDetection page 1, then page 2 for its
/// NextToken; the FAILED job's response for [`FAILED_JOB`].
async fn recorded_textract() -> (TextractOcr, Seen) {
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let app = Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let log = Arc::clone(&log);
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                log.lock().unwrap().push((target.clone(), request.clone()));
                let next: Option<String> = serde_json::from_str::<Value>(PAGE_1).unwrap()
                    ["NextToken"]
                    .as_str()
                    .map(str::to_owned);
                let reply = match target.as_str() {
                    "Textract.StartDocumentTextDetection" => STARTED,
                    "Textract.GetDocumentTextDetection" if request["JobId"] == FAILED_JOB => FAILED,
                    "Textract.GetDocumentTextDetection" => {
                        match request["NextToken"].as_str() {
                            None => PAGE_1,
                            Some(token) if Some(token) == next.as_deref() => PAGE_2,
                            Some(_) => {
                                return (
                                    StatusCode::BAD_REQUEST,
                                    [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
                                    r#"{"__type":"InvalidParameterException","Message":"Invalid NextToken"}"#,
                                )
                                    .into_response();
                            }
                        }
                    }
                    _ => return StatusCode::NOT_FOUND.into_response(),
                };
                (
                    [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
                    reply,
                )
                    .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let sdk = studio_local::account::local_sdk_config(&format!("http://{address}"));
    let engine = TextractOcr::new(
        aws_sdk_textract::Client::new(&sdk),
        "studio-dev-documents",
        "arn:aws:sns:us-east-1:123456789012:textract-completions",
        "arn:aws:iam::123456789012:role/textract-publish",
    );
    (engine, seen)
}

fn completion(job_id: &str) -> Completion {
    Completion {
        job_id: job_id.to_owned(),
        status: "SUCCEEDED".to_owned(),
        api: "StartDocumentTextDetection".to_owned(),
        job_tag: None,
        timestamp: None,
        document_location: DocumentLocation {
            s3_object_name: "repositories/a/b/report.pdf".to_owned(),
            s3_bucket: "studio-dev-documents".to_owned(),
        },
    }
}

#[tokio::test]
async fn textract_lines_are_read_through_every_next_token_page_and_kept_per_page() {
    let (engine, seen) = recorded_textract().await;
    let JobResult::Text { pages, page_count } = engine.results(&completion("job-1")).await.unwrap()
    else {
        panic!("the job succeeded");
    };
    assert_eq!(page_count, 2);
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].number, 1);
    assert_eq!(
        pages[0].lines,
        [
            "Harbour Maintenance Report",
            "Prepared for the port authority, March 2024",
            "The north breakwater lost twelve armour stones in the February storm.",
            "Divers found scour holes up to two metres deep near the lighthouse.",
        ]
    );
    // Page 2's lines span both responses; WORD and PAGE blocks add nothing.
    assert_eq!(
        pages[1].lines,
        [
            "Recommendations",
            "Replace the armour stones before the autumn storm season.",
            "Survey the scour holes again after every storm above force nine.",
        ]
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "one call per NextToken page");
    assert!(seen[0].1.get("NextToken").is_none());
    assert!(seen[1].1["NextToken"].is_string());
    assert_eq!(seen[1].1["JobId"], "job-1");
}

#[tokio::test]
async fn a_failed_textract_job_gives_textracts_status_message() {
    let (engine, _) = recorded_textract().await;
    let result = engine.results(&completion(FAILED_JOB)).await.unwrap();
    assert_eq!(
        result,
        JobResult::Failed("Request has unsupported document format".to_owned())
    );
}

#[tokio::test]
async fn a_textract_job_is_started_with_the_completion_topic_and_the_item_as_job_tag() {
    let (engine, seen) = recorded_textract().await;
    let item = Uuid::new_v4();
    let job = engine
        .start("repositories/r/i/scan.pdf", item)
        .await
        .unwrap();
    assert_eq!(
        job,
        "e1c8f1b7a4e94ad2c0a7a1c2a6f3f5d8b2c7e9f0a1b2c3d4e5f6a7b8c9d0e1f2"
    );
    let seen = seen.lock().unwrap();
    let (target, body) = &seen[0];
    assert_eq!(target, "Textract.StartDocumentTextDetection");
    assert_eq!(
        body["DocumentLocation"],
        json!({"S3Object": {"Bucket": "studio-dev-documents", "Name": "repositories/r/i/scan.pdf"}})
    );
    assert_eq!(
        body["NotificationChannel"],
        json!({
            "SNSTopicArn": "arn:aws:sns:us-east-1:123456789012:textract-completions",
            "RoleArn": "arn:aws:iam::123456789012:role/textract-publish"
        })
    );
    assert_eq!(body["JobTag"], item.to_string());
}

#[derive(Deserialize)]
struct ItemRow {
    status: String,
    error: Option<String>,
    chunk_count: i32,
    page_count: Option<i32>,
}

#[derive(Deserialize)]
struct PageHit {
    page_end: Option<i32>,
}

#[tokio::test]
async fn the_textract_processor_turns_its_fixture_completions_into_chunks_or_a_reason() {
    let t = TestDb::migrated().await;
    let team = t.team().await;
    let caller = t.member(&format!("u-{team}"), "staff", team).await;
    let repository = repositories::create(
        &t.db,
        &caller,
        &NewRepository {
            name: "Scans".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    let new = |name: &str| NewItem::File {
        file_name: name.into(),
        content_type: None,
        size_bytes: 1000,
    };
    let scanned = items::create(&t.db, &caller, repository, &new("harbour-report.pdf"))
        .await
        .unwrap();
    let unreadable = items::create(&t.db, &caller, repository, &new("odd.pdf"))
        .await
        .unwrap();
    let succeeded: SqsEvent = serde_json::from_str(SUCCEEDED_EVENT).unwrap();
    let succeeded_job = Completion::from_message(succeeded.records[0].body.as_deref().unwrap())
        .unwrap()
        .job_id;
    // What the file-processor did when the scans arrived: 3 pages reserved for the first.
    budget::reserve(&t.db, 3, 10).await.unwrap().unwrap();
    budget::reserve(&t.db, 1, 10).await.unwrap().unwrap();
    jobs::record_start(&t.db, &succeeded_job, scanned.id, 3)
        .await
        .unwrap();
    jobs::record_start(&t.db, FAILED_JOB, unreadable.id, 1)
        .await
        .unwrap();

    let (engine, _) = recorded_textract().await;
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = sqs
        .create_queue()
        .queue_name(format!("embedding-ocr-{team}"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let store = S3ObjectStore::new(&sdk, &std::env::var("DOCUMENTS_BUCKET").unwrap());
    let embedding_queue = SqsQueue::new(&sdk, &queue);
    let records = DataApiIngestStore { db: t.db.clone() };
    let deps = textract_processor::handler::Deps {
        db: &t.db,
        pipeline: Pipeline {
            records: &records,
            store: &store,
            embedding_queue: &embedding_queue,
            extractor: Arc::new(DocumentExtractor::default()),
            chunker: Arc::new(TokenChunker::default()),
            max_bytes: 1024,
            fetch_policy: FetchPolicy::default(),
            ocr: None,
        },
        engine: &engine,
        max_receive_count: 3,
    };
    let item = async |id: Uuid| -> ItemRow {
        t.db.query_one(
            "SELECT status, error, chunk_count, page_count FROM repository_items WHERE id = :id",
            Params::new().bind("id", id),
        )
        .await
        .unwrap()
    };

    for _ in 0..2 {
        // The second delivery (SQS is at-least-once) changes nothing.
        let response = textract_processor::handler::handle(
            succeeded.clone(),
            &deps,
            studio_tests::deadline_in(900),
        )
        .await
        .unwrap();
        assert!(response.batch_item_failures.is_empty());
        let done = item(scanned.id).await;
        assert_eq!(
            (done.status.as_str(), done.page_count),
            ("embedding", Some(2))
        );
        assert!(done.chunk_count > 0);
        assert_eq!(budget::this_month(&t.db).await.unwrap(), Some((3, 10)));
    }
    let hit: PageHit = t
        .db
        .query_one(
            "SELECT page_end FROM chunks WHERE item_id = :id AND content LIKE '%autumn storm season%'",
            Params::new().bind("id", scanned.id),
        )
        .await
        .unwrap();
    assert_eq!(hit.page_end, Some(2));

    let failed: SqsEvent = serde_json::from_str(FAILED_EVENT).unwrap();
    let response =
        textract_processor::handler::handle(failed, &deps, studio_tests::deadline_in(900))
            .await
            .unwrap();
    assert!(
        response.batch_item_failures.is_empty(),
        "a failed job is no retry"
    );
    let refused = item(unreadable.id).await;
    assert_eq!(refused.status, "failed");
    assert_eq!(
        refused.error.as_deref(),
        Some("OCR could not read the file: Request has unsupported document format")
    );
    // Pages used: 2 read by the first job; the failed job's reservation is given back.
    assert_eq!(budget::this_month(&t.db).await.unwrap(), Some((2, 10)));
}

#[tokio::test]
async fn the_ocr_budget_refuses_a_reservation_past_its_limit_and_says_so() {
    let t = TestDb::migrated().await;
    budget::reserve(&t.db, 3, 5).await.unwrap().unwrap();
    let refused = budget::reserve(&t.db, 3, 5).await.unwrap().unwrap_err();
    assert_eq!((refused.limit, refused.used, refused.needed), (5, 3, 3));
    assert!(
        refused
            .to_string()
            .starts_with("The monthly OCR budget of 5 pages is used up"),
        "{refused}"
    );
    budget::reserve(&t.db, 2, 5).await.unwrap().unwrap();
    assert_eq!(budget::this_month(&t.db).await.unwrap(), Some((5, 5)));
}

#[tokio::test]
async fn a_completion_for_a_deleted_item_is_dropped_not_retried() {
    let t = TestDb::migrated().await;
    let (engine, seen) = recorded_textract().await;
    let sdk = sdk_config().await;
    let store = S3ObjectStore::new(&sdk, "unused");
    let queue = SqsQueue::new(&sdk, "http://127.0.0.1:1/unused");
    let records = DataApiIngestStore { db: t.db.clone() };
    let deps = textract_processor::handler::Deps {
        db: &t.db,
        pipeline: Pipeline {
            records: &records,
            store: &store,
            embedding_queue: &queue,
            extractor: Arc::new(DocumentExtractor::default()),
            chunker: Arc::new(TokenChunker::default()),
            max_bytes: 1024,
            fetch_policy: FetchPolicy::default(),
            ocr: None,
        },
        engine: &engine,
        max_receive_count: 3,
    };
    let event: SqsEvent = serde_json::from_str(SUCCEEDED_EVENT).unwrap();
    let response =
        textract_processor::handler::handle(event, &deps, studio_tests::deadline_in(900))
            .await
            .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert!(seen.lock().unwrap().is_empty(), "no results were read");
}
