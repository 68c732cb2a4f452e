//! Telling a document's real type from its bytes; the name and MIME type only break ties.

use std::io::{Cursor, Read};

use serde::{Deserialize, Serialize};

use super::ExtractError;

/// The formats the extractor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Pdf,
    Docx,
    Pptx,
    Xlsx,
    Xls,
    Ods,
    Csv,
    Markdown,
    Html,
    Json,
    Text,
    Png,
    Jpeg,
    Tiff,
}

impl DocumentKind {
    /// The name people know the format by, as used in messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Docx => "Word",
            Self::Pptx => "PowerPoint",
            Self::Xlsx | Self::Xls => "Excel",
            Self::Ods => "OpenDocument spreadsheet",
            Self::Csv => "CSV",
            Self::Markdown => "Markdown",
            Self::Html => "HTML",
            Self::Json => "JSON",
            Self::Text => "text",
            Self::Png => "PNG",
            Self::Jpeg => "JPEG",
            Self::Tiff => "TIFF",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Xls => "application/vnd.ms-excel",
            Self::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            Self::Csv => "text/csv",
            Self::Markdown => "text/markdown",
            Self::Html => "text/html",
            Self::Json => "application/json",
            Self::Text => "text/plain",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Tiff => "image/tiff",
        }
    }

    /// Images carry no text layer: they always go to OCR.
    pub fn is_image(self) -> bool {
        matches!(self, Self::Png | Self::Jpeg | Self::Tiff)
    }

    /// Whether the extracted text uses Markdown headings (`# Title`) the chunker can follow.
    pub fn has_markdown_headings(self) -> bool {
        matches!(
            self,
            Self::Docx
                | Self::Pptx
                | Self::Xlsx
                | Self::Xls
                | Self::Ods
                | Self::Markdown
                | Self::Html
        )
    }
}

/// Detects what `bytes` really are. Magic bytes and content decide; the file name's
/// extension and the declared MIME type only choose between text formats (and between
/// legacy Office formats), so a `.pdf` of random bytes is refused as such.
pub fn sniff(
    bytes: &[u8],
    file_name: &str,
    declared_mime: Option<&str>,
) -> Result<DocumentKind, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    let hint = Hint::new(file_name, declared_mime);
    let head = &bytes[..bytes.len().min(1024)];
    if memchr::memmem::find(head, b"%PDF-").is_some() {
        return Ok(DocumentKind::Pdf);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(DocumentKind::Png);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(DocumentKind::Jpeg);
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Ok(DocumentKind::Tiff);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Err(ExtractError::Unsupported("GIF image".into()));
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Err(ExtractError::Unsupported("WebP image".into()));
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return sniff_zip(bytes, &hint);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return sniff_compound_file(bytes);
    }
    if !looks_like_text(&bytes[..bytes.len().min(64 * 1024)]) {
        return Err(ExtractError::Unrecognised {
            name: file_name.to_owned(),
        });
    }
    Ok(text_kind(bytes, &hint))
}

/// What the name and declared MIME type suggest, lower-cased.
struct Hint {
    extension: String,
    mime: String,
}

impl Hint {
    fn new(file_name: &str, declared_mime: Option<&str>) -> Self {
        let extension = file_name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .unwrap_or_default();
        let mime = declared_mime
            .and_then(|m| m.split(';').next())
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        Self { extension, mime }
    }

    fn is(&self, extensions: &[&str], mimes: &[&str]) -> bool {
        extensions.contains(&self.extension.as_str()) || mimes.contains(&self.mime.as_str())
    }
}

fn sniff_zip(bytes: &[u8], hint: &Hint) -> Result<DocumentKind, ExtractError> {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive,
        Err(error) => {
            let format = if hint.is(&["docx"], &[]) {
                "Word"
            } else if hint.is(&["pptx"], &[]) {
                "PowerPoint"
            } else if hint.is(&["xlsx"], &[]) {
                "Excel"
            } else if hint.is(&["ods"], &[]) {
                "OpenDocument spreadsheet"
            } else {
                "zip"
            };
            return Err(ExtractError::corrupt(format, error));
        }
    };
    let has = |name: &str| archive.index_for_name(name).is_some();
    if has("word/document.xml") {
        return Ok(DocumentKind::Docx);
    }
    if has("ppt/presentation.xml") {
        return Ok(DocumentKind::Pptx);
    }
    if has("xl/workbook.xml") {
        return Ok(DocumentKind::Xlsx);
    }
    if has("xl/workbook.bin") {
        return Err(ExtractError::Unsupported(
            "Excel binary workbook (.xlsb)".into(),
        ));
    }
    let mut mimetype = String::new();
    if let Ok(entry) = archive.by_name("mimetype") {
        // A file that is not text leaves `mimetype` empty, which is handled below.
        let _ = entry.take(128).read_to_string(&mut mimetype);
    }
    match mimetype.trim() {
        "application/vnd.oasis.opendocument.spreadsheet" => Ok(DocumentKind::Ods),
        "application/vnd.oasis.opendocument.text" => {
            Err(ExtractError::Unsupported("OpenDocument text (.odt)".into()))
        }
        "application/vnd.oasis.opendocument.presentation" => Err(ExtractError::Unsupported(
            "OpenDocument presentation (.odp)".into(),
        )),
        "application/epub+zip" => Err(ExtractError::Unsupported("EPUB".into())),
        _ => Err(ExtractError::Unsupported("zip archive".into())),
    }
}

/// Legacy Office files share one container format; its stream names tell them apart.
fn sniff_compound_file(bytes: &[u8]) -> Result<DocumentKind, ExtractError> {
    let file = cfb::CompoundFile::open(Cursor::new(bytes))
        .map_err(|error| ExtractError::corrupt("Office", error))?;
    let has = |name: &str| file.is_stream(name);
    if has("/EncryptedPackage") {
        Err(ExtractError::Encrypted("Office document"))
    } else if has("/Workbook") || has("/Book") {
        Ok(DocumentKind::Xls)
    } else if has("/WordDocument") {
        Err(ExtractError::Unsupported(
            "Legacy Word (.doc); save it as .docx".into(),
        ))
    } else if has("/PowerPoint Document") {
        Err(ExtractError::Unsupported(
            "Legacy PowerPoint (.ppt); save it as .pptx".into(),
        ))
    } else {
        Err(ExtractError::Unsupported("Legacy Office".into()))
    }
}

/// Text in any encoding has almost no control characters; binary data has many.
/// NUL bytes are tolerated (text with stray NULs is still text) unless they dominate
/// without the alternating pattern of UTF-16.
fn looks_like_text(sample: &[u8]) -> bool {
    if sample.starts_with(&[0xFF, 0xFE]) || sample.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    // Most text has no NUL and no control character but whitespace and ESC: one pass the
    // compiler vectorises settles it.
    let plain =
        |b: u8| (b >= 0x20 && b != 0x7F) || matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B);
    if !sample.is_empty() && sample.iter().fold(true, |all, &b| all & plain(b)) {
        return true;
    }
    let mut controls = 0usize;
    let mut nul_even = 0usize;
    let mut nul_odd = 0usize;
    for (i, &b) in sample.iter().enumerate() {
        match b {
            0 if i % 2 == 0 => nul_even += 1,
            0 => nul_odd += 1,
            b'\t' | b'\n' | b'\r' | 0x0C | 0x1B => {}
            0x01..=0x1F | 0x7F => controls += 1,
            _ => {}
        }
    }
    let nuls = nul_even + nul_odd;
    let others = sample.len() - nuls;
    if others == 0 || controls * 50 > others {
        return false;
    }
    let utf16_like = nul_even.max(nul_odd) * 10 >= nuls * 9;
    nuls * 10 <= sample.len() * 3 || utf16_like
}

fn text_kind(bytes: &[u8], hint: &Hint) -> DocumentKind {
    if hint.is(
        &["md", "markdown", "mdown", "mkd"],
        &["text/markdown", "text/x-markdown"],
    ) {
        return DocumentKind::Markdown;
    }
    if hint.is(&["csv", "tsv"], &["text/csv", "text/tab-separated-values"]) {
        return DocumentKind::Csv;
    }
    let start = first_text(bytes);
    let lower: String = start
        .chars()
        .take(256)
        .collect::<String>()
        .to_ascii_lowercase();
    let markup = lower.starts_with('<')
        && ["<!doctype html", "<html", "<head", "<body"]
            .iter()
            .any(|tag| lower.contains(tag));
    if markup
        || hint.is(
            &["html", "htm", "xhtml"],
            &["text/html", "application/xhtml+xml"],
        )
    {
        return DocumentKind::Html;
    }
    if hint.is(&["json"], &["application/json"]) {
        return DocumentKind::Json;
    }
    let end = bytes.trim_ascii_end().last().copied();
    if (lower.starts_with('{') && end == Some(b'}'))
        || (lower.starts_with('[') && end == Some(b']'))
    {
        return DocumentKind::Json;
    }
    DocumentKind::Text
}

/// The first few hundred bytes as text, without a BOM, NULs or leading whitespace.
fn first_text(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(512)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text: String = String::from_utf8_lossy(head)
        .chars()
        .filter(|&c| c != '\0')
        .collect();
    text.trim_start().to_owned()
}

#[cfg(test)]
#[path = "sniff_tests.rs"]
mod tests;
