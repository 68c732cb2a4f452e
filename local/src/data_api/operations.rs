//! The five operations: `Execute`, `BatchExecute` and the three transaction calls, each
//! parsed, checked against the service's limits and run on the pool.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::statement::{self, Statement};
use super::values;
use super::wire::{BatchExecuteRequest, BeginRequest, EndRequest, ExecuteRequest};
use super::{ApiError, AppState, ErrorKind, parse, required, respond, respond_text, tally};

pub(super) async fn execute(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    respond_text(run_execute(&state, &body).await)
}

/// The response as JSON text: written once, for the size check and the wire.
async fn run_execute(state: &AppState, body: &Bytes) -> Result<String, ApiError> {
    let request: ExecuteRequest = parse(state, body)?;
    tally(state, "Execute", request.sql.as_deref());
    required(&request.resource_arn, "resourceArn")?;
    required(&request.secret_arn, "secretArn")?;
    let sql = required(&request.sql, "sql")?;
    let statement = Statement::new(sql, &request.parameters)?;
    state.maybe_fault()?;
    let (timeout, cancel) = (
        state.config.statement_timeout,
        !request.continue_after_timeout,
    );
    let outcome = match &request.transaction_id {
        Some(id) => {
            let entry = state.transactions.get(id)?;
            let mut tx = entry.lock().await;
            let outcome = statement.run(&tx.connection, false, timeout, cancel).await;
            tx.failed |= outcome.is_err();
            tx.last_used = std::time::Instant::now();
            outcome?
        }
        None => {
            let connection = state.pool.get(state.database(&request.database)).await?;
            statement.run(&connection, true, timeout, cancel).await?
        }
    };
    let options = request.result_set_options.unwrap_or_default();
    let types = values::ReturnTypes {
        decimal_as_number: options.decimal_return_type.as_deref() == Some("DOUBLE_OR_LONG"),
        long_as_string: options.long_return_type.as_deref() == Some("STRING"),
    };
    let as_json = match request.format_records_as.as_deref() {
        None | Some("NONE") => false,
        Some("JSON") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid formatRecordsAs value {other}"
            )));
        }
    };
    let body = outcome
        .execute_response(request.include_result_metadata, as_json, types)
        .to_string();
    if body.len() > state.config.max_response_bytes {
        return Err(ApiError::bad_request(
            "Database returned more than the allowed response size limit",
        ));
    }
    Ok(body)
}

pub(super) async fn batch_execute(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    respond(run_batch(&state, &body).await)
}

async fn run_batch(state: &AppState, body: &Bytes) -> Result<Value, ApiError> {
    let request: BatchExecuteRequest = parse(state, body)?;
    tally(state, "BatchExecute", request.sql.as_deref());
    required(&request.resource_arn, "resourceArn")?;
    required(&request.secret_arn, "secretArn")?;
    let sql = required(&request.sql, "sql")?;
    let statements = if request.parameter_sets.is_empty() {
        vec![Statement::new(sql, &[])?]
    } else {
        request
            .parameter_sets
            .iter()
            .map(|set| Statement::new(sql, set))
            .collect::<Result<Vec<_>, _>>()?
    };
    state.maybe_fault()?;
    let timeout = state.config.statement_timeout;
    let results = match &request.transaction_id {
        Some(id) => {
            let entry = state.transactions.get(id)?;
            let mut tx = entry.lock().await;
            let outcome = statement::run_all(&tx.connection, &statements, timeout).await;
            tx.failed |= outcome.is_err();
            tx.last_used = std::time::Instant::now();
            outcome?
        }
        // Without a transaction the batch is still all or nothing.
        None => {
            let connection = state.pool.get(state.database(&request.database)).await?;
            let client = connection.client();
            client
                .batch_execute("BEGIN")
                .await
                .map_err(|e| ApiError::from_postgres(&e))?;
            match statement::run_all(&connection, &statements, timeout).await {
                Ok(results) => {
                    client
                        .batch_execute("COMMIT")
                        .await
                        .map_err(|e| ApiError::from_postgres(&e))?;
                    results
                }
                Err(error) => {
                    let _ = client.batch_execute("ROLLBACK").await;
                    return Err(error);
                }
            }
        }
    };
    let update_results: Vec<Value> = results
        .iter()
        .map(|outcome| json!({ "generatedFields": outcome.generated_fields() }))
        .collect();
    Ok(json!({ "updateResults": update_results }))
}

pub(super) async fn begin_transaction(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    respond(run_begin(&state, &body).await)
}

async fn run_begin(state: &AppState, body: &Bytes) -> Result<Value, ApiError> {
    let request: BeginRequest = parse(state, body)?;
    tally(state, "BeginTransaction", None);
    required(&request.resource_arn, "resourceArn")?;
    required(&request.secret_arn, "secretArn")?;
    state.maybe_fault()?;
    let connection = state.pool.get(state.database(&request.database)).await?;
    connection
        .client()
        .batch_execute("BEGIN")
        .await
        .map_err(|e| ApiError::from_postgres(&e))?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    state.transactions.insert(id.clone(), connection);
    Ok(json!({ "transactionId": id }))
}

pub(super) async fn commit_transaction(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Response {
    respond(run_end(&state, &body, true).await)
}

pub(super) async fn rollback_transaction(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Response {
    respond(run_end(&state, &body, false).await)
}

async fn run_end(state: &AppState, body: &Bytes, commit: bool) -> Result<Value, ApiError> {
    let request: EndRequest = parse(state, body)?;
    tally(
        state,
        if commit {
            "CommitTransaction"
        } else {
            "RollbackTransaction"
        },
        None,
    );
    required(&request.resource_arn, "resourceArn")?;
    required(&request.secret_arn, "secretArn")?;
    let id = required(&request.transaction_id, "transactionId")?;
    state.transactions.get(id)?;
    state.maybe_fault()?;
    let entry = state.transactions.remove(id)?;
    let tx = entry.lock().await;
    let client = tx.connection.client();
    if !commit {
        client
            .batch_execute("ROLLBACK")
            .await
            .map_err(|e| ApiError::from_postgres(&e))?;
        return Ok(json!({ "transactionStatus": "Rollback Complete" }));
    }
    if tx.failed {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(ApiError::new(
            ErrorKind::DatabaseError,
            "ERROR: current transaction is aborted, the transaction was rolled back; SQLState: 25P02",
        ));
    }
    client
        .batch_execute("COMMIT")
        .await
        .map_err(|e| ApiError::from_postgres(&e))?;
    Ok(json!({ "transactionStatus": "Transaction Committed" }))
}
