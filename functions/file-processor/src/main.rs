//! file-processor entry point: builds clients, the extractor, the chunker and OCR once.

use std::sync::Arc;

use file_processor::config::FileProcessorConfig;
use file_processor::handler::{Deps, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::adapters::aws::{S3ObjectStore, SqsQueue, sdk_config};
use shared::adapters::ocr_from;
use shared::config::{Env, FromEnv};
use shared::data_api::DataApi;
use shared::fetch::FetchPolicy;
use shared::ingest::DataApiIngestStore;
use shared::ingest::pipeline::{Ocr, Pipeline};
use shared::ingest::stages::{DocumentExtractor, TokenChunker};
use shared::knowledge::items::MAX_UPLOAD_BYTES;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = FileProcessorConfig::from_env()?;
    let sdk = sdk_config().await;
    let records = DataApiIngestStore {
        db: DataApi::from_env(&config.common.database).await,
    };
    let store = Arc::new(S3ObjectStore::new(&sdk, &config.documents_bucket));
    let ocr = ocr_from(&Env::process(), &sdk)?;
    let embedding_queue = SqsQueue::new(&sdk, &config.embedding_queue_url);
    let deps = Deps {
        pipeline: Pipeline {
            records: &records,
            store: store.as_ref(),
            embedding_queue: &embedding_queue,
            extractor: Arc::new(DocumentExtractor::default()),
            chunker: Arc::new(TokenChunker::default()),
            max_bytes: MAX_UPLOAD_BYTES as u64,
            fetch_policy: FetchPolicy::default(),
            ocr: ocr.as_deref().map(|engine| Ocr {
                engine,
                monthly_pages: config.ocr_monthly_pages,
            }),
        },
        max_receive_count: config.max_receive_count,
    };
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        handle(event.payload, deps, event.context.deadline).await
    }))
    .await
}
