//! Plain text and Markdown in any encoding: BOMs honoured, UTF-8 (lossy when a few bytes
//! are invalid) preferred, legacy encodings guessed with `chardetng`.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

use super::limits::PageWriter;
use super::{DocumentKind, ExtractError, Extracted, Limits};

/// How much of a file the encoding detector looks at.
const DETECTION_SAMPLE: usize = 1024 * 1024;

/// Plain text, split into pages at form feeds (as `pdftotext` writes them).
pub(crate) fn extract_text(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    refuse_oversized(bytes, limits)?;
    let text = decode(bytes, None);
    let mut writer = PageWriter::new(limits);
    let mut start = 0;
    for feed in memchr::memchr_iter(b'\x0C', text.as_bytes()) {
        writer.push_block(&text[start..feed])?;
        writer.end_page()?;
        start = feed + 1;
    }
    writer.push_block(&text[start..])?;
    Ok(Extracted {
        kind: DocumentKind::Text,
        pages: writer.finish()?,
        needs_ocr: false,
        title: None,
    })
}

/// Markdown as written, headings included; the first `#` heading is the title.
pub(crate) fn extract_markdown(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    refuse_oversized(bytes, limits)?;
    let text = decode(bytes, None);
    let title = text
        .lines()
        .find_map(|line| line.strip_prefix("# "))
        .map(|title| title.trim().to_owned())
        .filter(|title| !title.is_empty());
    let mut writer = PageWriter::new(limits);
    writer.push_block(&text)?;
    Ok(Extracted {
        kind: DocumentKind::Markdown,
        pages: writer.finish()?,
        needs_ocr: false,
        title,
    })
}

/// Every UTF-8 character takes at most four bytes, so more than four bytes per allowed
/// character cannot fit: refuse before decoding anything.
pub(crate) fn refuse_oversized(bytes: &[u8], limits: &Limits) -> Result<(), ExtractError> {
    if bytes.len() / 4 > limits.max_chars {
        return Err(ExtractError::TooMuchText {
            limit: limits.max_chars,
        });
    }
    Ok(())
}

/// Decodes text of unknown encoding. A byte order mark wins, then a `declared` encoding
/// (an HTML `<meta charset>`), then UTF-16 recognised by its NUL pattern, then UTF-8
/// when the bytes are UTF-8 but for a few bad ones (those become U+FFFD), then the
/// encoding `chardetng` finds most likely.
pub(crate) fn decode<'a>(bytes: &'a [u8], declared: Option<&'static Encoding>) -> Cow<'a, str> {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom..]).0;
    }
    if let Some(encoding) = declared.filter(|e| *e != UTF_8) {
        return encoding.decode_without_bom_handling(bytes).0;
    }
    if let Some(encoding) = utf16_without_bom(bytes) {
        return encoding.decode_without_bom_handling(bytes).0;
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(text);
    }
    let (mut invalid, mut multibyte) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        invalid += chunk.invalid().len();
        multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        if invalid > 64 && invalid > multibyte {
            break;
        }
    }
    if invalid == 0 || multibyte >= invalid {
        return String::from_utf8_lossy(bytes);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let sample = &bytes[..bytes.len().min(DETECTION_SAMPLE)];
    detector.feed(sample, sample.len() == bytes.len());
    let encoding = detector.guess(None, chardetng::Utf8Detection::Allow);
    encoding.decode_without_bom_handling(bytes).0
}

/// UTF-16 text of mostly Latin script has a NUL in every other byte.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let high_nul = sample
        .chunks_exact(2)
        .filter(|p| p[1] == 0 && p[0] != 0)
        .count();
    let low_nul = sample
        .chunks_exact(2)
        .filter(|p| p[0] == 0 && p[1] != 0)
        .count();
    if high_nul * 10 >= pairs * 7 {
        Some(UTF_16LE)
    } else if low_nul * 10 >= pairs * 7 {
        Some(UTF_16BE)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_encodings_are_decoded_not_mangled() {
        let (latin1, _, _) =
            encoding_rs::WINDOWS_1252.encode("Café crème, déjà vu, à la carte, naïve façade");
        assert_eq!(
            decode(&latin1, None),
            "Café crème, déjà vu, à la carte, naïve façade"
        );
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("Grüße".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&utf16, None), "Grüße");
        let bare: Vec<u8> = "plain words here"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(decode(&bare, None), "plain words here");
    }

    #[test]
    fn utf8_with_a_few_bad_bytes_keeps_its_good_text() {
        let mut bytes = "naïve résumé ".as_bytes().to_vec();
        bytes.push(0xFF);
        bytes.extend_from_slice("café".as_bytes());
        assert_eq!(decode(&bytes, None), "naïve résumé \u{FFFD}café");
    }

    #[test]
    fn form_feeds_split_plain_text_into_pages() {
        let extracted =
            extract_text(b"first page\x0Csecond page\x0Cthird", &Limits::default()).unwrap();
        let texts: Vec<_> = extracted
            .pages
            .iter()
            .map(|p| (p.number, p.text.as_str()))
            .collect();
        assert_eq!(texts, [(1, "first page"), (2, "second page"), (3, "third")]);
    }

    #[test]
    fn markdown_keeps_its_headings_and_names_its_title() {
        let extracted =
            extract_markdown(b"# Guide\n\n## Install\n\nRun it.", &Limits::default()).unwrap();
        assert_eq!(extracted.title.as_deref(), Some("Guide"));
        assert_eq!(extracted.pages[0].text, "# Guide\n\n## Install\n\nRun it.");
    }
}
