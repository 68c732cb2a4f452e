//! `repositories/{repositoryId}/{itemId}/{fileName}`: the S3 keys items live under, parsed
//! strictly so a crafted key can never name another item's object or climb out of its folder.

use uuid::Uuid;

use crate::error::AppError;

/// `repositories/{repositoryId}/{itemId}/{fileName}`: where an item's bytes live in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey {
    pub repository_id: Uuid,
    pub item_id: Uuid,
    pub file_name: String,
}

impl ObjectKey {
    pub fn new(repository_id: Uuid, item_id: Uuid, file_name: &str) -> Result<Self, AppError> {
        Ok(Self {
            repository_id,
            item_id,
            file_name: safe_file_name(file_name)?,
        })
    }

    /// Parses a key as S3 event notifications carry it (URL-encoded, `+` for space).
    /// Anything but exactly our layout, with a safe file name, is refused.
    pub fn parse_event_key(encoded: &str) -> Result<Self, AppError> {
        Self::parse(&form_decode(encoded)?)
    }

    /// Parses a plain (decoded) key, refusing anything but our layout with a safe name.
    pub fn parse(key: &str) -> Result<Self, AppError> {
        let refuse = || {
            AppError::validation(format!(
                "Object key {key:?} is not repositories/<repository id>/<item id>/<file name>"
            ))
        };
        let mut parts = key.splitn(4, '/');
        let (Some("repositories"), Some(repository), Some(item), Some(file_name)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refuse());
        };
        let repository_id = Uuid::parse_str(repository).map_err(|_| refuse())?;
        let item_id = Uuid::parse_str(item).map_err(|_| refuse())?;
        // The name must already be in its safe form: a key that needed cleaning was not ours.
        if safe_file_name(file_name)? != file_name {
            return Err(refuse());
        }
        Ok(Self {
            repository_id,
            item_id,
            file_name: file_name.to_owned(),
        })
    }

    pub fn to_key(&self) -> String {
        format!(
            "repositories/{}/{}/{}",
            self.repository_id, self.item_id, self.file_name
        )
    }
}

/// A file name that is one path segment: no separators, no `.`/`..`, no control or NUL
/// characters, at most 200 bytes (cut at a character boundary, keeping the extension).
pub fn safe_file_name(name: &str) -> Result<String, AppError> {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned
        .trim_matches(|c: char| c == '.' || c.is_whitespace())
        .to_owned();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '_') {
        return Err(AppError::validation(format!(
            "{name:?} is not a usable file name"
        )));
    }
    if cleaned.len() <= 200 {
        return Ok(cleaned);
    }
    let extension = cleaned
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|e| e.len() <= 16);
    let keep = 200 - extension.map_or(0, |e| e.len() + 1);
    let cut = (0..=keep)
        .rev()
        .find(|&i| cleaned.is_char_boundary(i))
        .unwrap_or(0);
    Ok(match extension {
        Some(ext) => format!("{}.{ext}", &cleaned[..cut]),
        None => cleaned[..cut].to_owned(),
    })
}

/// Decodes form encoding (S3 notification keys, query strings): `+` is a space, `%XX` a
/// byte; a malformed escape or invalid UTF-8 is refused.
pub fn form_decode(encoded: &str) -> Result<String, AppError> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = encoded
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        AppError::validation("The object key has a malformed %-escape")
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| AppError::validation("The object key is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPO: &str = "0b6e1f7e-8a43-4d1c-9a55-3f3d7f6f8a01";
    const ITEM: &str = "6a3b2c1d-0e9f-4a8b-8c7d-6e5f4a3b2c1d";

    #[test]
    fn event_keys_decode_plus_and_percent_escapes() {
        let key = ObjectKey::parse_event_key(&format!(
            "repositories/{REPO}/{ITEM}/Annual+report+%C3%BC%281%29.pdf"
        ))
        .unwrap();
        assert_eq!(key.file_name, "Annual report ü(1).pdf");
        assert_eq!(key.repository_id.to_string(), REPO);
        assert_eq!(
            key.to_key(),
            format!("repositories/{REPO}/{ITEM}/Annual report ü(1).pdf")
        );
    }

    #[test]
    fn path_tricks_in_keys_are_refused() {
        for key in [
            format!("repositories/{REPO}/{ITEM}/../../{ITEM}/x.pdf"),
            format!("repositories/{REPO}/{ITEM}/%2E%2E%2Fsecret.pdf"),
            format!("repositories/{REPO}/{ITEM}/sub/dir.pdf"),
            format!("repositories/{REPO}/{ITEM}/"),
            format!("repositories/{REPO}/not-a-uuid/x.pdf"),
            format!("uploads/{REPO}/{ITEM}/x.pdf"),
            format!("repositories/{REPO}/{ITEM}/nul%00.pdf"),
            format!("repositories/{REPO}/{ITEM}/bad%zz.pdf"),
            "repositories".to_owned(),
        ] {
            assert!(
                ObjectKey::parse_event_key(&key).is_err(),
                "{key} was accepted"
            );
        }
    }

    #[test]
    fn file_names_become_one_safe_segment() {
        assert_eq!(
            safe_file_name("../../etc/passwd").unwrap(),
            "_.._etc_passwd"
        );
        assert_eq!(safe_file_name(" report.pdf ").unwrap(), "report.pdf");
        assert_eq!(safe_file_name("a\u{0}b.txt").unwrap(), "a_b.txt");
        assert!(safe_file_name("..").is_err());
        assert!(safe_file_name("/").is_err());
        let long = format!("{}.docx", "é".repeat(300));
        let safe = safe_file_name(&long).unwrap();
        assert!(safe.len() <= 200 && safe.ends_with(".docx"), "{safe}");
    }
}
