//! Runs of assistants: `POST /assistants/{id}/executions` queues a run and returns its id
//! at once; `GET /executions/{id}` shows status, prompt results and events.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use shared::chain::{self, store};

use crate::extract::{Call, Routed, id, json};

#[derive(Deserialize)]
struct RunRequest {
    #[serde(default)]
    inputs: Map<String, Value>,
}

pub async fn route(call: &Call<'_>) -> Routed {
    let (db, caller) = (call.db(), call.caller);
    match (call.method(), call.path) {
        ("POST", ["assistants", assistant, "executions"]) => {
            let run: RunRequest = call.body()?;
            let runs = call.deps.assistant_runs.as_ref();
            let execution = chain::start_manual(
                db,
                runs,
                caller,
                id(assistant)?,
                &run.inputs,
                call.request_id,
            )
            .await?;
            json(json!({ "executionId": execution.id, "status": execution.status }))
        }
        ("GET", ["executions", execution]) => {
            let execution = store::get(db, caller, id(execution)?).await?;
            let (results, events) = tokio::try_join!(
                store::results(db, execution.id),
                store::events(db, execution.id, 0)
            )?;
            json(json!({ "execution": execution, "results": results, "events": events }))
        }
        _ => Ok(None),
    }
}
