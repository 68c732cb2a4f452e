//! Each supported format: the sentence put on page, slide or sheet N comes back there.

use shared::extract::DocumentKind;

use crate::build::{self, docx, page_break, para, word_table};
use crate::{assert_only_on_page, extract, fixture};

fn marker(n: u32) -> String {
    format!("The marker sentence for part {n} is here.")
}

#[test]
fn a_pdf_sentence_on_page_n_comes_back_on_page_n_with_its_lines() {
    let pages: Vec<String> = (1..=3)
        .map(|n| format!("Heading {n}\n{}", marker(n)))
        .collect();
    let refs: Vec<&str> = pages.iter().map(String::as_str).collect();
    let doc = extract(&build::pdf(&refs), "report.pdf").unwrap();
    assert_eq!(doc.kind, DocumentKind::Pdf);
    assert!(!doc.needs_ocr);
    assert_eq!(doc.title.as_deref(), Some("Test report"));
    for n in 1..=3 {
        assert_only_on_page(&doc, &marker(n), n);
    }
    assert_eq!(doc.pages[1].text, format!("Heading 2\n{}", marker(2)));
}

#[test]
fn a_word_document_keeps_pages_headings_and_table_rows() {
    let body = [
        para(Some("Heading1"), "Guide"),
        para(None, &marker(1)),
        page_break(),
        para(Some("Heading2"), "Install"),
        para(None, &marker(2)),
        word_table(&[&["Name", "Role"], &["Ann", "Admin"]]),
        para(Some("Custom3"), "Styled like a heading"),
        para(None, "Tom &amp; Jerry &#8212; together"),
    ]
    .concat();
    let doc = extract(&docx(&body), "report.docx").unwrap();
    assert_eq!(doc.kind, DocumentKind::Docx);
    assert_eq!(doc.title.as_deref(), Some("Quarterly report"));
    assert_eq!(doc.pages.len(), 2);
    assert_eq!(doc.pages[0].text, format!("# Guide\n\n{}", marker(1)));
    assert_eq!(
        doc.pages[1].text,
        format!(
            "## Install\n\n{}\n\nName | Role\nAnn | Admin\n\n## Styled like a heading\n\nTom & Jerry — together",
            marker(2)
        )
    );
}

#[test]
fn a_word_document_from_python_docx_reads_the_same_way() {
    let doc = extract(&fixture("two_pages.docx"), "two_pages.docx").unwrap();
    assert_eq!(doc.title.as_deref(), Some("Fixture report"));
    assert_only_on_page(&doc, "# Guide", 1);
    assert_only_on_page(&doc, &marker(1), 1);
    assert_only_on_page(&doc, "## Install", 2);
    assert_only_on_page(&doc, &marker(2), 2);
    assert_only_on_page(&doc, "Ann | Admin", 2);
}

#[test]
fn a_presentation_gives_one_page_per_slide_in_presentation_order() {
    let markers: Vec<String> = (1..=3).map(marker).collect();
    let slides = [
        ("Welcome", markers[0].as_str()),
        ("Plan", markers[1].as_str()),
        ("Questions", markers[2].as_str()),
    ];
    let doc = extract(&build::pptx(&slides), "deck.pptx").unwrap();
    assert_eq!(doc.kind, DocumentKind::Pptx);
    assert_eq!(doc.title.as_deref(), Some("Welcome"));
    assert_eq!(doc.pages.len(), 3);
    assert_eq!(doc.pages[1].text, format!("# Plan\n\n{}", marker(2)));
    for n in 1..=3 {
        assert_only_on_page(&doc, &marker(n), n);
    }
}

#[test]
fn every_spreadsheet_format_gives_one_page_per_sheet_headed_by_its_name() {
    let (one, two) = (marker(1), marker(2));
    let built = build::xlsx(&[
        ("Sheet1", &[&["Item", "Note"], &["1", &one]]),
        ("Sheet2", &[&["Item", "Note"], &["2", &two]]),
    ]);
    let inputs = [
        (built, "built.xlsx", DocumentKind::Xlsx),
        (
            fixture("two_sheets.xlsx"),
            "two_sheets.xlsx",
            DocumentKind::Xlsx,
        ),
        (
            fixture("two_sheets.xls"),
            "two_sheets.xls",
            DocumentKind::Xls,
        ),
        (
            fixture("two_sheets.ods"),
            "two_sheets.ods",
            DocumentKind::Ods,
        ),
    ];
    for (bytes, name, kind) in inputs {
        let doc = extract(&bytes, name).unwrap();
        assert_eq!(doc.kind, kind, "{name}");
        assert_eq!(doc.pages.len(), 2, "{name}");
        assert_eq!(
            doc.pages[0].text,
            format!("# Sheet1\n\nItem\tNote\n1\t{}", marker(1)),
            "{name}"
        );
        assert_only_on_page(&doc, &marker(2), 2);
    }
}

#[test]
fn csv_markdown_json_and_text_come_back_as_text() {
    let csv = extract(b"name,city\nAnn,Paris\n", "people.csv").unwrap();
    assert_eq!(csv.pages[0].text, "name\tcity\nAnn\tParis");
    let md = extract(b"# Guide\n\n## Install\n\nRun `make`.\n", "guide.md").unwrap();
    assert_eq!(md.pages[0].text, "# Guide\n\n## Install\n\nRun `make`.");
    let json = extract(br#"{"user": {"name": "Ann"}}"#, "data.json").unwrap();
    assert_eq!(json.pages[0].text, "user.name: Ann");
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode("Le café est très chaud.");
    let text = extract(&latin1, "notes.txt").unwrap();
    assert_eq!(text.pages[0].text, "Le café est très chaud.");
}

#[test]
fn html_keeps_the_main_content_and_drops_menus_footers_and_scripts() {
    let html = br#"<!DOCTYPE html><html><head><title>Install guide</title>
        <style>body { color: red }</style><script>var menu = "script text";</script></head>
        <body><nav><a href="/">Home</a> <a href="/docs">Docs menu</a></nav>
        <header><p>Site banner</p></header>
        <div class="cookie-banner">We use cookies</div>
        <main><h1>Install</h1><p>Download the   installer,
            then run it.</p><ul><li>Step one</li><li>Step two</li></ul>
            <table><tr><th>OS</th><th>File</th></tr><tr><td>Linux</td><td>setup.sh</td></tr></table>
            <h2>Troubleshooting</h2><p>Restart the <b>service</b>.<br>Then retry.</p></main>
        <aside>Related posts</aside><footer>Copyright 2025</footer></body></html>"#;
    let doc = extract(html, "page.html").unwrap();
    assert_eq!(doc.title.as_deref(), Some("Install guide"));
    assert_eq!(
        doc.pages[0].text,
        "# Install\n\nDownload the installer, then run it.\n\n- Step one\n- Step two\n\n\
         OS | File\nLinux | setup.sh\n\n## Troubleshooting\n\nRestart the service.\nThen retry."
    );
}

#[test]
fn html_without_main_keeps_the_body_minus_navigation() {
    let html = b"<html><body><div id=\"main-nav\">Menu links</div><p>Body text.</p><footer>Foot</footer></body></html>";
    let doc = extract(html, "page.htm").unwrap();
    assert_eq!(doc.pages[0].text, "Body text.");
}

#[test]
fn an_image_is_sent_to_ocr() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let doc = extract(png, "scan.png").unwrap();
    assert_eq!(doc.kind, DocumentKind::Png);
    assert!(doc.needs_ocr);
    assert!(doc.pages.is_empty());
}

#[test]
fn the_content_decides_the_type_whatever_the_name() {
    let xlsx = build::xlsx(&[("Data", &[&["a"]])]);
    assert_eq!(
        extract(&xlsx, "misnamed.docx").unwrap().kind,
        DocumentKind::Xlsx
    );
    let pdf = build::pdf(&["hello"]);
    assert_eq!(extract(&pdf, "upload.bin").unwrap().kind, DocumentKind::Pdf);
}
