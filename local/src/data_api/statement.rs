//! One statement: `:name` parameters bound as typed text, run with the service's timeout,
//! and its result shaped as the Data API returns it.

use std::pin::pin;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_postgres::types::{Kind, ToSql, Type};
use tokio_postgres::{Client, NoTls};

use super::errors::{ApiError, Kind as ErrorKind};
use super::params::{self, TextParam};
use super::pool::Pooled;
use super::values::{Cell, ReturnTypes, Unsupported};
use super::wire::SqlParameter;

#[derive(Debug)]
pub struct Statement {
    sql: String,
    types: Vec<Type>,
    values: Vec<TextParam>,
    counts_updates: bool,
}

/// Rows and counts from one run.
#[derive(Debug)]
pub struct Outcome {
    columns: Vec<(String, Type)>,
    rows: Vec<Vec<Cell>>,
    affected: u64,
    counts_updates: bool,
}

/// The type PostgreSQL is asked to infer (oid 0), for NULL parameters.
fn unspecified() -> Type {
    Type::new(
        "unspecified".to_owned(),
        0,
        Kind::Pseudo,
        "pg_catalog".to_owned(),
    )
}

impl Statement {
    pub fn new(sql: &str, parameters: &[SqlParameter]) -> Result<Self, ApiError> {
        if sql.contains('\0') {
            return Err(ApiError::bad_request(
                "The SQL statement contains a NUL character",
            ));
        }
        let positional = shared::sql::to_positional(sql);
        let mut types = Vec::with_capacity(positional.names.len());
        let mut values = Vec::with_capacity(positional.names.len());
        for name in &positional.names {
            let parameter = parameters
                .iter()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("No value specified for parameter :{name}"))
                })?;
            let field = parameter
                .value
                .as_ref()
                .ok_or_else(|| ApiError::bad_request(format!("Parameter {name} has no value")))?;
            let (ty, value) = params::bind(field, parameter.type_hint.as_deref(), name)?;
            types.push(ty.unwrap_or_else(unspecified));
            values.push(value);
        }
        let counts_updates = !matches!(
            shared::sql::leading_keyword(sql).as_str(),
            "SELECT" | "WITH" | "VALUES" | "SHOW" | "TABLE" | "EXPLAIN"
        );
        Ok(Self {
            sql: positional.sql,
            types,
            values,
            counts_updates,
        })
    }

    /// Runs the statement; past `timeout` it is cancelled in PostgreSQL and reported as timed out.
    /// `alone`: not part of a transaction (a failed statement may be run again).
    pub async fn run(
        &self,
        connection: &Pooled,
        alone: bool,
        timeout: Duration,
        cancel_on_timeout: bool,
    ) -> Result<Outcome, ApiError> {
        let client = connection.client();
        let work = async {
            let prepared = connection
                .prepare(&self.sql, &self.types)
                .await
                .map_err(|e| ApiError::from_postgres(&e))?;
            let (prepared, (rows, affected)) = match self.rows(client, &prepared).await {
                Ok(read) => (prepared, read),
                Err(error) => {
                    // A failed statement is prepared afresh next time. When its cached plan
                    // went stale (a table it reads changed shape) it is retried at once,
                    // unless a transaction, which the failure aborted, holds it.
                    connection.forget(&self.sql, &self.types);
                    let stale = error
                        .message
                        .contains("cached plan must not change result type");
                    if !(stale && alone) {
                        return Err(error);
                    }
                    let prepared = connection
                        .prepare(&self.sql, &self.types)
                        .await
                        .map_err(|e| ApiError::from_postgres(&e))?;
                    let read = self.rows(client, &prepared).await?;
                    (prepared, read)
                }
            };
            let columns = prepared
                .columns()
                .iter()
                .map(|c| (c.name().to_owned(), c.type_().clone()))
                .collect();
            Ok(Outcome {
                columns,
                rows,
                affected,
                counts_updates: self.counts_updates,
            })
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // With continueAfterTimeout the statement goes on running in PostgreSQL.
                if !cancel_on_timeout {
                    return Err(timed_out(timeout));
                }
                if let Err(error) = client.cancel_token().cancel_query(NoTls).await {
                    tracing::warn!(%error, "Cancelling a timed-out statement failed");
                }
                Err(timed_out(timeout))
            }
        }
    }
}

impl Statement {
    async fn rows(
        &self,
        client: &Client,
        prepared: &tokio_postgres::Statement,
    ) -> Result<(Vec<Vec<Cell>>, u64), ApiError> {
        let params = self.values.iter().map(|v| v as &dyn ToSql);
        let stream = client
            .query_raw(prepared, params)
            .await
            .map_err(|e| ApiError::from_postgres(&e))?;
        let mut stream = pin!(stream);
        let mut rows = Vec::new();
        while let Some(row) = stream.next().await {
            let row = row.map_err(|e| ApiError::from_postgres(&e))?;
            let cells = (0..row.len())
                .map(|i| row.try_get::<_, Cell>(i).map_err(decode_error))
                .collect::<Result<Vec<_>, _>>()?;
            rows.push(cells);
        }
        Ok((rows, stream.rows_affected().unwrap_or(0)))
    }
}

fn timed_out(timeout: Duration) -> ApiError {
    ApiError::new(
        ErrorKind::StatementTimeout,
        format!("Request timed out after {} seconds", timeout.as_secs_f32()),
    )
}

/// Runs each statement in order on one connection, stopping at the first failure.
pub async fn run_all(
    connection: &Pooled,
    statements: &[Statement],
    timeout: Duration,
) -> Result<Vec<Outcome>, ApiError> {
    let mut outcomes = Vec::with_capacity(statements.len());
    for statement in statements {
        outcomes.push(statement.run(connection, false, timeout, true).await?);
    }
    Ok(outcomes)
}

fn decode_error(error: tokio_postgres::Error) -> ApiError {
    let unsupported =
        std::error::Error::source(&error).and_then(|s| s.downcast_ref::<Unsupported>());
    match unsupported {
        Some(u) => ApiError::new(ErrorKind::UnsupportedResult, u.to_string()),
        None => ApiError::new(
            ErrorKind::InternalServerError,
            format!("Cannot read a result value: {error}"),
        ),
    }
}

/// JDBC type codes, which the Data API reports in `columnMetadata.type`.
fn jdbc_type(ty: &Type) -> i32 {
    match *ty {
        Type::BOOL => -7,
        Type::INT2 => 5,
        Type::INT4 | Type::OID => 4,
        Type::INT8 => -5,
        Type::FLOAT4 => 7,
        Type::FLOAT8 => 8,
        Type::NUMERIC => 2,
        Type::BPCHAR | Type::CHAR => 1,
        Type::TEXT | Type::VARCHAR | Type::NAME => 12,
        Type::DATE => 91,
        Type::TIME => 92,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => 93,
        Type::BYTEA => -2,
        _ if matches!(ty.kind(), Kind::Array(_)) => 2003,
        _ => 1111,
    }
}

fn column_metadata(name: &str, ty: &Type) -> Value {
    let (precision, scale) = match *ty {
        Type::INT2 => (5, 0),
        Type::INT4 => (10, 0),
        Type::INT8 => (19, 0),
        Type::FLOAT4 => (8, 8),
        Type::FLOAT8 => (17, 17),
        Type::BOOL => (1, 0),
        _ => (2_147_483_647, 0),
    };
    let array_base = match ty.kind() {
        Kind::Array(element) => jdbc_type(element),
        _ => 0,
    };
    json!({
        "name": name,
        "label": name,
        "typeName": ty.name(),
        "type": jdbc_type(ty),
        "schemaName": "",
        "tableName": "",
        "isAutoIncrement": false,
        "isSigned": matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC),
        "isCurrency": false,
        "isCaseSensitive": matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME),
        "nullable": 2,
        "precision": precision,
        "scale": scale,
        "arrayBaseColumnType": array_base,
    })
}

impl Outcome {
    /// The body of an `ExecuteStatement` response.
    pub fn execute_response(
        &self,
        include_metadata: bool,
        as_json: bool,
        types: ReturnTypes,
    ) -> Value {
        let mut body = serde_json::Map::new();
        let updated = if self.counts_updates {
            self.affected
        } else {
            0
        };
        body.insert("numberOfRecordsUpdated".into(), json!(updated));
        body.insert("generatedFields".into(), json!([]));
        if !self.columns.is_empty() {
            if as_json {
                body.insert(
                    "formattedRecords".into(),
                    json!(self.formatted_records(types)),
                );
            } else {
                let records: Vec<Value> = self
                    .rows
                    .iter()
                    .map(|row| Value::Array(row.iter().map(|c| c.to_field(types)).collect()))
                    .collect();
                body.insert("records".into(), Value::Array(records));
            }
            if include_metadata {
                let metadata: Vec<Value> = self
                    .columns
                    .iter()
                    .map(|(n, t)| column_metadata(n, t))
                    .collect();
                body.insert("columnMetadata".into(), Value::Array(metadata));
            }
        }
        Value::Object(body)
    }

    /// `formatRecordsAs: JSON`: an array of objects whose keys keep the column order.
    fn formatted_records(&self, types: ReturnTypes) -> String {
        let mut out = String::from("[");
        for (i, row) in self.rows.iter().enumerate() {
            out.push_str(if i == 0 { "{" } else { ",{" });
            for (j, ((name, _), cell)) in self.columns.iter().zip(row).enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(name.clone()).to_string());
                out.push(':');
                out.push_str(&cell.to_json(types).to_string());
            }
            out.push('}');
        }
        out.push(']');
        out
    }

    /// What `BatchExecuteStatement` reports per set: the first returned row (`RETURNING`).
    pub fn generated_fields(&self) -> Vec<Value> {
        self.rows
            .first()
            .map(|row| {
                row.iter()
                    .map(|c| c.to_field(ReturnTypes::default()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
