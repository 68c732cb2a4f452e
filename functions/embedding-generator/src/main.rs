//! embedding-generator entry point: builds the Data API client and the embedder once.

use embedding_generator::config::EmbeddingGeneratorConfig;
use embedding_generator::handler::{Deps, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::config::FromEnv;
use shared::data_api::DataApi;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = EmbeddingGeneratorConfig::from_env()?;
    let deps = Deps {
        db: DataApi::from_env(&config.common.database).await,
        embedder: shared::embed::from_env().await?,
        max_receive_count: config.max_receive_count,
    };
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        handle(event.payload, deps, event.context.deadline).await
    }))
    .await
}
