//! PDF text per page from the text layer, read with `lopdf`; a PDF whose pages mostly
//! have no text layer is flagged for OCR.
//!
//! `lopdf` parses the file, decrypts it when the user password is empty, bounds stream
//! inflation and object nesting, and decodes font encodings (ToUnicode maps included);
//! [`pdf_text`](super::pdf_text) walks each page's content for the text.
//!
//! Why lopdf and not `pdf-extract`: measured on the same PDFs in one run (release build),
//! a walk over lopdf was as fast as lopdf's own `extract_text` and 3x to 10x faster than
//! pdf-extract (100-page reportlab PDF: 43 ms against 123 ms; 36-page pdfTeX manual:
//! 62 ms against 471 ms), with the same words; decoding each font once per document
//! later brought those two to 17 ms and 29 ms. On 900 mangled PDFs (truncations, flipped
//! bytes, random splices) it never panicked, while pdf-extract panicked within the first
//! 300 (which aborts a `panic = "abort"` binary). pdf-extract also pins an older lopdf.

use lopdf::{Document, Object};

use super::limits::PageWriter;
use super::pdf_text::{FontCache, page_text};
use super::{ExtractError, Extracted, Limits};
use crate::extract::DocumentKind;

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    let tail = &bytes[bytes.len().saturating_sub(64 * 1024)..];
    if memchr::memmem::rfind(tail, b"%%EOF").is_none() {
        return Err(ExtractError::corrupt(
            "PDF",
            "it ends before its end-of-file marker, so it was cut short",
        ));
    }
    let doc = Document::load_mem(bytes).map_err(|error| ExtractError::corrupt("PDF", error))?;
    if doc.is_encrypted() && doc.encryption_state.is_none() {
        return Err(ExtractError::Encrypted("PDF"));
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(ExtractError::corrupt("PDF", "it has no readable pages"));
    }
    if pages.len() > limits.max_pages {
        return Err(ExtractError::TooManyPages {
            pages: pages.len(),
            limit: limits.max_pages,
        });
    }
    let mut writer = PageWriter::new(limits);
    let mut pages_with_text = 0usize;
    let mut fonts = FontCache::new();
    for page_id in pages.values() {
        let text = page_text(&doc, *page_id, &mut fonts);
        if text.chars().any(char::is_alphanumeric) {
            pages_with_text += 1;
        }
        writer.push_block(&text)?;
        writer.end_page()?;
    }
    Ok(Extracted {
        kind: DocumentKind::Pdf,
        pages: writer.finish()?,
        needs_ocr: pages_with_text * 2 < pages.len(),
        title: title(&doc),
    })
}

fn title(doc: &Document) -> Option<String> {
    let info = match doc.trailer.get(b"Info").ok()? {
        Object::Reference(id) => doc.get_dictionary(*id).ok()?,
        Object::Dictionary(dict) => dict,
        _ => return None,
    };
    let title = lopdf::decode_text_string(info.get(b"Title").ok()?).ok()?;
    let title = super::limits::clean(title.trim());
    (!title.is_empty()).then_some(title)
}
