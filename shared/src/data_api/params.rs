//! Named statement parameters built from Rust values, with the type hints Aurora needs.
//!
//! The Data API sends a plain string as `varchar`; UUIDs, JSON, timestamps, dates and
//! decimals need a `typeHint` to arrive as their own type. It has no array parameters:
//! arrays and vectors travel as their text form and the SQL casts them (`:tags::text[]`,
//! `:embedding::vector`).

use aws_sdk_rdsdata::primitives::Blob;
use aws_sdk_rdsdata::types::{Field, SqlParameter, TypeHint};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use uuid::Uuid;

/// One value as the Data API carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    Text(String),
    Blob(Vec<u8>),
    /// Text that PostgreSQL reads as the hinted type.
    Hinted(String, TypeHint),
}

/// An exact decimal, kept as text so no precision is lost (`numeric` columns).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Decimal(pub String);

/// An embedding, sent as pgvector's text form; cast it in SQL with `::vector`.
#[derive(Debug, Clone, PartialEq)]
pub struct Vector(pub Vec<f32>);

/// A text array, sent as PostgreSQL's array literal; cast it in SQL with `::text[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextArray(pub Vec<String>);

/// Named parameters for one statement.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, SqlValue)>);

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn bind(mut self, name: &str, value: impl Into<SqlValue>) -> Self {
        self.0.push((name.to_owned(), value.into()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn to_sdk(&self) -> Vec<SqlParameter> {
        self.0
            .iter()
            .map(|(name, value)| {
                let (field, hint) = value.to_field();
                SqlParameter::builder()
                    .name(name)
                    .value(field)
                    .set_type_hint(hint)
                    .build()
            })
            .collect()
    }
}

impl SqlValue {
    fn to_field(&self) -> (Field, Option<TypeHint>) {
        match self {
            Self::Null => (Field::IsNull(true), None),
            Self::Bool(b) => (Field::BooleanValue(*b), None),
            Self::Long(n) => (Field::LongValue(*n), None),
            Self::Double(x) => (Field::DoubleValue(*x), None),
            Self::Text(s) => (Field::StringValue(s.clone()), None),
            Self::Blob(bytes) => (Field::BlobValue(Blob::new(bytes.clone())), None),
            Self::Hinted(s, hint) => (Field::StringValue(s.clone()), Some(hint.clone())),
        }
    }
}

/// The Data API's timestamp text: `YYYY-MM-DD HH:MM:SS[.ffffff]`, microseconds with
/// trailing zeros dropped and no fraction at all on a whole second.
pub fn format_timestamp(at: &NaiveDateTime) -> String {
    let mut text = at.format("%Y-%m-%d %H:%M:%S").to_string();
    let micros = at.and_utc().timestamp_subsec_micros();
    if micros > 0 {
        let fraction = format!("{micros:06}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text
}

macro_rules! from_as {
    ($variant:ident, $as:ty: $($t:ty),+) => {
        $(impl From<$t> for SqlValue {
            fn from(value: $t) -> Self {
                Self::$variant(<$as>::from(value))
            }
        })+
    };
}

from_as!(Long, i64: i8, i16, i32, i64, u8, u16, u32);
from_as!(Double, f64: f32, f64);
from_as!(Bool, bool: bool);
from_as!(Text, String: String, &str, &String);
from_as!(Blob, Vec<u8>: Vec<u8>, &[u8]);

impl From<Uuid> for SqlValue {
    fn from(id: Uuid) -> Self {
        Self::Hinted(id.to_string(), TypeHint::Uuid)
    }
}

impl From<&Uuid> for SqlValue {
    fn from(id: &Uuid) -> Self {
        Self::from(*id)
    }
}

impl From<serde_json::Value> for SqlValue {
    fn from(value: serde_json::Value) -> Self {
        Self::Hinted(value.to_string(), TypeHint::Json)
    }
}

impl From<&serde_json::Value> for SqlValue {
    fn from(value: &serde_json::Value) -> Self {
        Self::Hinted(value.to_string(), TypeHint::Json)
    }
}

impl From<DateTime<Utc>> for SqlValue {
    fn from(at: DateTime<Utc>) -> Self {
        Self::Hinted(format_timestamp(&at.naive_utc()), TypeHint::Timestamp)
    }
}

impl From<NaiveDateTime> for SqlValue {
    fn from(at: NaiveDateTime) -> Self {
        Self::Hinted(format_timestamp(&at), TypeHint::Timestamp)
    }
}

impl From<NaiveDate> for SqlValue {
    fn from(day: NaiveDate) -> Self {
        Self::Hinted(day.format("%Y-%m-%d").to_string(), TypeHint::Date)
    }
}

impl From<NaiveTime> for SqlValue {
    fn from(time: NaiveTime) -> Self {
        Self::Hinted(time.format("%H:%M:%S%.f").to_string(), TypeHint::Time)
    }
}

impl From<Decimal> for SqlValue {
    fn from(value: Decimal) -> Self {
        Self::Hinted(value.0, TypeHint::Decimal)
    }
}

impl Vector {
    /// pgvector's text form, `[0.1,-0.2,...]`.
    pub fn to_text(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|x| x.to_string()).collect();
        format!("[{}]", parts.join(","))
    }
}

impl From<&Vector> for SqlValue {
    fn from(vector: &Vector) -> Self {
        Self::Text(vector.to_text())
    }
}

impl From<Vector> for SqlValue {
    fn from(vector: Vector) -> Self {
        Self::from(&vector)
    }
}

impl From<TextArray> for SqlValue {
    fn from(array: TextArray) -> Self {
        let items: Vec<String> = array
            .0
            .iter()
            .map(|item| format!("\"{}\"", item.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        Self::Text(format!("{{{}}}", items.join(",")))
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_get_their_hints() {
        let id = Uuid::nil();
        assert_eq!(
            SqlValue::from(id),
            SqlValue::Hinted(
                "00000000-0000-0000-0000-000000000000".into(),
                TypeHint::Uuid
            )
        );
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap();
        assert_eq!(
            SqlValue::from(at),
            SqlValue::Hinted("2023-11-14 22:13:20.123456".into(), TypeHint::Timestamp)
        );
        assert_eq!(
            SqlValue::from(serde_json::json!({"a": [1, "ü"]})),
            SqlValue::Hinted(r#"{"a":[1,"ü"]}"#.into(), TypeHint::Json)
        );
        assert_eq!(SqlValue::from(None::<i32>), SqlValue::Null);
        let whole = DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc();
        assert_eq!(format_timestamp(&whole), "2023-11-14 22:13:20");
        let half = DateTime::from_timestamp(1_700_000_000, 500_000_000)
            .unwrap()
            .naive_utc();
        assert_eq!(format_timestamp(&half), "2023-11-14 22:13:20.5");
        assert_eq!(SqlValue::from(Some(3_i32)), SqlValue::Long(3));
    }

    #[test]
    fn arrays_and_vectors_use_postgres_text_forms() {
        let tags = TextArray(vec!["a b".into(), "quote\"d".into(), "back\\slash".into()]);
        assert_eq!(
            SqlValue::from(tags),
            SqlValue::Text(r#"{"a b","quote\"d","back\\slash"}"#.into())
        );
        assert_eq!(
            SqlValue::from(Vector(vec![0.5, -1.0, 2.25])),
            SqlValue::Text("[0.5,-1,2.25]".into())
        );
    }
}
