//! textract-processor entry point: builds clients, the chunker and the OCR engine once.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::adapters::aws::{S3ObjectStore, SqsQueue, sdk_config};
use shared::adapters::ocr_from;
use shared::config::{ConfigError, Env, FromEnv};
use shared::data_api::DataApi;
use shared::fetch::FetchPolicy;
use shared::ingest::DataApiIngestStore;
use shared::ingest::pipeline::Pipeline;
use shared::ingest::stages::{DocumentExtractor, TokenChunker};
use shared::knowledge::items::MAX_UPLOAD_BYTES;
use textract_processor::config::TextractProcessorConfig;
use textract_processor::handler::{Deps, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = TextractProcessorConfig::from_env()?;
    let sdk = sdk_config().await;
    let db = DataApi::from_env(&config.common.database).await;
    let records = DataApiIngestStore { db: db.clone() };
    let store = Arc::new(S3ObjectStore::new(&sdk, &config.documents_bucket));
    let embedding_queue = SqsQueue::new(&sdk, &config.embedding_queue_url);
    let engine =
        ocr_from(&Env::process(), &sdk)?.ok_or(ConfigError::Missing(vec!["OCR_PROVIDER"]))?;
    let deps = Deps {
        db: &db,
        pipeline: Pipeline {
            records: &records,
            store: store.as_ref(),
            embedding_queue: &embedding_queue,
            extractor: Arc::new(DocumentExtractor::default()),
            chunker: Arc::new(TokenChunker::default()),
            max_bytes: MAX_UPLOAD_BYTES as u64,
            fetch_policy: FetchPolicy::default(),
            ocr: None,
        },
        engine: engine.as_ref(),
        max_receive_count: config.max_receive_count,
    };
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        handle(event.payload, deps, event.context.deadline).await
    }))
    .await
}
