//! scheduled-executor entry point: builds clients once and runs chains for each event.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use scheduled_executor::config::ScheduledExecutorConfig;
use serde_json::Value;
use shared::adapters::aws::{SecretsManagerDataKeys, SqsQueue, sdk_config};
use shared::adapters::mailer_from;
use shared::chain::execute::{DEFAULT_MARGIN, Executor};
use shared::config::{Env, FromEnv};
use shared::data_api::DataApi;
use shared::executor::StudioModels;
use shared::settings::Settings;
use shared::tools::Tools;
use shared::usage::UsageLedger;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = ScheduledExecutorConfig::from_env()?;
    let sdk = sdk_config().await;
    let db = DataApi::from_env(&config.common.database).await;
    let keys = SecretsManagerDataKeys::new(&sdk, &config.settings_key_secret_arn);
    let settings = Settings::new(db.clone(), Arc::new(keys));
    let models = StudioModels::new(db.clone(), settings);
    let ledger = UsageLedger { db: db.clone() };
    let embedder = shared::embed::from_env().await?;
    let tools = Tools::from_env()?;
    let mailer = mailer_from(&Env::process(), &sdk)?;
    let runs = SqsQueue::new(&sdk, &config.assistant_runs_queue_url);
    let executor = Executor {
        db: &db,
        models: &models,
        ledger: &ledger,
        embedder: embedder.as_ref(),
        tools: &tools,
        mailer: mailer.as_deref(),
        runs: &runs,
        margin: DEFAULT_MARGIN,
    };
    let executor = &executor;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let (request_id, deadline) = (event.context.request_id.clone(), event.context.deadline);
        scheduled_executor::handler::handle(event.payload, executor, &request_id, deadline)
            .await
            .map_err(lambda_runtime::Diagnostic::from)
    }))
    .await
}
