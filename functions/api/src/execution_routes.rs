//! Runs of assistants: `POST /assistants/{id}/executions` queues a run and returns its id
//! at once; `GET /executions/{id}` shows status, prompt results and events.

use lambda_http::Request;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use shared::AppError;
use shared::assistant::{self, validate::validate_inputs};
use shared::auth::Caller;
use shared::chain::{lease, store};

use crate::handler::Deps;
use crate::routes::{body, uuid};

#[derive(Deserialize)]
struct RunRequest {
    #[serde(default)]
    inputs: Map<String, Value>,
}

pub async fn dispatch(
    request: &Request,
    path: &[&str],
    caller: &Caller,
    deps: &Deps,
    request_id: &str,
) -> Option<Result<Value, AppError>> {
    Some(match (request.method().as_str(), path) {
        ("POST", ["assistants", id, "executions"]) => {
            run(request, caller, deps, id, request_id).await
        }
        ("GET", ["executions", id]) => show(caller, deps, id).await,
        _ => return None,
    })
}

async fn run(
    request: &Request,
    caller: &Caller,
    deps: &Deps,
    id: &str,
    request_id: &str,
) -> Result<Value, AppError> {
    let run: RunRequest = body(request)?;
    let assistant = assistant::get_runnable(&deps.db, caller, uuid(id)?).await?;
    validate_inputs(&assistant.input_fields, &Value::Object(run.inputs.clone()))?;
    let execution = store::create(
        &deps.db,
        caller,
        assistant.id,
        assistant.team_id,
        "manual",
        &run.inputs,
        request_id,
    )
    .await?;
    if let Err(error) = deps
        .assistant_runs
        .send(vec![lease::message(execution.id)])
        .await
    {
        store::fail(
            &deps.db,
            execution.id,
            &format!("The run could not be queued: {}", error.message),
        )
        .await?;
        return Err(error);
    }
    Ok(json!({ "executionId": execution.id, "status": execution.status }))
}

async fn show(caller: &Caller, deps: &Deps, id: &str) -> Result<Value, AppError> {
    let execution = store::get(&deps.db, caller, uuid(id)?).await?;
    let (results, events) = tokio::try_join!(
        store::results(&deps.db, execution.id),
        store::events(&deps.db, execution.id, 0)
    )?;
    Ok(json!({ "execution": execution, "results": results, "events": events }))
}
