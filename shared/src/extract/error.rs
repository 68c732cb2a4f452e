//! Why a document could not be turned into text, in words a user can act on.

use crate::error::{AppError, ErrorCode};

/// A document that could not be extracted. Every variant is about the content itself, so
/// retrying the same bytes never helps ([`ExtractError::is_retryable`] is always false).
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {} but the limit is {}", mib(*size), mib(*limit))]
    TooLarge { size: u64, limit: u64 },
    #[error("{0} files are not supported")]
    Unsupported(String),
    #[error("{}", unrecognised(name))]
    Unrecognised { name: String },
    #[error("the {0} is encrypted; remove the password and upload it again")]
    Encrypted(&'static str),
    #[error("the {format} file is damaged or incomplete: {reason}")]
    Corrupt {
        format: &'static str,
        reason: String,
    },
    #[error(
        "the archive unpacks to more than {}; it may be a zip bomb",
        mib(*limit)
    )]
    UnpackedTooLarge { limit: u64 },
    #[error(
        "a part of the archive is compressed {ratio}:1, over the {limit}:1 limit; it may be a zip bomb"
    )]
    CompressionRatio { ratio: u64, limit: u64 },
    #[error("the archive holds {entries} files, over the limit of {limit}")]
    TooManyEntries { entries: usize, limit: usize },
    #[error("the document has {pages} pages, over the limit of {limit}")]
    TooManyPages { pages: usize, limit: usize },
    #[error("the document has more than {limit} characters of text")]
    TooMuchText { limit: usize },
    #[error("the spreadsheet spans more than {limit} cells")]
    TooManyCells { limit: u64 },
    #[error("the document is nested more than {limit} levels deep")]
    TooDeep { limit: usize },
    #[error("the {0} file contains no text")]
    NoText(&'static str),
    #[error("the {0} reader failed on this file")]
    ParserFailed(&'static str),
    #[error(transparent)]
    OutOfTime(#[from] super::limits::OutOfTime),
}

impl ExtractError {
    /// Whether the same bytes could succeed on a later attempt: never, since every
    /// variant describes the content.
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// The stable code an API response or an item's failure reason carries.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge { .. }
            | Self::UnpackedTooLarge { .. }
            | Self::CompressionRatio { .. }
            | Self::TooManyEntries { .. }
            | Self::TooManyPages { .. }
            | Self::TooMuchText { .. }
            | Self::TooManyCells { .. }
            | Self::TooDeep { .. }
            | Self::OutOfTime(_) => ErrorCode::TooLarge,
            Self::Unsupported(_) | Self::Unrecognised { .. } => ErrorCode::UnsupportedMedia,
            Self::Empty
            | Self::Encrypted(_)
            | Self::Corrupt { .. }
            | Self::NoText(_)
            | Self::ParserFailed(_) => ErrorCode::Validation,
        }
    }

    pub(crate) fn corrupt(format: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            format,
            reason: reason.to_string(),
        }
    }
}

impl From<ExtractError> for AppError {
    fn from(error: ExtractError) -> Self {
        AppError::new(error.code(), error.to_string())
    }
}

fn mib(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{bytes} bytes")
    }
}

fn unrecognised(name: &str) -> String {
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_uppercase());
    match extension {
        Some(ext) if !ext.is_empty() && ext.len() <= 5 => format!(
            "the file is named .{} but its content is not a {ext} file or any supported format",
            ext.to_ascii_lowercase()
        ),
        _ => "the file's content is not in any supported format".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences_a_user_can_act_on() {
        let too_large = ExtractError::TooLarge {
            size: 60 * 1024 * 1024,
            limit: 50 * 1024 * 1024,
        };
        assert_eq!(
            too_large.to_string(),
            "the file is 60.0 MiB but the limit is 50.0 MiB"
        );
        let named_pdf = ExtractError::Unrecognised {
            name: "report.pdf".into(),
        };
        assert_eq!(
            named_pdf.to_string(),
            "the file is named .pdf but its content is not a PDF file or any supported format"
        );
        assert_eq!(
            ExtractError::Encrypted("PDF").to_string(),
            "the PDF is encrypted; remove the password and upload it again"
        );
    }

    #[test]
    fn no_content_error_is_retryable_and_each_maps_to_a_stable_code() {
        let errors = [
            ExtractError::Empty,
            ExtractError::Encrypted("PDF"),
            ExtractError::TooDeep { limit: 512 },
            ExtractError::Unsupported("GIF".into()),
        ];
        assert!(errors.iter().all(|e| !e.is_retryable()));
        let app: AppError = ExtractError::TooDeep { limit: 512 }.into();
        assert_eq!(app.code, ErrorCode::TooLarge);
        let app: AppError = ExtractError::Unsupported("GIF".into()).into();
        assert_eq!(app.http_status(), 415);
    }
}
