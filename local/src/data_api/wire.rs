//! The Data API's JSON shapes (restJson1), as the SDKs send and read them.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteRequest {
    pub resource_arn: Option<String>,
    pub secret_arn: Option<String>,
    pub sql: Option<String>,
    pub database: Option<String>,
    #[serde(default)]
    pub parameters: Vec<SqlParameter>,
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub include_result_metadata: bool,
    #[serde(default)]
    pub continue_after_timeout: bool,
    pub result_set_options: Option<ResultSetOptions>,
    pub format_records_as: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchExecuteRequest {
    pub resource_arn: Option<String>,
    pub secret_arn: Option<String>,
    pub sql: Option<String>,
    pub database: Option<String>,
    #[serde(default)]
    pub parameter_sets: Vec<Vec<SqlParameter>>,
    pub transaction_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BeginRequest {
    pub resource_arn: Option<String>,
    pub secret_arn: Option<String>,
    pub database: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndRequest {
    pub resource_arn: Option<String>,
    pub secret_arn: Option<String>,
    pub transaction_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultSetOptions {
    pub decimal_return_type: Option<String>,
    pub long_return_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqlParameter {
    pub name: Option<String>,
    pub value: Option<FieldIn>,
    pub type_hint: Option<String>,
}

/// The `Field` union as sent: exactly one member is set.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldIn {
    pub is_null: Option<bool>,
    pub boolean_value: Option<bool>,
    pub long_value: Option<i64>,
    pub double_value: Option<f64>,
    pub string_value: Option<String>,
    pub blob_value: Option<String>,
    pub array_value: Option<Value>,
}
