//! Hostile and broken files: each ends in a typed error with a readable message, within
//! seconds, on a 2 MiB stack, and never with a panic.

use shared::extract::{DocumentKind, ExtractError, Limits, extract_document};

use crate::build;
use crate::{bounded, extract};

/// Extracts on a bounded thread and returns the error, failing if it succeeded.
fn refused(bytes: Vec<u8>, name: &'static str) -> ExtractError {
    bounded(60, move || extract(&bytes, name))
        .err()
        .unwrap_or_else(|| panic!("{name} was accepted"))
}

const GIB: u32 = 1 << 30;

#[test]
fn a_truncated_pdf_is_refused_as_cut_short() {
    let pdf = build::pdf(&["one", "two", "three"]);
    let error = refused(pdf[..pdf.len() / 2].to_vec(), "report.pdf");
    assert!(
        matches!(error, ExtractError::Corrupt { format: "PDF", .. }),
        "{error}"
    );
    assert!(error.to_string().contains("cut short"), "{error}");
}

#[test]
fn an_encrypted_pdf_is_refused_as_encrypted() {
    let error = refused(build::encrypted_pdf(&["secret plans"]), "locked.pdf");
    assert!(matches!(error, ExtractError::Encrypted("PDF")), "{error}");
    assert_eq!(
        error.to_string(),
        "the PDF is encrypted; remove the password and upload it again"
    );
}

#[test]
fn a_pdf_with_an_empty_user_password_is_read() {
    let mut doc = build::pdf_document(&["restricted but readable"]);
    build::with_file_id(&mut doc);
    let state = lopdf::EncryptionState::try_from(lopdf::EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner",
        user_password: "",
        key_length: 128,
        permissions: lopdf::Permissions::empty(),
    })
    .unwrap();
    doc.encrypt(&state).unwrap();
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    let doc = extract(&bytes, "restricted.pdf").unwrap();
    assert_eq!(doc.pages[0].text, "restricted but readable");
}

fn bomb(kind: DocumentKind, declared: u32) -> Vec<u8> {
    build::zip_bomb(kind, declared)
}

fn is_bomb_error(error: &ExtractError) -> bool {
    matches!(
        error,
        ExtractError::UnpackedTooLarge { .. } | ExtractError::CompressionRatio { .. }
    )
}

#[test]
fn zip_bombs_that_declare_their_size_are_refused_before_inflating() {
    for (kind, name) in [
        (DocumentKind::Docx, "bomb.docx"),
        (DocumentKind::Xlsx, "bomb.xlsx"),
    ] {
        let bytes = bomb(kind, GIB);
        assert!(bytes.len() < 4 << 20, "the bomb is {} bytes", bytes.len());
        let error = refused(bytes, name);
        assert!(is_bomb_error(&error), "{name}: {error}");
        assert!(error.to_string().contains("zip bomb"), "{error}");
    }
}

/// The zip crate stops an entry at its declared size; the extractor's own byte count
/// (a `Read::take` cap) stands behind it.
#[test]
fn zip_bombs_that_lie_about_their_size_are_stopped_while_inflating() {
    for (kind, name) in [
        (DocumentKind::Docx, "liar.docx"),
        (DocumentKind::Xlsx, "liar.xlsx"),
    ] {
        let error = refused(bomb(kind, 2_000), name);
        let message = error.to_string();
        assert!(
            is_bomb_error(&error) || message.contains("larger than its declared"),
            "{name}: {message}"
        );
    }
}

#[test]
fn an_empty_file_is_refused() {
    assert!(matches!(
        refused(Vec::new(), "empty.pdf"),
        ExtractError::Empty
    ));
}

#[test]
fn random_bytes_named_pdf_are_refused_as_not_a_pdf() {
    let mut state = 0x853C_49E6_748F_EA9Bu64;
    let bytes: Vec<u8> = (0..100_000)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 56) as u8
        })
        .collect();
    let error = refused(bytes, "invoice.pdf");
    assert_eq!(
        error.to_string(),
        "the file is named .pdf but its content is not a PDF file or any supported format"
    );
}

#[test]
fn a_50_mb_single_line_text_is_refused_by_the_character_limit() {
    let line = "lorem ipsum ".repeat(50_000_000 / 12).into_bytes();
    let error = refused(line, "huge.txt");
    assert!(
        matches!(error, ExtractError::TooMuchText { limit: 20_000_000 }),
        "{error}"
    );
}

#[test]
fn nul_bytes_never_reach_the_output() {
    let inputs: [(&[u8], &str); 3] = [
        (b"alpha\0beta\0\0 gamma", "nul.txt"),
        (b"a,b\0\nc\0,d\n", "nul.csv"),
        (b"<p>one\0two</p>", "nul.html"),
    ];
    for (bytes, name) in inputs {
        let doc = extract(bytes, name).unwrap();
        assert!(doc.pages.iter().all(|p| !p.text.contains('\0')), "{name}");
    }
    assert_eq!(
        extract(inputs[0].0, "nul.txt").unwrap().pages[0].text,
        "alphabeta gamma"
    );
}

#[test]
fn a_pdf_of_2000_blank_pages_goes_to_ocr_and_2001_are_refused() {
    let blank = build::pdf(&[""; 2000]);
    let doc = bounded(60, move || extract(&blank, "blank.pdf")).unwrap();
    assert_eq!(doc.pages.len(), 2000);
    assert!(doc.needs_ocr);
    let error = refused(build::pdf(&[""; 2001]), "blank.pdf");
    assert!(
        matches!(
            error,
            ExtractError::TooManyPages {
                pages: 2001,
                limit: 2000
            }
        ),
        "{error}"
    );
}

#[test]
fn html_nested_100000_deep_is_refused_as_too_deep() {
    for tag in ["div", "b", "table"] {
        let html = format!(
            "{}deep{}",
            format!("<{tag}>").repeat(100_000),
            format!("</{tag}>").repeat(100_000)
        );
        let error = refused(html.into_bytes(), "deep.html");
        assert!(
            matches!(error, ExtractError::TooDeep { limit: 512 }),
            "{tag}: {error}"
        );
    }
}

#[test]
fn sloppy_html_with_unclosed_paragraphs_and_items_is_not_too_deep() {
    let html = "<p>para <b>bold <li>item ".repeat(5_000);
    let doc = bounded(60, move || extract(html.as_bytes(), "sloppy.html")).unwrap();
    assert!(doc.pages[0].text.contains("- item"));
}

#[test]
fn office_xml_nested_20000_deep_is_refused_as_too_deep() {
    let body = format!("{}{}", "<w:p>".repeat(20_000), "</w:p>".repeat(20_000));
    let error = refused(build::docx(&body), "deep.docx");
    assert!(matches!(error, ExtractError::TooDeep { .. }), "{error}");
}

#[test]
fn pdf_content_nested_100000_deep_does_not_overflow_the_stack() {
    let mut doc = build::pdf_document(&["visible text"]);
    let page = *doc.get_pages().values().next().unwrap();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let contents = doc.add_object(lopdf::Stream::new(lopdf::dictionary! {}, deep.into_bytes()));
    let existing = doc
        .get_dictionary(page)
        .unwrap()
        .get(b"Contents")
        .unwrap()
        .clone();
    doc.get_dictionary_mut(page)
        .unwrap()
        .set("Contents", vec![existing, contents.into()]);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    let doc = bounded(60, move || extract(&bytes, "deep.pdf")).unwrap();
    assert_eq!(doc.pages[0].text, "visible text");
}

#[test]
fn a_spreadsheet_whose_repeats_span_billions_of_cells_is_refused() {
    let content = r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="S"><table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="1000" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#;
    let ods = build::zip(&[
        (
            "mimetype",
            "application/vnd.oasis.opendocument.spreadsheet".to_owned(),
        ),
        ("content.xml", content.to_owned()),
    ]);
    let error = refused(ods, "wide.ods");
    assert!(
        matches!(error, ExtractError::TooManyCells { .. }),
        "{error}"
    );
}

#[test]
fn an_xlsx_with_two_far_apart_cells_is_read_without_a_giant_grid() {
    let sheet = r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>top left</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>bottom right</t></is></c></row></sheetData></worksheet>"#;
    let mut entries = build::xlsx_entries(&[("S", &[])]);
    entries.retain(|(name, _)| name != "xl/worksheets/sheet1.xml");
    entries.push(("xl/worksheets/sheet1.xml".to_owned(), sheet.to_owned()));
    let bytes = build::zip(&entries);
    let doc = bounded(60, move || extract(&bytes, "sparse.xlsx")).unwrap();
    assert_eq!(doc.pages[0].text, "# S\n\ntop left\nbottom right");
}

#[test]
fn an_input_over_the_size_limit_is_refused_before_reading() {
    let limits = Limits {
        max_input_bytes: 1024,
        ..Limits::default()
    };
    let error = extract_document(&[b'a'; 2048], "a.txt", None, &limits).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the file is 2048 bytes but the limit is 1024 bytes"
    );
}

/// Truncations, flipped bytes and random splices of every format: whatever happens, no
/// panic escapes, no parser panics inside, and any output keeps its invariants.
#[test]
fn mangled_documents_never_panic_and_never_yield_broken_text() {
    let originals: Vec<(Vec<u8>, &str)> = vec![
        (build::pdf(&["one\ntwo", "three"]), "a.pdf"),
        (
            build::docx(&build::para(Some("Heading1"), "Title")),
            "a.docx",
        ),
        (build::pptx(&[("T", "body")]), "a.pptx"),
        (build::xlsx(&[("S", &[&["a", "b"]])]), "a.xlsx"),
        (crate::fixture("two_sheets.xls"), "a.xls"),
        (crate::fixture("two_sheets.ods"), "a.ods"),
        (
            b"<html><body><main><p>x</p></main></body></html>".to_vec(),
            "a.html",
        ),
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (original, name) in &originals {
        for round in 0..150 {
            let mut bytes = original.clone();
            let at = (random() as usize) % bytes.len();
            match round % 3 {
                0 => bytes.truncate(at.max(1)),
                1 => (0..8).for_each(|_| {
                    let i = (random() as usize) % bytes.len();
                    bytes[i] = random() as u8;
                }),
                _ => {
                    let end = (at + (random() as usize) % 512).min(bytes.len());
                    bytes[at..end].iter_mut().for_each(|b| *b = random() as u8);
                }
            }
            match extract(&bytes, name) {
                Ok(doc) => {
                    for (i, page) in doc.pages.iter().enumerate() {
                        assert_eq!(page.number as usize, i + 1);
                        assert!(!page.text.contains('\0'));
                    }
                }
                Err(ExtractError::ParserFailed(format)) => {
                    panic!("the {format} parser panicked on round {round} of {name}")
                }
                Err(error) => assert!(!error.to_string().is_empty()),
            }
        }
    }
}
