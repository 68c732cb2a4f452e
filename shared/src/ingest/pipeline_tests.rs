//! The pipeline with its records, storage and queue in memory: what a person who uploads a
//! file sees (the item's status and reason, its chunks, the embedding messages), with no
//! database. The real extractor and chunker run.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::Utc;
use uuid::Uuid;

use super::pipeline::{Ocr, Outcome, Pipeline};
use super::stages::{DocumentExtractor, TokenChunker};
use crate::error::{AppError, ErrorCode};
use crate::fetch::FetchPolicy;
use crate::knowledge::ObjectKey;
use crate::ports::ingest::{
    Attempt, ClaimedItem, Exhausted, IngestStore, NewChunk, OcrJob, Stored,
};
use crate::ports::ocr::{Completion, JobResult, OcrEngine};
use crate::ports::{ObjectStore, Queue};

/// The cap the pipeline under test reads objects with.
const MAX_BYTES: u64 = 64 * 1024;

/// An item row as the database would hold it.
#[derive(Debug, Clone)]
struct Row {
    repository_id: Uuid,
    name: String,
    source: String,
    status: String,
    error: Option<String>,
    content_hash: Option<String>,
    chunks: Vec<(Uuid, NewChunk)>,
    embedded: usize,
    /// A file-processor attempt is recorded and not handed over.
    attempt_open: bool,
}

/// [`IngestStore`] over maps, following the statements of `DataApiIngestStore`.
#[derive(Default)]
struct MemoryRecords {
    items: Mutex<HashMap<Uuid, Row>>,
    jobs: Mutex<Vec<OcrJob>>,
    /// This month's (limit, used), once a reservation created the row.
    budget: Mutex<Option<(i32, i32)>>,
}

impl MemoryRecords {
    fn row(&self, id: Uuid) -> Option<Row> {
        self.items.lock().unwrap().get(&id).cloned()
    }

    fn delete(&self, id: Uuid) {
        self.items.lock().unwrap().remove(&id);
    }

    /// What the embedding-generator does once every chunk has its vector.
    fn embed_all(&self, id: Uuid) {
        let mut items = self.items.lock().unwrap();
        let row = items.get_mut(&id).unwrap();
        row.embedded = row.chunks.len();
        row.status = "completed".into();
    }
}

#[async_trait]
impl IngestStore for MemoryRecords {
    async fn claim(
        &self,
        item_id: Uuid,
        expected: Option<(Uuid, &str)>,
        _attempt: &Attempt,
    ) -> Result<Option<ClaimedItem>, AppError> {
        let mut items = self.items.lock().unwrap();
        let Some(row) = items.get_mut(&item_id) else {
            return Ok(None);
        };
        if expected.is_some_and(|(repo, source)| repo != row.repository_id || source != row.source)
        {
            return Ok(None);
        }
        if row.status != "completed" {
            row.status = "processing".into();
            row.error = None;
            row.attempt_open = true;
        }
        Ok(Some(ClaimedItem {
            id: item_id,
            repository_id: row.repository_id,
            name: row.name.clone(),
            source: row.source.clone(),
            content_type: None,
        }))
    }

    async fn store_chunks(
        &self,
        item_id: Uuid,
        document_hash: &str,
        _page_count: Option<i32>,
        chunks: &[NewChunk],
    ) -> Result<Stored, AppError> {
        if chunks.is_empty() {
            return Err(AppError::validation("The document has no text to store"));
        }
        let mut items = self.items.lock().unwrap();
        let Some(row) = items.get_mut(&item_id) else {
            return Err(AppError::not_found(
                "The item was deleted while it was processed",
            ));
        };
        let ids = |row: &Row| row.chunks.iter().map(|(id, _)| *id).collect();
        if row.content_hash.as_deref() == Some(document_hash) && row.chunks.len() == chunks.len() {
            let completed = row.embedded == row.chunks.len();
            row.status = if completed { "completed" } else { "embedding" }.into();
            row.error = None;
            return Ok(Stored::Unchanged {
                chunk_ids: ids(row),
                completed,
            });
        }
        row.chunks = chunks.iter().map(|c| (Uuid::new_v4(), c.clone())).collect();
        row.content_hash = Some(document_hash.to_owned());
        row.embedded = 0;
        row.status = "embedding".into();
        row.error = None;
        Ok(Stored::Replaced {
            chunk_ids: ids(row),
        })
    }

    async fn hand_over(&self, item_id: Uuid) -> Result<(), AppError> {
        if let Some(row) = self.items.lock().unwrap().get_mut(&item_id) {
            row.attempt_open = false;
        }
        Ok(())
    }

    async fn fail(&self, item_id: Uuid, reason: &str) -> Result<(), AppError> {
        if let Some(row) = self.items.lock().unwrap().get_mut(&item_id) {
            row.status = "failed".into();
            row.error = Some(reason.to_owned());
        }
        Ok(())
    }

    async fn ocr_job_in_progress(&self, item_id: Uuid) -> Result<Option<OcrJob>, AppError> {
        let jobs = self.jobs.lock().unwrap();
        Ok(jobs
            .iter()
            .rev()
            .find(|j| j.item_id == item_id && j.status == "in_progress")
            .cloned())
    }

    async fn reserve_ocr_pages(
        &self,
        pages: i32,
        default_limit: i32,
    ) -> Result<Result<(), Exhausted>, AppError> {
        let mut budget = self.budget.lock().unwrap();
        let (limit, used) = budget.get_or_insert((default_limit, 0));
        if *used + pages > *limit {
            return Ok(Err(Exhausted {
                limit: *limit,
                used: *used,
                needed: pages,
            }));
        }
        *used += pages;
        Ok(Ok(()))
    }

    async fn release_ocr_pages(&self, pages: i32) -> Result<(), AppError> {
        if let Some((_, used)) = self.budget.lock().unwrap().as_mut() {
            *used = (*used - pages).max(0);
        }
        Ok(())
    }

    async fn record_ocr_job(
        &self,
        job_id: &str,
        item_id: Uuid,
        reserved_pages: i32,
    ) -> Result<(), AppError> {
        let mut jobs = self.jobs.lock().unwrap();
        if !jobs.iter().any(|j| j.job_id == job_id) {
            jobs.push(OcrJob {
                job_id: job_id.to_owned(),
                item_id,
                status: "in_progress".into(),
                pages: Some(reserved_pages),
                error: None,
            });
        }
        Ok(())
    }
}

/// Objects in a map; a read over the cap is refused unread, as the port requires.
#[derive(Default)]
struct MemoryObjects(Mutex<HashMap<String, Vec<u8>>>);

#[async_trait]
impl ObjectStore for MemoryObjects {
    async fn presign_put(
        &self,
        key: &str,
        _content_type: Option<&str>,
        _expires: std::time::Duration,
    ) -> Result<String, AppError> {
        Ok(format!("memory:///{key}"))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), AppError> {
        self.0.lock().unwrap().insert(key.to_owned(), bytes);
        Ok(())
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, AppError> {
        let objects = self.0.lock().unwrap();
        let Some(bytes) = objects.get(key) else {
            return Err(AppError::not_found("The uploaded file is not in storage"));
        };
        let size = bytes.len() as u64;
        if size > max_bytes {
            return Err(AppError::new(
                ErrorCode::TooLarge,
                format!("The file is {size} bytes; the limit is {max_bytes}"),
            ));
        }
        Ok(bytes.clone())
    }

    async fn delete(&self, key: &str) -> Result<(), AppError> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
}

/// The embedding queue: every message body sent, in order.
#[derive(Default)]
struct MemoryQueue(Mutex<Vec<String>>);

#[async_trait]
impl Queue for MemoryQueue {
    async fn send(&self, bodies: Vec<String>) -> Result<(), AppError> {
        self.0.lock().unwrap().extend(bodies);
        Ok(())
    }
}

/// An OCR engine that starts jobs and remembers the keys it was asked to read.
#[derive(Default)]
struct StartingOcr(Mutex<Vec<String>>);

#[async_trait]
impl OcrEngine for StartingOcr {
    async fn start(&self, key: &str, _item_id: Uuid) -> Result<String, AppError> {
        let mut started = self.0.lock().unwrap();
        started.push(key.to_owned());
        Ok(format!("job-{}", started.len()))
    }

    async fn results(&self, _completion: &Completion) -> Result<JobResult, AppError> {
        Ok(JobResult::Failed("no results in these tests".into()))
    }
}

/// One repository's uploads, and the pipeline over them.
struct Uploads {
    repository: Uuid,
    records: MemoryRecords,
    objects: MemoryObjects,
    queue: MemoryQueue,
}

impl Uploads {
    fn new() -> Self {
        Self {
            repository: Uuid::new_v4(),
            records: MemoryRecords::default(),
            objects: MemoryObjects::default(),
            queue: MemoryQueue::default(),
        }
    }

    /// A pending item with its bytes in storage, as after a presigned PUT.
    fn upload(&self, name: &str, bytes: &[u8]) -> ObjectKey {
        let key = ObjectKey::new(self.repository, Uuid::new_v4(), name).unwrap();
        self.objects
            .0
            .lock()
            .unwrap()
            .insert(key.to_key(), bytes.to_vec());
        let row = Row {
            repository_id: self.repository,
            name: name.to_owned(),
            source: key.to_key(),
            status: "pending".into(),
            error: None,
            content_hash: None,
            chunks: Vec::new(),
            embedded: 0,
            attempt_open: false,
        };
        self.records.items.lock().unwrap().insert(key.item_id, row);
        key
    }

    fn pipeline<'a>(&'a self, store: &'a dyn ObjectStore, ocr: Option<Ocr<'a>>) -> Pipeline<'a> {
        Pipeline {
            records: &self.records,
            store,
            embedding_queue: &self.queue,
            extractor: std::sync::Arc::new(DocumentExtractor::default()),
            chunker: std::sync::Arc::new(TokenChunker::default()),
            max_bytes: MAX_BYTES,
            fetch_policy: FetchPolicy::default(),
            ocr,
        }
    }

    /// The S3 notification for `key`, processed with OCR as given.
    async fn process_with(&self, key: &ObjectKey, ocr: Option<Ocr<'_>>) -> Outcome {
        self.pipeline(&self.objects, ocr)
            .process_object(key, &attempt())
            .await
            .unwrap()
    }

    async fn process(&self, key: &ObjectKey) -> Outcome {
        self.process_with(key, None).await
    }

    fn item(&self, key: &ObjectKey) -> Row {
        self.records.row(key.item_id).unwrap()
    }

    /// The chunk ids of each embedding message sent.
    fn messages(&self) -> Vec<Vec<Uuid>> {
        self.queue
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|body| {
                let body: serde_json::Value = serde_json::from_str(body).unwrap();
                serde_json::from_value(body["chunkIds"].clone()).unwrap()
            })
            .collect()
    }
}

/// The first delivery of a message to an invocation with 15 minutes left.
fn attempt() -> Attempt {
    Attempt {
        deadline: Utc::now() + chrono::Duration::minutes(15),
        delivery: 1,
        max_deliveries: 3,
    }
}

fn chunk_ids(row: &Row) -> Vec<Uuid> {
    row.chunks.iter().map(|(id, _)| *id).collect()
}

/// A handbook long enough for several chunks, under two headings.
fn handbook() -> String {
    let leave = "Staff may take up to twenty-five days of paid leave each calendar year, \
                 booked through the team calendar at least two weeks ahead. ";
    let travel = "Train travel is booked in standard class; flights need a manager's \
                  approval when the journey by rail takes under five hours. ";
    format!(
        "# Staff handbook\n\n## Annual leave\n\n{}\n\n## Travel\n\n{}\n",
        leave.repeat(40),
        travel.repeat(40)
    )
}

/// PNG's signature and a header: an image, with no text layer.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

#[tokio::test]
async fn a_text_or_markdown_file_becomes_stored_chunks_and_one_embedding_message_with_their_ids() {
    let uploads = Uploads::new();
    let markdown = uploads.upload("handbook.md", handbook().as_bytes());
    let text = uploads.upload(
        "notes.txt",
        b"The barn owls nested in the north loft again this spring.\n",
    );

    let outcome = uploads.process(&markdown).await;
    let item = uploads.item(&markdown);
    assert!(item.chunks.len() > 1, "{} chunks", item.chunks.len());
    assert_eq!(
        outcome,
        Outcome::Queued {
            chunks: item.chunks.len(),
            unchanged: false
        }
    );
    assert_eq!(
        (item.status.as_str(), item.error.as_deref()),
        ("embedding", None)
    );
    assert!(!item.attempt_open, "the item is handed over to embedding");
    assert!(item.chunks.iter().any(|(_, c)| {
        c.heading_path.iter().any(|h| h == "Travel") && c.content.contains("standard class")
    }));
    assert_eq!(uploads.messages(), vec![chunk_ids(&item)]);

    assert_eq!(
        uploads.process(&text).await,
        Outcome::Queued {
            chunks: 1,
            unchanged: false
        }
    );
    let item = uploads.item(&text);
    assert!(item.chunks[0].1.content.contains("barn owls"));
    assert_eq!(uploads.messages().len(), 2);
    assert_eq!(uploads.messages()[1], chunk_ids(&item));
}

#[tokio::test]
async fn a_corrupt_or_unsupported_file_fails_the_item_with_a_readable_reason_and_queues_nothing() {
    let uploads = Uploads::new();
    let files: [(&str, &[u8], &str); 3] = [
        (
            "report.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nthis is not a PDF body",
            "PDF",
        ),
        (
            "setup.exe",
            b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0",
            "EXE",
        ),
        ("empty.txt", b"", "empty"),
    ];
    for (name, bytes, mentioned) in files {
        let key = uploads.upload(name, bytes);
        let Outcome::Failed(reason) = uploads.process(&key).await else {
            panic!("{name} did not fail");
        };
        let item = uploads.item(&key);
        assert_eq!(item.status, "failed", "{name}");
        assert_eq!(item.error.as_deref(), Some(reason.as_str()), "{name}");
        assert!(reason.contains(mentioned), "{name}: {reason}");
        assert!(
            reason.starts_with(char::is_uppercase) && reason.ends_with('.'),
            "{name}: {reason}"
        );
        assert!(item.chunks.is_empty(), "{name}");
    }
    assert!(uploads.messages().is_empty());
}

#[tokio::test]
async fn an_object_over_the_size_cap_fails_with_a_reason_naming_the_limit() {
    let uploads = Uploads::new();
    let key = uploads.upload("big.txt", &vec![b'a'; MAX_BYTES as usize + 1]);

    let Outcome::Failed(reason) = uploads.process(&key).await else {
        panic!("an oversized object did not fail");
    };
    assert!(reason.contains(&MAX_BYTES.to_string()), "{reason}");
    let item = uploads.item(&key);
    assert_eq!(item.status, "failed");
    assert_eq!(item.error, Some(reason));
    assert!(item.chunks.is_empty());
    assert!(uploads.messages().is_empty());
}

#[tokio::test]
async fn identical_content_once_embedded_is_unchanged_and_queued_no_more() {
    let uploads = Uploads::new();
    let key = uploads.upload("handbook.md", handbook().as_bytes());
    uploads.process(&key).await;
    let first = chunk_ids(&uploads.item(&key));
    uploads.records.embed_all(key.item_id);

    let again = uploads.process(&key).await;
    assert_eq!(
        again,
        Outcome::Queued {
            chunks: first.len(),
            unchanged: true
        }
    );
    let item = uploads.item(&key);
    assert_eq!(item.status, "completed");
    assert_eq!(chunk_ids(&item), first, "the stored chunks are kept");
    assert_eq!(uploads.messages(), vec![first], "no second message");
}

#[tokio::test]
async fn identical_content_before_embedding_finished_sends_the_same_ids_again_not_new_chunks() {
    let uploads = Uploads::new();
    let key = uploads.upload("handbook.md", handbook().as_bytes());
    uploads.process(&key).await;
    let first = chunk_ids(&uploads.item(&key));

    let again = uploads.process(&key).await;
    assert_eq!(
        again,
        Outcome::Queued {
            chunks: first.len(),
            unchanged: true
        }
    );
    assert_eq!(chunk_ids(&uploads.item(&key)), first);
    assert_eq!(uploads.messages(), vec![first.clone(), first]);
}

#[tokio::test]
async fn changed_content_replaces_the_chunks_and_queues_the_new_ids() {
    let uploads = Uploads::new();
    let key = uploads.upload("handbook.md", handbook().as_bytes());
    uploads.process(&key).await;
    let first = chunk_ids(&uploads.item(&key));
    uploads.records.embed_all(key.item_id);
    uploads
        .objects
        .put(
            &key.to_key(),
            b"# Staff handbook\n\nRewritten.\n".to_vec(),
            "",
        )
        .await
        .unwrap();

    uploads.process(&key).await;
    let item = uploads.item(&key);
    assert_eq!(item.status, "embedding");
    assert_eq!(item.chunks.len(), 1);
    assert!(!first.contains(&item.chunks[0].0));
    assert_eq!(uploads.messages(), vec![first, chunk_ids(&item)]);
}

#[tokio::test]
async fn an_item_deleted_before_its_object_is_processed_is_gone() {
    let uploads = Uploads::new();
    let key = uploads.upload("notes.txt", b"Minutes of the April meeting.\n");
    uploads.records.delete(key.item_id);

    assert_eq!(uploads.process(&key).await, Outcome::Gone);
    assert!(uploads.records.row(key.item_id).is_none());
    assert!(uploads.messages().is_empty());
}

/// Storage whose object's item is deleted while the object is read.
struct DeletedWhileRead<'a>(&'a Uploads);

#[async_trait]
impl ObjectStore for DeletedWhileRead<'_> {
    async fn presign_put(
        &self,
        key: &str,
        content_type: Option<&str>,
        expires: std::time::Duration,
    ) -> Result<String, AppError> {
        self.0.objects.presign_put(key, content_type, expires).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), AppError> {
        self.0.objects.put(key, bytes, content_type).await
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, AppError> {
        self.0
            .records
            .delete(ObjectKey::parse(key).unwrap().item_id);
        self.0.objects.get(key, max_bytes).await
    }

    async fn delete(&self, key: &str) -> Result<(), AppError> {
        self.0.objects.delete(key).await
    }
}

#[tokio::test]
async fn an_item_deleted_while_it_is_processed_queues_nothing() {
    let uploads = Uploads::new();
    let key = uploads.upload("notes.txt", b"Minutes of the April meeting.\n");
    let store = DeletedWhileRead(&uploads);

    let error = uploads
        .pipeline(&store, None)
        .process_object(&key, &attempt())
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::NotFound);
    assert!(uploads.records.row(key.item_id).is_none());
    assert!(uploads.messages().is_empty());
}

#[tokio::test]
async fn a_scan_with_no_ocr_engine_fails_saying_ocr_is_unavailable() {
    let uploads = Uploads::new();
    let key = uploads.upload("receipt.png", PNG);

    let Outcome::Failed(reason) = uploads.process(&key).await else {
        panic!("a scan without OCR did not fail");
    };
    assert!(reason.contains("OCR is not available"), "{reason}");
    let item = uploads.item(&key);
    assert_eq!(
        (item.status.as_str(), item.error.as_deref()),
        ("failed", Some(reason.as_str()))
    );
    assert!(uploads.messages().is_empty());
    assert_eq!(*uploads.records.budget.lock().unwrap(), None);
}

#[tokio::test]
async fn a_scan_reserves_its_pages_and_starts_one_ocr_job_however_often_it_is_delivered() {
    let uploads = Uploads::new();
    let engine = StartingOcr::default();
    let ocr = || {
        Some(Ocr {
            engine: &engine,
            monthly_pages: 10,
        })
    };
    let key = uploads.upload("receipt.png", PNG);

    for _ in 0..2 {
        assert_eq!(
            uploads.process_with(&key, ocr()).await,
            Outcome::OcrStarted {
                job_id: "job-1".into(),
                pages: 1
            }
        );
    }
    assert_eq!(*engine.0.lock().unwrap(), vec![key.to_key()]);
    assert_eq!(*uploads.records.budget.lock().unwrap(), Some((10, 1)));
    let item = uploads.item(&key);
    assert_eq!(item.status, "processing", "waiting for the OCR text");
    assert!(!item.attempt_open, "the item is handed over to OCR");
    assert!(uploads.messages().is_empty());
}

#[tokio::test]
async fn a_scan_past_the_monthly_ocr_budget_fails_saying_so_and_starts_no_job() {
    let uploads = Uploads::new();
    let engine = StartingOcr::default();
    let key = uploads.upload("receipt.png", PNG);
    *uploads.records.budget.lock().unwrap() = Some((10, 10));

    let outcome = uploads
        .process_with(
            &key,
            Some(Ocr {
                engine: &engine,
                monthly_pages: 10,
            }),
        )
        .await;
    let Outcome::Failed(reason) = outcome else {
        panic!("a scan past the budget did not fail: {outcome:?}");
    };
    assert!(
        reason.starts_with("The monthly OCR budget of 10 pages is used up"),
        "{reason}"
    );
    assert_eq!(uploads.item(&key).error, Some(reason));
    assert!(engine.0.lock().unwrap().is_empty());
}
