//! Parameters: each `Field` goes to PostgreSQL as text with a declared type, so PostgreSQL
//! parses it exactly as it would a literal of that type.

use std::error::Error;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio_postgres::types::{Format, IsNull, ToSql, Type, to_sql_checked};

use super::errors::{ApiError, Kind as ErrorKind};
use super::wire::FieldIn;

type BoxError = Box<dyn Error + Sync + Send>;

/// A parameter in PostgreSQL's text format (`None` is SQL NULL).
#[derive(Debug, Clone)]
pub struct TextParam(pub Option<String>);

impl ToSql for TextParam {
    fn to_sql(&self, _: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match &self.0 {
            Some(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// The type PostgreSQL is told a parameter has; `None` lets PostgreSQL infer it (NULLs).
pub fn bind(
    field: &FieldIn,
    hint: Option<&str>,
    name: &str,
) -> Result<(Option<Type>, TextParam), ApiError> {
    let set = [
        field.is_null.is_some(),
        field.boolean_value.is_some(),
        field.long_value.is_some(),
        field.double_value.is_some(),
        field.string_value.is_some(),
        field.blob_value.is_some(),
        field.array_value.is_some(),
    ]
    .iter()
    .filter(|&&s| s)
    .count();
    if set != 1 {
        return Err(ApiError::bad_request(format!(
            "Parameter {name}: the value must set exactly one member of the Field union"
        )));
    }
    let text = |ty: Type, text: String| Ok((Some(ty), TextParam(Some(text))));
    if let Some(hint) = hint {
        let Some(value) = &field.string_value else {
            return Err(ApiError::bad_request(format!(
                "Parameter {name}: typeHint {hint} requires a stringValue"
            )));
        };
        let ty = match hint {
            "UUID" => Type::UUID,
            "JSON" => Type::JSON,
            "TIMESTAMP" => Type::TIMESTAMP,
            "DATE" => Type::DATE,
            "TIME" => Type::TIME,
            "DECIMAL" => Type::NUMERIC,
            other => {
                return Err(ApiError::bad_request(format!(
                    "Parameter {name}: unknown typeHint {other}; use DATE, DECIMAL, JSON, TIME, TIMESTAMP or UUID"
                )));
            }
        };
        return text(ty, value.clone());
    }
    if field.is_null == Some(true) {
        return Ok((None, TextParam(None)));
    }
    if let Some(b) = field.boolean_value {
        return text(Type::BOOL, b.to_string());
    }
    if let Some(n) = field.long_value {
        return text(Type::INT8, n.to_string());
    }
    if let Some(x) = field.double_value {
        let repr = match x {
            x if x.is_nan() => "NaN".to_owned(),
            x if x == f64::INFINITY => "Infinity".to_owned(),
            x if x == f64::NEG_INFINITY => "-Infinity".to_owned(),
            x => x.to_string(),
        };
        return text(Type::FLOAT8, repr);
    }
    if let Some(s) = &field.string_value {
        if s.contains('\0') {
            return Err(ApiError::new(
                ErrorKind::DatabaseError,
                format!(
                    "ERROR: invalid byte sequence for encoding \"UTF8\": 0x00 (parameter {name}); SQLState: 22021"
                ),
            ));
        }
        // The Data API sends untyped strings as varchar, so `uuid = :id` fails without a hint.
        return text(Type::VARCHAR, s.clone());
    }
    if let Some(encoded) = &field.blob_value {
        let bytes = BASE64.decode(encoded).map_err(|e| {
            ApiError::bad_request(format!("Parameter {name}: blobValue is not base64: {e}"))
        })?;
        let mut hex = String::with_capacity(2 + bytes.len() * 2);
        hex.push_str("\\x");
        for b in bytes {
            hex.push_str(&format!("{b:02x}"));
        }
        return text(Type::BYTEA, hex);
    }
    Err(ApiError::bad_request(format!(
        "Parameter {name}: array parameters are not supported; bind the array's text form and cast it in SQL"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_must_set_exactly_one_member() {
        let two = FieldIn {
            long_value: Some(1),
            string_value: Some("x".into()),
            ..FieldIn::default()
        };
        assert!(
            bind(&two, None, "p")
                .unwrap_err()
                .message
                .contains("exactly one member")
        );
        let bad_hint = FieldIn {
            string_value: Some("x".into()),
            ..FieldIn::default()
        };
        assert!(
            bind(&bad_hint, Some("MONEY"), "p")
                .unwrap_err()
                .message
                .contains("unknown typeHint")
        );
    }
}
