//! embedding-generator entry point: builds the Data API client and the embedder once.

use embedding_generator::handler::{Deps, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::config::{self, Config};
use shared::data_api::DataApi;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Config::from_env()?;
    let deps = Deps {
        db: DataApi::from_env(&config.database).await,
        embedder: shared::embed::from_env().await?,
        max_receive_count: config::max_receive_count(),
    };
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        handle(event.payload, deps, event.context.deadline).await
    }))
    .await
}
