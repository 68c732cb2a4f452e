//! CSV (header and rows as tab-separated lines, delimiter detected) and JSON (one
//! `path.to.key: value` line per value, so every value keeps its keys as context).

use serde_json::Value;

use super::limits::PageWriter;
use super::text::{decode, refuse_oversized};
use super::{DocumentKind, ExtractError, Extracted, Limits};

pub(crate) fn extract_csv(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    refuse_oversized(bytes, limits)?;
    let text = decode(bytes, None);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(&text))
        .from_reader(text.as_bytes());
    let mut writer = PageWriter::new(limits);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => return Err(ExtractError::corrupt("CSV", error)),
        }
        let fields: Vec<String> = record
            .iter()
            .map(|field| field.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if fields.iter().any(|f| !f.is_empty()) {
            writer.push_line(fields.join("\t").trim_end())?;
        }
    }
    Ok(Extracted {
        kind: DocumentKind::Csv,
        pages: writer.finish()?,
        needs_ocr: false,
        title: None,
    })
}

/// The most frequent of `,` `;` tab and `|` in the first line (outside quotes).
fn delimiter(text: &str) -> u8 {
    let first_line = text.lines().next().unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for byte in first_line.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(entry) = counts.iter_mut().find(|(d, _)| *d == byte) {
            entry.1 += 1;
        }
    }
    counts
        .iter()
        .filter(|(_, count)| *count > 0)
        .max_by_key(|(_, count)| *count)
        .map_or(b',', |(d, _)| *d)
}

pub(crate) fn extract_json(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    refuse_oversized(bytes, limits)?;
    let text = decode(bytes, None);
    let value: Value =
        serde_json::from_str(text.trim_start_matches('\u{FEFF}')).map_err(|error| {
            if error.to_string().starts_with("recursion limit exceeded") {
                ExtractError::TooDeep {
                    limit: limits.max_depth.min(128),
                }
            } else {
                ExtractError::corrupt("JSON", error)
            }
        })?;
    let title = value
        .get("title")
        .and_then(Value::as_str)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let mut writer = PageWriter::new(limits);
    let mut path = String::new();
    flatten(&value, &mut path, 0, limits.max_depth, &mut writer)?;
    Ok(Extracted {
        kind: DocumentKind::Json,
        pages: writer.finish()?,
        needs_ocr: false,
        title,
    })
}

/// Writes `value` as lines of `path: value`. Recursion is bounded by serde_json's own
/// nesting limit (128) as well as `max_depth`.
fn flatten(
    value: &Value,
    path: &mut String,
    depth: usize,
    max_depth: usize,
    writer: &mut PageWriter,
) -> Result<(), ExtractError> {
    if depth > max_depth {
        return Err(ExtractError::TooDeep { limit: max_depth });
    }
    let line = |path: &str, text: &str| {
        if path.is_empty() {
            text.to_owned()
        } else {
            format!("{path}: {text}")
        }
    };
    match value {
        Value::Null => Ok(()),
        Value::Bool(b) => writer.push_line(&line(path, &b.to_string())),
        Value::Number(n) => writer.push_line(&line(path, &n.to_string())),
        Value::String(s) => writer.push_line(&line(path, s.trim())),
        Value::Array(items) if items.iter().all(is_short_scalar) => {
            let joined: Vec<String> = items.iter().map(scalar_text).collect();
            writer.push_line(&line(path, &joined.join(", ")))
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                flatten(item, path, depth + 1, max_depth, writer)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                flatten(item, path, depth + 1, max_depth, writer)?;
                path.truncate(len);
            }
            Ok(())
        }
    }
}

fn is_short_scalar(value: &Value) -> bool {
    match value {
        Value::String(s) => s.len() <= 80,
        Value::Array(_) | Value::Object(_) => false,
        _ => true,
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_come_back_as_lines_under_their_header() {
        let csv = b"name;city\n\"Ann Lee\";Paris\nBob;\"New\nYork\"\n";
        let extracted = extract_csv(csv, &Limits::default()).unwrap();
        assert_eq!(
            extracted.pages[0].text,
            "name\tcity\nAnn Lee\tParis\nBob\tNew York"
        );
    }

    #[test]
    fn json_values_keep_their_keys_as_context() {
        let json =
            br#"{"title": "Staff", "people": [{"name": "Ann", "tags": ["a", "b"]}], "n": 3}"#;
        let extracted = extract_json(json, &Limits::default()).unwrap();
        assert_eq!(extracted.title.as_deref(), Some("Staff"));
        let lines: Vec<&str> = extracted.pages[0].text.lines().collect();
        for line in [
            "title: Staff",
            "people[0].name: Ann",
            "people[0].tags: a, b",
            "n: 3",
        ] {
            assert!(lines.contains(&line), "{line} missing from {lines:?}");
        }
    }

    #[test]
    fn json_nested_past_the_limit_is_refused_as_too_deep() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let error = extract_json(deep.as_bytes(), &Limits::default()).unwrap_err();
        assert!(matches!(error, ExtractError::TooDeep { .. }), "{error}");
    }
}
