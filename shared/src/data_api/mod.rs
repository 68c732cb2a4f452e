//! The RDS Data API layer: the only way functions reach Aurora.
//!
//! Statements use `:name` parameters bound from Rust values ([`Params`]), results decode
//! into serde types, transient failures retry with backoff ([`RetryPolicy`]), and
//! [`DataApi::transaction`] commits on `Ok` and rolls back on `Err`.

mod error;
mod params;
mod retry;
mod rows;

use aws_sdk_rdsdata::Client;
use aws_sdk_rdsdata::types::{Field, RecordsFormatType};
use serde::de::DeserializeOwned;

pub use error::{DbError, Transient};
pub use params::{Decimal, Params, SqlValue, TextArray, Vector, format_timestamp};
pub use retry::RetryPolicy;

use crate::config::DatabaseConfig;

/// What a write statement reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Executed {
    pub rows_updated: i64,
}

/// A client for one Aurora database through the Data API.
#[derive(Debug, Clone)]
pub struct DataApi {
    client: Client,
    resource_arn: String,
    secret_arn: String,
    database: String,
    retry: RetryPolicy,
}

/// An open Data API transaction; see [`DataApi::transaction`].
#[derive(Debug)]
pub struct Transaction<'a> {
    api: &'a DataApi,
    id: String,
}

impl DataApi {
    pub fn new(client: Client, config: &DatabaseConfig) -> Self {
        Self {
            client,
            resource_arn: config.resource_arn.clone(),
            secret_arn: config.secret_arn.clone(),
            database: config.name.clone(),
            retry: RetryPolicy {
                budget: config.retry_budget,
                ..RetryPolicy::default()
            },
        }
    }

    /// Builds the SDK client from the ambient AWS configuration (region, credentials,
    /// `AWS_ENDPOINT_URL_RDS_DATA`). SDK retries are off: [`RetryPolicy`] decides, so
    /// that SQL errors are never retried and resumes get a long enough budget.
    pub async fn from_env(config: &DatabaseConfig) -> Self {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(std::time::Duration::from_secs(5))
                    .operation_attempt_timeout(std::time::Duration::from_secs(50))
                    .build(),
            )
            .load()
            .await;
        Self::new(Client::new(&sdk), config)
    }

    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// Runs a statement that returns no rows the caller needs.
    pub async fn execute(&self, sql: &str, params: Params) -> Result<Executed, DbError> {
        self.run_execute(sql, &params, None).await
    }

    /// Runs a query and decodes every row into `T` (columns by name).
    pub async fn query<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: Params,
    ) -> Result<Vec<T>, DbError> {
        self.run_query(sql, &params, None).await
    }

    /// Runs a query that must return at most one row.
    pub async fn query_opt<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: Params,
    ) -> Result<Option<T>, DbError> {
        at_most_one(self.run_query(sql, &params, None).await?)
    }

    /// Runs a query that must return exactly one row.
    pub async fn query_one<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: Params,
    ) -> Result<T, DbError> {
        self.query_opt(sql, params)
            .await?
            .ok_or(DbError::RowCount(0))
    }

    /// Reads a result that could pass the 1 MiB response limit, one page at a time.
    /// `sql` must order its rows and end with `LIMIT :page_limit OFFSET :page_offset`.
    /// A page that still passes the limit is fetched again at half the size.
    pub async fn query_paged<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: Params,
        page_size: i64,
    ) -> Result<Vec<T>, DbError> {
        let mut rows = Vec::new();
        let mut limit = page_size.max(1);
        loop {
            let page_params = params
                .clone()
                .bind("page_limit", limit)
                .bind("page_offset", rows.len() as i64);
            match self.run_query::<T>(sql, &page_params, None).await {
                Ok(page) => {
                    let done = (page.len() as i64) < limit;
                    rows.extend(page);
                    if done {
                        return Ok(rows);
                    }
                }
                Err(DbError::ResponseTooLarge(_)) if limit > 1 => limit /= 2,
                Err(error) => return Err(error),
            }
        }
    }

    /// Runs one statement once per parameter set, in one call (4 MiB request limit).
    pub async fn batch_execute(&self, sql: &str, sets: &[Params]) -> Result<usize, DbError> {
        self.run_batch(sql, sets, None).await
    }

    /// Runs `work` in a transaction: commits when it returns `Ok`, rolls back on `Err`.
    pub async fn transaction<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: AsyncFnOnce(&Transaction<'_>) -> Result<T, E>,
        E: From<DbError>,
    {
        let tx = self.begin().await?;
        match work(&tx).await {
            Ok(value) => {
                tx.commit().await?;
                Ok(value)
            }
            Err(error) => {
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(error = %rollback, "Rollback failed; the transaction expires on its own");
                }
                Err(error)
            }
        }
    }

    async fn begin(&self) -> Result<Transaction<'_>, DbError> {
        // Boxed: the SDK's futures are deep, and callers nest these inside their own.
        let output = Box::pin(self.retry.run("BeginTransaction", || async {
            self.client
                .begin_transaction()
                .resource_arn(&self.resource_arn)
                .secret_arn(&self.secret_arn)
                .database(&self.database)
                .send()
                .await
                .map_err(|e| DbError::from_sdk(e, true))
        }))
        .await?;
        let id = output
            .transaction_id
            .ok_or_else(|| DbError::Decode("BeginTransaction returned no transaction id".into()))?;
        Ok(Transaction { api: self, id })
    }

    async fn run_execute(
        &self,
        sql: &str,
        params: &Params,
        tx: Option<&str>,
    ) -> Result<Executed, DbError> {
        let output = self.send_statement(sql, params, tx, false).await?;
        Ok(Executed {
            rows_updated: output.number_of_records_updated,
        })
    }

    async fn run_query<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &Params,
        tx: Option<&str>,
    ) -> Result<Vec<T>, DbError> {
        let output = self.send_statement(sql, params, tx, true).await?;
        let records: Vec<Vec<Field>> = output.records.unwrap_or_default();
        rows::decode(
            output.column_metadata.as_deref().unwrap_or_default(),
            records,
        )
    }

    async fn send_statement(
        &self,
        sql: &str,
        params: &Params,
        tx: Option<&str>,
        with_rows: bool,
    ) -> Result<aws_sdk_rdsdata::operation::execute_statement::ExecuteStatementOutput, DbError>
    {
        let read_only = matches!(
            crate::sql::leading_keyword(sql).as_str(),
            "SELECT" | "SHOW" | "VALUES"
        );
        let parameters = params.to_sdk();
        Box::pin(self.retry.run("ExecuteStatement", || async {
            self.client
                .execute_statement()
                .resource_arn(&self.resource_arn)
                .secret_arn(&self.secret_arn)
                .database(&self.database)
                .sql(sql)
                .set_parameters(Some(parameters.clone()))
                .set_transaction_id(tx.map(str::to_owned))
                .include_result_metadata(with_rows)
                .format_records_as(RecordsFormatType::None)
                .send()
                .await
                .map_err(|e| DbError::from_sdk(e, read_only))
        }))
        .await
    }

    async fn run_batch(
        &self,
        sql: &str,
        sets: &[Params],
        tx: Option<&str>,
    ) -> Result<usize, DbError> {
        if sets.is_empty() {
            return Ok(0);
        }
        let parameter_sets: Vec<_> = sets.iter().map(Params::to_sdk).collect();
        let output = Box::pin(self.retry.run("BatchExecuteStatement", || async {
            self.client
                .batch_execute_statement()
                .resource_arn(&self.resource_arn)
                .secret_arn(&self.secret_arn)
                .database(&self.database)
                .sql(sql)
                .set_parameter_sets(Some(parameter_sets.clone()))
                .set_transaction_id(tx.map(str::to_owned))
                .send()
                .await
                .map_err(|e| DbError::from_sdk(e, false))
        }))
        .await?;
        Ok(output.update_results.map_or(0, |r| r.len()))
    }

    async fn end(&self, id: &str, commit: bool) -> Result<(), DbError> {
        let operation = if commit {
            "CommitTransaction"
        } else {
            "RollbackTransaction"
        };
        Box::pin(self.retry.run(operation, || async {
            if commit {
                self.client
                    .commit_transaction()
                    .resource_arn(&self.resource_arn)
                    .secret_arn(&self.secret_arn)
                    .transaction_id(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| DbError::from_sdk(e, false))
            } else {
                self.client
                    .rollback_transaction()
                    .resource_arn(&self.resource_arn)
                    .secret_arn(&self.secret_arn)
                    .transaction_id(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| DbError::from_sdk(e, false))
            }
        }))
        .await
    }
}

impl Transaction<'_> {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub async fn execute(&self, sql: &str, params: Params) -> Result<Executed, DbError> {
        self.api.run_execute(sql, &params, Some(&self.id)).await
    }

    pub async fn query<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: Params,
    ) -> Result<Vec<T>, DbError> {
        self.api.run_query(sql, &params, Some(&self.id)).await
    }

    pub async fn query_opt<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: Params,
    ) -> Result<Option<T>, DbError> {
        at_most_one(self.api.run_query(sql, &params, Some(&self.id)).await?)
    }

    pub async fn batch_execute(&self, sql: &str, sets: &[Params]) -> Result<usize, DbError> {
        self.api.run_batch(sql, sets, Some(&self.id)).await
    }

    async fn commit(self) -> Result<(), DbError> {
        self.api.end(&self.id, true).await
    }

    async fn rollback(self) -> Result<(), DbError> {
        self.api.end(&self.id, false).await
    }
}

fn at_most_one<T>(mut rows: Vec<T>) -> Result<Option<T>, DbError> {
    match rows.len() {
        0 | 1 => Ok(rows.pop()),
        n => Err(DbError::RowCount(n)),
    }
}
