//! api entry point: builds clients once and serves API Gateway proxy requests.

use api::deps::Deps;
use api::handler::handle;
use lambda_http::{Error, run, service_fn};
use std::sync::Arc;

use shared::adapters::aws::{S3ObjectStore, SecretsManagerDataKeys, SqsQueue, sdk_config};
use shared::config::{self, Config};
use shared::data_api::DataApi;
use shared::settings::Settings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Config::from_env()?;
    let sdk = sdk_config().await;
    let db = DataApi::from_env(&config.database).await;
    let keys = SecretsManagerDataKeys::new(&sdk, &config::required("SETTINGS_KEY_SECRET_ARN")?);
    let deps = Deps {
        settings: Settings::new(db.clone(), Arc::new(keys)),
        db,
        store: Box::new(S3ObjectStore::new(
            &sdk,
            &config::required("DOCUMENTS_BUCKET")?,
        )),
        processing: Box::new(SqsQueue::new(
            &sdk,
            &config::required("FILE_PROCESSING_QUEUE_URL")?,
        )),
        assistant_runs: Box::new(SqsQueue::new(
            &sdk,
            &config::required("ASSISTANT_RUNS_QUEUE_URL")?,
        )),
        embedder: shared::embed::from_env().await?,
    };
    let deps = &deps;
    run(service_fn(move |request| async move {
        handle(request, deps).await
    }))
    .await
}
