//! Results: PostgreSQL's binary values decoded per type into the `Field` the real Data API
//! returns for them (and the plain JSON of `formatRecordsAs: JSON`).

use std::error::Error;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use postgres_protocol::types as pg;
use serde_json::{Value, json};
use shared::data_api::format_timestamp;
use tokio_postgres::types::{FromSql, Kind, Type};

type BoxError = Box<dyn Error + Sync + Send>;

/// One decoded result value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    /// Text of a `numeric`, kept exact.
    Numeric(String),
    Text(String),
    Blob(Vec<u8>),
    Array(Vec<Cell>),
}

/// How `numeric` and `int8` come back (`resultSetOptions`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReturnTypes {
    pub decimal_as_number: bool,
    pub long_as_string: bool,
}

impl Cell {
    /// The `Field` JSON the Data API returns for this value.
    pub fn to_field(&self, types: ReturnTypes) -> Value {
        match self {
            Self::Null => json!({"isNull": true}),
            Self::Bool(b) => json!({"booleanValue": b}),
            Self::Long(n) if types.long_as_string => json!({"stringValue": n.to_string()}),
            Self::Long(n) => json!({"longValue": n}),
            Self::Double(x) => json!({"doubleValue": x}),
            Self::Numeric(text) if types.decimal_as_number => number_of(text)
                .map(|n| {
                    if n.is_i64() {
                        json!({"longValue": n})
                    } else {
                        json!({"doubleValue": n})
                    }
                })
                .unwrap_or_else(|| json!({"stringValue": text})),
            Self::Numeric(text) | Self::Text(text) => json!({"stringValue": text}),
            Self::Blob(bytes) => json!({"blobValue": BASE64.encode(bytes)}),
            Self::Array(items) => json!({"arrayValue": array_value(items)}),
        }
    }

    /// The plain JSON used by `formatRecordsAs: JSON`.
    pub fn to_json(&self, types: ReturnTypes) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => json!(b),
            Self::Long(n) if types.long_as_string => json!(n.to_string()),
            Self::Long(n) => json!(n),
            Self::Double(x) => json!(x),
            Self::Numeric(text) if types.decimal_as_number => {
                number_of(text).map_or_else(|| json!(text), Value::Number)
            }
            Self::Numeric(text) | Self::Text(text) => json!(text),
            Self::Blob(bytes) => json!(BASE64.encode(bytes)),
            Self::Array(items) => Value::Array(items.iter().map(|c| c.to_json(types)).collect()),
        }
    }
}

fn number_of(text: &str) -> Option<serde_json::Number> {
    serde_json::from_str::<serde_json::Number>(text).ok()
}

fn array_value(items: &[Cell]) -> Value {
    let member = |key: &str, values: Vec<Value>| json!({ key: values });
    let values = |f: fn(&Cell) -> Value| items.iter().map(f).collect::<Vec<_>>();
    match items.iter().find(|c| **c != Cell::Null) {
        Some(Cell::Array(_)) => member(
            "arrayValues",
            items
                .iter()
                .map(|c| match c {
                    Cell::Array(inner) => array_value(inner),
                    _ => Value::Null,
                })
                .collect(),
        ),
        Some(Cell::Bool(_)) => member(
            "booleanValues",
            values(|c| {
                if let Cell::Bool(b) = c {
                    json!(b)
                } else {
                    Value::Null
                }
            }),
        ),
        Some(Cell::Long(_)) => member(
            "longValues",
            values(|c| {
                if let Cell::Long(n) = c {
                    json!(n)
                } else {
                    Value::Null
                }
            }),
        ),
        Some(Cell::Double(_)) => member(
            "doubleValues",
            values(|c| {
                if let Cell::Double(x) = c {
                    json!(x)
                } else {
                    Value::Null
                }
            }),
        ),
        _ => member(
            "stringValues",
            values(|c| match c {
                Cell::Text(s) | Cell::Numeric(s) => json!(s),
                Cell::Blob(b) => json!(BASE64.encode(b)),
                _ => Value::Null,
            }),
        ),
    }
}

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        decode(ty, raw)
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Self::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn decode(ty: &Type, raw: &[u8]) -> Result<Cell, BoxError> {
    let text = || std::str::from_utf8(raw).map(|s| Cell::Text(s.to_owned()));
    Ok(match *ty {
        // Functions run for their effect (`pg_advisory_xact_lock`) return void.
        Type::VOID => Cell::Null,
        Type::BOOL => Cell::Bool(pg::bool_from_sql(raw)?),
        Type::INT2 => Cell::Long(pg::int2_from_sql(raw)?.into()),
        Type::INT4 => Cell::Long(pg::int4_from_sql(raw)?.into()),
        Type::INT8 => Cell::Long(pg::int8_from_sql(raw)?),
        Type::OID => Cell::Long(pg::oid_from_sql(raw)?.into()),
        Type::FLOAT4 => Cell::Double(pg::float4_from_sql(raw)?.into()),
        Type::FLOAT8 => Cell::Double(pg::float8_from_sql(raw)?),
        Type::NUMERIC => Cell::Numeric(numeric_text(raw)?),
        Type::TEXT
        | Type::VARCHAR
        | Type::BPCHAR
        | Type::NAME
        | Type::CHAR
        | Type::UNKNOWN
        | Type::XML => text()?,
        Type::JSON => text()?,
        Type::JSONB => match raw.split_first() {
            Some((1, body)) => Cell::Text(std::str::from_utf8(body)?.to_owned()),
            _ => return Err("unsupported jsonb version".into()),
        },
        Type::UUID => Cell::Text(uuid::Uuid::from_slice(&pg::uuid_from_sql(raw)?)?.to_string()),
        Type::BYTEA => Cell::Blob(raw.to_vec()),
        Type::TIMESTAMP => Cell::Text(match NaiveDateTime::from_sql(ty, raw) {
            Ok(at) => format_timestamp(&at),
            Err(_) => infinity(pg::timestamp_from_sql(raw)?),
        }),
        Type::TIMESTAMPTZ => Cell::Text(match DateTime::<Utc>::from_sql(ty, raw) {
            Ok(at) => format_timestamp(&at.naive_utc()),
            Err(_) => infinity(pg::timestamp_from_sql(raw)?),
        }),
        Type::DATE => Cell::Text(match NaiveDate::from_sql(ty, raw) {
            Ok(day) => day.format("%Y-%m-%d").to_string(),
            Err(_) => infinity(pg::date_from_sql(raw)?.into()),
        }),
        Type::TIME => Cell::Text(
            NaiveTime::from_sql(ty, raw)?
                .format("%H:%M:%S%.f")
                .to_string(),
        ),
        _ => match ty.kind() {
            Kind::Array(element) => decode_array(element, raw)?,
            Kind::Enum(_) => text()?,
            Kind::Domain(base) => decode(base, raw)?,
            _ if ty.name() == "vector" => Cell::Text(vector_text(raw)?),
            _ => return Err(Box::new(Unsupported(ty.name().to_owned()))),
        },
    })
}

/// A column type the Data API cannot return; the message names it.
#[derive(Debug)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "The result contains the unsupported data type {}; cast the column to text",
            self.0
        )
    }
}

impl Error for Unsupported {}

fn infinity(value: i64) -> String {
    if value > 0 { "infinity" } else { "-infinity" }.to_owned()
}

fn decode_array(element: &Type, raw: &[u8]) -> Result<Cell, BoxError> {
    use fallible_iterator::FallibleIterator;
    use postgres_protocol::types::ArrayDimension;
    let array = pg::array_from_sql(raw)?;
    let dims: Vec<ArrayDimension> = array.dimensions().collect()?;
    let mut values = Vec::new();
    let mut iter = array.values();
    while let Some(value) = iter.next()? {
        values.push(match value {
            Some(bytes) => decode(element, bytes)?,
            None => Cell::Null,
        });
    }
    // Multi-dimensional arrays nest, innermost dimension last.
    for dim in dims.iter().skip(1).rev() {
        let len = usize::try_from(dim.len)?.max(1);
        values = values
            .chunks(len)
            .map(|c| Cell::Array(c.to_vec()))
            .collect();
    }
    Ok(Cell::Array(values))
}

/// pgvector's binary form: dimensions (u16), unused (u16), then big-endian f32s.
fn vector_text(raw: &[u8]) -> Result<String, BoxError> {
    let (header, body) = raw.split_at_checked(4).ok_or("vector value too short")?;
    let dims = usize::from(u16::from_be_bytes([header[0], header[1]]));
    if body.len() != dims * 4 {
        return Err("vector value has the wrong length".into());
    }
    let parts: Vec<String> = body
        .chunks_exact(4)
        .map(|b| f32::from_be_bytes([b[0], b[1], b[2], b[3]]).to_string())
        .collect();
    Ok(format!("[{}]", parts.join(",")))
}

/// `numeric` from its binary form: base-10000 digits with a weight, sign and scale.
fn numeric_text(raw: &[u8]) -> Result<String, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        let bytes = raw.get(i * 2..i * 2 + 2).ok_or("numeric value too short")?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    };
    let (ndigits, weight, sign, scale) = (
        usize::from(word(0)?),
        i32::from(word(1)? as i16),
        word(2)?,
        usize::from(word(3)?),
    );
    match sign {
        0xC000 => return Ok("NaN".to_owned()),
        0xD000 => return Ok("Infinity".to_owned()),
        0xF000 => return Ok("-Infinity".to_owned()),
        _ => {}
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(4 + i))
        .collect::<Result<_, _>>()?;
    let digit = |position: i32| -> u16 {
        usize::try_from(position)
            .ok()
            .and_then(|p| digits.get(p).copied())
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for position in 0..=weight {
            let group = digit(position);
            if position == 0 {
                out.push_str(&group.to_string());
            } else {
                out.push_str(&format!("{group:04}"));
            }
        }
    }
    if scale > 0 {
        out.push('.');
        let mut fraction = String::new();
        let mut position = weight + 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(position)));
            position += 1;
        }
        fraction.truncate(scale);
        out.push_str(&fraction);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(words: &[u16]) -> String {
        let raw: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        numeric_text(&raw).unwrap()
    }

    #[test]
    fn numerics_decode_exactly() {
        // 12345.678 = digits [1, 2345, 6780], weight 1, scale 3
        assert_eq!(numeric(&[3, 1, 0, 3, 1, 2345, 6780]), "12345.678");
        // -0.0012 = digits [12], weight -1, scale 4
        assert_eq!(numeric(&[1, 0xFFFF, 0x4000, 4, 12]), "-0.0012");
        // 10000 = digits [1], weight 1, scale 0
        assert_eq!(numeric(&[1, 1, 0, 0, 1]), "10000");
        // 0.00 = no digits, scale 2
        assert_eq!(numeric(&[0, 0, 0, 2]), "0.00");
        assert_eq!(numeric(&[0, 0, 0xC000, 0]), "NaN");
    }

    #[test]
    fn vectors_decode_to_pgvector_text() {
        let mut raw = vec![0, 3, 0, 0];
        for x in [1.0f32, -0.5, 2.25] {
            raw.extend_from_slice(&x.to_be_bytes());
        }
        assert_eq!(vector_text(&raw).unwrap(), "[1,-0.5,2.25]");
        assert!(vector_text(&raw[..6]).is_err());
    }

    #[test]
    fn arrays_become_typed_array_values() {
        let cells = Cell::Array(vec![Cell::Text("a".into()), Cell::Null]);
        assert_eq!(
            cells.to_field(ReturnTypes::default()),
            json!({"arrayValue": {"stringValues": ["a", null]}})
        );
        let nested = Cell::Array(vec![
            Cell::Array(vec![Cell::Long(1)]),
            Cell::Array(vec![Cell::Long(2)]),
        ]);
        assert_eq!(
            nested.to_field(ReturnTypes::default()),
            json!({"arrayValue": {"arrayValues": [{"longValues": [1]}, {"longValues": [2]}]}})
        );
    }
}
