use super::*;

#[test]
fn content_wins_over_the_name() {
    assert_eq!(
        sniff(b"%PDF-1.7\n...", "notes.txt", None).unwrap(),
        DocumentKind::Pdf
    );
    assert_eq!(
        sniff(b"just some words", "scan.pdf", Some("application/pdf")).unwrap(),
        DocumentKind::Text
    );
    assert_eq!(
        sniff(b"<!DOCTYPE html><p>hi</p>", "page.txt", None).unwrap(),
        DocumentKind::Html
    );
    assert_eq!(
        sniff(
            b"\xEF\xBB\xBF<!-- saved page -->\n<html><body>hi",
            "page",
            None
        )
        .unwrap(),
        DocumentKind::Html
    );
}

#[test]
fn the_name_chooses_between_text_formats() {
    assert_eq!(
        sniff(b"# Title\n\nbody", "README.md", None).unwrap(),
        DocumentKind::Markdown
    );
    assert_eq!(
        sniff(b"a,b\n1,2\n", "data.csv", None).unwrap(),
        DocumentKind::Csv
    );
    assert_eq!(
        sniff(b"a,b\n1,2\n", "upload", Some("text/csv; charset=utf-8")).unwrap(),
        DocumentKind::Csv
    );
    assert_eq!(
        sniff(b"{\"a\": 1}", "blob", None).unwrap(),
        DocumentKind::Json
    );
}

#[test]
fn random_bytes_named_pdf_are_refused_as_not_a_pdf() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let error = sniff(&bytes, "report.pdf", Some("application/pdf")).unwrap_err();
    assert!(matches!(error, ExtractError::Unrecognised { .. }));
    assert!(error.to_string().contains("not a PDF file"), "{error}");
}

#[test]
fn text_with_stray_nul_bytes_and_utf16_are_still_text() {
    assert_eq!(
        sniff(b"hello\0 world\0", "a.txt", None).unwrap(),
        DocumentKind::Text
    );
    let utf16: Vec<u8> = "hello world"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_eq!(sniff(&utf16, "a.txt", None).unwrap(), DocumentKind::Text);
}

#[test]
fn images_are_recognised_and_unsupported_ones_named() {
    assert_eq!(
        sniff(b"\x89PNG\r\n\x1a\n....", "x", None).unwrap(),
        DocumentKind::Png
    );
    assert_eq!(
        sniff(&[0xFF, 0xD8, 0xFF, 0xE0], "x", None).unwrap(),
        DocumentKind::Jpeg
    );
    assert_eq!(sniff(b"II*\0....", "x", None).unwrap(), DocumentKind::Tiff);
    let gif = sniff(b"GIF89a....", "x.gif", None).unwrap_err();
    assert_eq!(gif.to_string(), "GIF image files are not supported");
}

#[test]
fn an_empty_file_is_refused() {
    assert!(matches!(
        sniff(b"", "a.pdf", None),
        Err(ExtractError::Empty)
    ));
}
