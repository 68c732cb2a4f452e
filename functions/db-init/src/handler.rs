//! Parses the event, runs the migration runner, answers CloudFormation.

use serde_json::{Value, json};
use shared::data_api::DataApi;
use shared::migrate::{self, Migration};
use shared::{ActionState, AppError, ErrorCode};

use crate::custom_resource::{self, Request, RequestType, Response, Status};

/// What the handler needs, built once at cold start.
#[derive(Debug)]
pub struct Deps {
    pub db: DataApi,
    pub migrations: Vec<Migration>,
    pub http: reqwest::Client,
}

/// A CloudFormation custom-resource event, or `{"action": "migrate" | "status"}`.
pub async fn handle(event: Value, deps: &Deps) -> Result<Value, AppError> {
    if event.get("RequestType").is_some() {
        return custom_resource(event, deps).await;
    }
    match event.get("action").and_then(Value::as_str) {
        Some("migrate") => {
            let report = migrate::migrate(&deps.db, &deps.migrations)
                .await
                .map_err(failed)?;
            tracing::info!(
                applied = report.applied.len(),
                already_applied = report.already_applied,
                "Migrations done"
            );
            Ok(json!(ActionState::success(report)))
        }
        Some("status") => {
            let status = migrate::status(&deps.db, &deps.migrations)
                .await
                .map_err(failed)?;
            Ok(json!(ActionState::success(status)))
        }
        Some(other) => Err(AppError::validation(format!(
            "unknown action {other:?}; expected \"migrate\" or \"status\""
        ))),
        None => Err(AppError::validation(
            "expected a CloudFormation custom-resource event or {\"action\": \"migrate\" | \"status\"}",
        )),
    }
}

fn failed(error: migrate::MigrationError) -> AppError {
    tracing::error!(error = %error, "Migration failed");
    AppError::new(ErrorCode::Internal, error.to_string())
}

async fn custom_resource(event: Value, deps: &Deps) -> Result<Value, AppError> {
    let request: Request = match serde_json::from_value(event.clone()) {
        Ok(request) => request,
        Err(error) => {
            let reason = format!("Malformed custom-resource event: {error}");
            // Answer whenever there is somewhere to answer, so the stack fails now, not in an hour.
            if let Some(partial) = partial_request(&event) {
                let response = Response::new(&partial, Status::Failed, &reason, Value::Null);
                deliver(deps, &partial, &response).await?;
            }
            return Err(AppError::validation(reason));
        }
    };
    let (status, reason, data) = match request.request_type() {
        Err(reason) => (Status::Failed, reason, Value::Null),
        Ok(RequestType::Delete) => (
            Status::Success,
            "Schema left in place: removing the resource never drops data".to_owned(),
            Value::Null,
        ),
        Ok(RequestType::Create | RequestType::Update) => {
            match migrate::migrate(&deps.db, &deps.migrations).await {
                Ok(report) => (
                    Status::Success,
                    format!(
                        "Applied {} migration(s); {} were already applied",
                        report.applied.len(),
                        report.already_applied
                    ),
                    json!({ "Applied": report.applied.join(","), "AlreadyApplied": report.already_applied.to_string() }),
                ),
                Err(error) => {
                    tracing::error!(error = %error, "Migration failed");
                    (Status::Failed, error.to_string(), Value::Null)
                }
            }
        }
    };
    tracing::info!(request_type = %request.request_type, status = ?status, reason = %reason, "Answering CloudFormation");
    let response = Response::new(&request, status.clone(), &reason, data);
    deliver(deps, &request, &response).await?;
    Ok(json!({ "Status": status, "Reason": reason }))
}

async fn deliver(deps: &Deps, request: &Request, response: &Response) -> Result<(), AppError> {
    custom_resource::send(&deps.http, &request.response_url, response)
        .await
        .map_err(|e| AppError::new(ErrorCode::Unavailable, e.to_string()))
}

/// The parts of a malformed event needed to answer it, if it has a `ResponseURL`.
fn partial_request(event: &Value) -> Option<Request> {
    let text = |key: &str| {
        event
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let url = event.get("ResponseURL")?.as_str()?.to_owned();
    Some(Request {
        request_type: text("RequestType"),
        response_url: url,
        stack_id: text("StackId"),
        request_id: text("RequestId"),
        logical_resource_id: text("LogicalResourceId"),
        physical_resource_id: event
            .get("PhysicalResourceId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        resource_properties: Value::Null,
    })
}
