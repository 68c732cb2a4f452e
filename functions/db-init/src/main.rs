//! db-init entry point: builds the Data API client once and serves invocations.

use db_init::handler::{Deps, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::config::{Config, FromEnv};
use shared::data_api::DataApi;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Config::from_env()?;
    let deps = Deps {
        db: DataApi::from_env(&config.database).await,
        migrations: shared::migrate::embedded()?,
        http: reqwest::Client::new(),
    };
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        handle(event.payload, deps).await
    }))
    .await
}
