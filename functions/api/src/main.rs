//! api entry point: builds clients once and serves API Gateway proxy requests.

use api::deps::Deps;
use api::handler::handle;
use lambda_http::{Error, run, service_fn};
use std::sync::Arc;

use api::config::ApiConfig;
use shared::adapters::aws::{S3ObjectStore, SecretsManagerDataKeys, SqsQueue, sdk_config};
use shared::config::FromEnv;
use shared::data_api::DataApi;
use shared::settings::Settings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = ApiConfig::from_env()?;
    let sdk = sdk_config().await;
    let db = DataApi::from_env(&config.common.database).await;
    let keys = SecretsManagerDataKeys::new(&sdk, &config.settings_key_secret_arn);
    let deps = Deps {
        settings: Settings::new(db.clone(), Arc::new(keys)),
        db,
        store: Box::new(S3ObjectStore::new(&sdk, &config.documents_bucket)),
        processing: Box::new(SqsQueue::new(&sdk, &config.file_processing_queue_url)),
        assistant_runs: Box::new(SqsQueue::new(&sdk, &config.assistant_runs_queue_url)),
        embedder: shared::embed::from_env().await?,
    };
    let deps = &deps;
    run(service_fn(move |request| async move {
        handle(request, deps).await
    }))
    .await
}
