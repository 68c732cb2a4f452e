//! Text extraction, page by page, from uploaded documents: the real type sniffed from the
//! content, every cost bounded by [`Limits`], every failure a typed [`ExtractError`].
//!
//! ```no_run
//! use shared::extract::{self, Limits};
//! # fn run(bytes: &[u8]) -> Result<(), extract::ExtractError> {
//! let kind = extract::sniff(bytes, "report.pdf", Some("application/pdf"))?;
//! let doc = extract::extract(bytes, kind, &Limits::default())?;
//! if doc.needs_ocr {
//!     // a scan or an image: send it to OCR instead
//! }
//! # Ok(()) }
//! ```
//!
//! Extraction is CPU-bound and synchronous: call it from `spawn_blocking`. Output text
//! is valid UTF-8 without NUL bytes; Markdown-like `#` headings mark titles, headings,
//! slide titles and sheet names so the chunker can follow the structure.
//!
//! Third-party parsers run under `catch_unwind`, so a panic in one on a hostile file
//! becomes [`ExtractError::ParserFailed`]. That needs unwinding, which the workspace's
//! release profile keeps (it does not set `panic = "abort"`).

mod archive;
mod docx;
mod error;
mod html;
mod html_text;
mod limits;
mod pdf;
mod pdf_text;
mod pptx;
mod sheet;
mod sniff;
mod structured;
mod text;
mod xml;

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::{Deserialize, Serialize};

pub use error::ExtractError;
pub use limits::{Deadline, Limits, OutOfTime};
pub use sniff::{DocumentKind, sniff};

/// The text of one page (a PDF page, a slide, a sheet, a page of a Word document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// 1-based, as people count pages.
    pub number: u32,
    pub text: String,
}

/// What a document yielded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extracted {
    pub kind: DocumentKind,
    pub pages: Vec<Page>,
    /// The document has no usable text layer (a scan, an image): send it to OCR.
    pub needs_ocr: bool,
    pub title: Option<String>,
}

impl Extracted {
    pub fn char_count(&self) -> usize {
        self.pages.iter().map(|p| p.text.chars().count()).sum()
    }
}

/// Extracts the text of `bytes`, read as `kind` (see [`sniff`]).
pub fn extract(
    bytes: &[u8],
    kind: DocumentKind,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    let size = bytes.len() as u64;
    if size > limits.max_input_bytes {
        return Err(ExtractError::TooLarge {
            size,
            limit: limits.max_input_bytes,
        });
    }
    let extracted = catch_unwind(AssertUnwindSafe(|| match kind {
        DocumentKind::Pdf => pdf::extract(bytes, limits),
        DocumentKind::Docx => docx::extract(bytes, limits),
        DocumentKind::Pptx => pptx::extract(bytes, limits),
        DocumentKind::Xlsx | DocumentKind::Xls | DocumentKind::Ods => {
            sheet::extract(bytes, kind, limits)
        }
        DocumentKind::Csv => structured::extract_csv(bytes, limits),
        DocumentKind::Json => structured::extract_json(bytes, limits),
        DocumentKind::Markdown => text::extract_markdown(bytes, limits),
        DocumentKind::Html => html::extract(bytes, limits),
        DocumentKind::Text => text::extract_text(bytes, limits),
        DocumentKind::Png | DocumentKind::Jpeg | DocumentKind::Tiff => Ok(Extracted {
            kind,
            pages: Vec::new(),
            needs_ocr: true,
            title: None,
        }),
    }))
    .unwrap_or(Err(ExtractError::ParserFailed(kind.label())))?;
    let blank = extracted.pages.iter().all(|p| p.text.trim().is_empty());
    if blank && !extracted.needs_ocr {
        return Err(ExtractError::NoText(kind.label()));
    }
    Ok(extracted)
}

/// [`sniff`] then [`extract`], refusing an oversized input before looking at it.
pub fn extract_document(
    bytes: &[u8],
    file_name: &str,
    declared_mime: Option<&str>,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    let size = bytes.len() as u64;
    if size > limits.max_input_bytes {
        return Err(ExtractError::TooLarge {
            size,
            limit: limits.max_input_bytes,
        });
    }
    let kind = sniff(bytes, file_name, declared_mime)?;
    extract(bytes, kind, limits)
}
