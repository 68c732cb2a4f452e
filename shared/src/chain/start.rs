//! A run on demand: the assistant must be runnable by the caller and the inputs valid;
//! the execution is created `pending` and queued for the scheduled-executor, or failed
//! with the reason when the queue refuses it.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::lease;
use super::store::{self, Execution};
use crate::assistant::{self, validate::validate_inputs};
use crate::auth::Caller;
use crate::data_api::DataApi;
use crate::error::AppError;
use crate::ports::Queue;

/// Queues a manual run of `assistant_id` with `inputs` on the assistant-runs queue.
pub async fn start_manual(
    db: &DataApi,
    runs: &dyn Queue,
    caller: &Caller,
    assistant_id: Uuid,
    inputs: &Map<String, Value>,
    request_id: &str,
) -> Result<Execution, AppError> {
    let assistant = assistant::get_runnable(db, caller, assistant_id).await?;
    validate_inputs(&assistant.input_fields, &Value::Object(inputs.clone()))?;
    let execution = store::create(
        db,
        caller,
        assistant.id,
        assistant.team_id,
        "manual",
        inputs,
        request_id,
    )
    .await?;
    if let Err(error) = runs.send(vec![lease::message(execution.id)]).await {
        let reason = format!("The run could not be queued: {}", error.message);
        store::fail(db, execution.id, &reason).await?;
        return Err(error);
    }
    Ok(execution)
}
