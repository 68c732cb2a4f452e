//! Uploads through the file-processor and embedding-generator handlers, on their fixture
//! events, with moto's S3 and SQS: documents become searchable chunks once, bad files end
//! `failed` with a reason, and keys that are not ours are refused.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{Value, json};
use shared::adapters::aws::{S3ObjectStore, SqsQueue, sdk_config};
use shared::auth::Caller;
use shared::data_api::Params;
use shared::fetch::FetchPolicy;
use shared::ingest::DataApiIngestStore;
use shared::ingest::pipeline::Pipeline;
use shared::ingest::stages::{DocumentExtractor, TokenChunker};
use shared::knowledge::{Item, NewItem, NewRepository, items, repositories};
use shared::ports::ObjectStore;
use shared::providers::offline::HashingEmbedder;
use shared::search::{self, Mode};
use studio_tests::TestDb;
use uuid::Uuid;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with scripts/test.sh"))
}

pub(crate) struct World {
    pub(crate) t: TestDb,
    records: DataApiIngestStore,
    caller: Caller,
    repository: Uuid,
    store: S3ObjectStore,
    embedding_queue: SqsQueue,
    embedding_queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

pub(crate) async fn world() -> World {
    let t = TestDb::migrated().await;
    let team = t.team().await;
    let caller = t.member(&format!("u-{team}"), "staff", team).await;
    let repository = repositories::create(
        &t.db,
        &caller,
        &NewRepository {
            name: "Docs".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    // A queue of its own, so tests running at once do not take each other's messages.
    let embedding_queue_url = sqs
        .create_queue()
        .queue_name(format!("embedding-{team}"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    World {
        store: S3ObjectStore::new(&sdk, &env("DOCUMENTS_BUCKET")),
        embedding_queue: SqsQueue::new(&sdk, &embedding_queue_url),
        embedding_queue_url,
        sqs,
        records: DataApiIngestStore { db: t.db.clone() },
        t,
        caller,
        repository,
    }
}

impl World {
    pub(crate) fn pipeline(&self) -> Pipeline<'_> {
        Pipeline {
            records: &self.records,
            store: &self.store,
            embedding_queue: &self.embedding_queue,
            extractor: Arc::new(DocumentExtractor::default()),
            chunker: Arc::new(TokenChunker::default()),
            max_bytes: 50 * 1024 * 1024,
            fetch_policy: FetchPolicy::default(),
            ocr: None,
        }
    }

    /// Creates an item and puts `bytes` at its key, as a browser's presigned PUT would.
    pub(crate) async fn upload(&self, name: &str, bytes: &[u8]) -> Item {
        let new = NewItem::File {
            file_name: name.into(),
            content_type: None,
            size_bytes: bytes.len().max(1) as i64,
        };
        let item = items::create(&self.t.db, &self.caller, self.repository, &new)
            .await
            .unwrap();
        self.store
            .put(&item.source, bytes.to_vec(), "application/octet-stream")
            .await
            .unwrap();
        item
    }

    async fn process(&self, raw_key: &str) -> Vec<String> {
        let deps = file_processor::handler::Deps {
            pipeline: self.pipeline(),
            max_receive_count: 3,
        };
        let response = file_processor::handler::handle(
            notification(raw_key),
            &deps,
            studio_tests::deadline_in(900),
        )
        .await
        .unwrap();
        response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect()
    }

    /// Delivers everything on the embedding queue to the embedding-generator handler.
    async fn embed_all(&self) -> usize {
        let deps = embedding_generator::handler::Deps {
            db: self.t.db.clone(),
            embedder: Box::new(HashingEmbedder::new(1024)),
            max_receive_count: 3,
        };
        let mut delivered = 0;
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.embedding_queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return delivered;
            }
            let records: Vec<Value> = messages
                .iter()
                .map(|m| json!({"messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body, "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:embedding", "awsRegion": "us-east-1"}))
                .collect();
            let event: SqsEvent = serde_json::from_value(json!({ "Records": records })).unwrap();
            let response =
                embedding_generator::handler::handle(event, &deps, studio_tests::deadline_in(900))
                    .await
                    .unwrap();
            assert!(response.batch_item_failures.is_empty(), "embedding failed");
            for m in &messages {
                self.sqs
                    .delete_message()
                    .queue_url(&self.embedding_queue_url)
                    .receipt_handle(m.receipt_handle.clone().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            delivered += messages.len();
        }
    }

    pub(crate) async fn item(&self, id: Uuid) -> Item {
        items::get(&self.t.db, &self.caller, id).await.unwrap()
    }
}

/// The fixture notification for `raw_key`, URL-encoded as S3 sends keys.
fn notification(raw_key: &str) -> SqsEvent {
    let encoded: String = raw_key
        .bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    let text = include_str!("../../events/file-processor/s3-notification.json");
    serde_json::from_str(&text.replace("OBJECT_KEY", &encoded)).unwrap()
}

const REPORT: &str = "# Annual report\n\n## Energy\n\nThe board approved the rooftop solar installation for the north campus.\n\n## Staffing\n\nTwo new librarians join the archive team in spring.\n";

#[tokio::test]
async fn an_upload_becomes_searchable_chunks_exactly_once() {
    let w = world().await;
    let item = w.upload("Annual report 2026.md", REPORT.as_bytes()).await;
    assert!(w.process(&item.source).await.is_empty());
    let processed = w.item(item.id).await;
    assert_eq!(processed.status, "embedding", "{:?}", processed.error);
    assert!(processed.chunk_count > 0);
    assert!(w.embed_all().await > 0);
    let done = w.item(item.id).await;
    assert_eq!(
        (done.status.as_str(), done.embedded_count),
        ("completed", done.chunk_count)
    );

    // The same notification again: nothing is duplicated.
    assert!(w.process(&item.source).await.is_empty());
    w.embed_all().await;
    let again = w.item(item.id).await;
    assert_eq!(
        (
            again.status.as_str(),
            again.chunk_count,
            again.embedded_count
        ),
        ("completed", done.chunk_count, done.chunk_count)
    );
    let counts: Value = w
        .t
        .db
        .query_one(
            "SELECT count(*) AS chunks, (SELECT count(*) FROM embeddings) AS vectors FROM chunks",
            Params::new(),
        )
        .await
        .unwrap();
    assert_eq!(counts["chunks"], counts["vectors"]);
    assert_eq!(counts["chunks"], done.chunk_count);

    let hits = search::search(
        &w.t.db,
        &HashingEmbedder::new(1024),
        &w.caller,
        &[w.repository],
        "rooftop solar installation",
        Mode::Hybrid,
        3,
    )
    .await
    .unwrap();
    assert_eq!(hits[0].item_id, item.id);
    assert_eq!(
        hits[0].heading_path.first().map(String::as_str),
        Some("Annual report")
    );
    assert_eq!(hits[0].page_start, Some(1));
    assert!(
        hits[0].excerpt.contains("rooftop solar"),
        "{}",
        hits[0].excerpt
    );
}

#[tokio::test]
async fn bad_files_fail_with_a_reason_and_the_batch_goes_on() {
    let w = world().await;
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.txt", b"", "empty"),
        (
            "random.pdf",
            &[
                0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x42, 0x99, 0x10, 0x20, 0x30,
            ],
            "not",
        ),
        (
            "broken.pdf",
            b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R",
            "damaged",
        ),
        ("nul.txt", b"\x00\x00\x00\x00", "not a txt file"),
    ];
    for (name, bytes, expected) in cases {
        let item = w.upload(name, bytes).await;
        assert!(
            w.process(&item.source).await.is_empty(),
            "{name}: a bad file is not a retry"
        );
        let failed = w.item(item.id).await;
        assert_eq!(failed.status, "failed", "{name}");
        let reason = failed.error.unwrap_or_default();
        assert!(reason.to_lowercase().contains(expected), "{name}: {reason}");
    }
    let good = w
        .upload(
            "notes.txt",
            b"Plain notes about the library renovation schedule.",
        )
        .await;
    assert!(w.process(&good.source).await.is_empty());
    assert_eq!(w.item(good.id).await.status, "embedding");
}

#[tokio::test]
async fn keys_that_are_not_ours_are_refused_and_change_nothing() {
    let w = world().await;
    let item = w
        .upload("notes.txt", b"Visiting hours are nine to five.")
        .await;
    for key in [
        format!("repositories/{}/{}/../../etc/passwd", w.repository, item.id),
        format!("repositories/{}/{}/other.txt", w.repository, item.id),
        format!("uploads/{}", item.source),
        format!("repositories/{}/{}/notes.txt", Uuid::new_v4(), item.id),
    ] {
        assert!(w.process(&key).await.is_empty(), "{key}");
        assert_eq!(
            w.item(item.id).await.status,
            "pending",
            "{key} touched the item"
        );
    }
    let deps = file_processor::handler::Deps {
        pipeline: w.pipeline(),
        max_receive_count: 3,
    };
    let test_event: SqsEvent = serde_json::from_str(include_str!(
        "../../events/file-processor/s3-test-event.json"
    ))
    .unwrap();
    let response =
        file_processor::handler::handle(test_event, &deps, studio_tests::deadline_in(900))
            .await
            .unwrap();
    assert!(
        response.batch_item_failures.is_empty(),
        "S3's test event is acknowledged"
    );
    let reprocess = include_str!("../../events/file-processor/reprocess.json")
        .replace("ITEM_ID", &item.id.to_string());
    let response = file_processor::handler::handle(
        serde_json::from_str(&reprocess).unwrap(),
        &deps,
        studio_tests::deadline_in(900),
    )
    .await
    .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        w.item(item.id).await.status,
        "embedding",
        "a reprocess request runs the pipeline"
    );
}
