//! Decoding Data API records into serde types, guided by the column metadata.

use aws_sdk_rdsdata::types::{ArrayValue, ColumnMetadata, Field};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::DbError;

/// Turns each record into a JSON object keyed by column label, then into `T`.
/// JSON columns become nested values; timestamps become RFC 3339 so chrono reads them.
pub(crate) fn decode<T: DeserializeOwned>(
    columns: &[ColumnMetadata],
    records: Vec<Vec<Field>>,
) -> Result<Vec<T>, DbError> {
    records
        .into_iter()
        .map(|record| {
            let mut object = Map::with_capacity(columns.len());
            for (column, field) in columns.iter().zip(record) {
                let name = column.label().or(column.name()).unwrap_or_default();
                let type_name = column.type_name().unwrap_or_default();
                object.insert(name.to_owned(), field_to_json(field, type_name)?);
            }
            serde_json::from_value(Value::Object(object))
                .map_err(|e| DbError::Decode(e.to_string()))
        })
        .collect()
}

fn field_to_json(field: Field, type_name: &str) -> Result<Value, DbError> {
    Ok(match field {
        Field::IsNull(_) => Value::Null,
        Field::BooleanValue(b) => Value::Bool(b),
        Field::LongValue(n) => Value::from(n),
        Field::DoubleValue(x) => Value::from(x),
        Field::BlobValue(blob) => Value::from(blob.into_inner()),
        Field::ArrayValue(array) => array_to_json(array),
        Field::StringValue(text) => string_to_json(text, type_name)?,
        _ => {
            return Err(DbError::Decode(format!(
                "unknown field variant for a {type_name} column"
            )));
        }
    })
}

fn string_to_json(text: String, type_name: &str) -> Result<Value, DbError> {
    Ok(match type_name {
        "json" | "jsonb" => serde_json::from_str(&text)
            .map_err(|e| DbError::Decode(format!("invalid JSON in a {type_name} column: {e}")))?,
        "timestamptz" => Value::String(format!("{}Z", text.replacen(' ', "T", 1))),
        "timestamp" => Value::String(text.replacen(' ', "T", 1)),
        _ => Value::String(text),
    })
}

fn array_to_json(array: ArrayValue) -> Value {
    match array {
        ArrayValue::BooleanValues(v) => Value::from(v),
        ArrayValue::LongValues(v) => Value::from(v),
        ArrayValue::DoubleValues(v) => Value::from(v),
        ArrayValue::StringValues(v) => Value::from(v),
        ArrayValue::ArrayValues(v) => v
            .into_iter()
            .map(|inner| inner.map_or(Value::Null, array_to_json))
            .collect(),
        _ => Value::Null,
    }
}
