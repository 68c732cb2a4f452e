//! Every supported format through the running stack, uploaded as a person uploads it: each
//! ends `completed` with every chunk embedded, and searching a sentence from each file
//! finds that file first, citing the page the sentence is on.

use studio_tests::build::{self, docx, page_break, para};
use studio_tests::http::ApiClient;
use uuid::Uuid;

/// Filler prose that shares no words with the sentences searched for.
fn filler(topic: &str, lines: usize) -> Vec<String> {
    (0..lines)
        .map(|i| format!("Paragraph {i} about {topic} restates routine matters of little note."))
        .collect()
}

/// A one-sheet OpenDocument spreadsheet whose cells are `rows`.
fn ods(rows: &[&[&str]]) -> Vec<u8> {
    let rows: String = rows
        .iter()
        .map(|cells| {
            let cells: String = cells
                .iter()
                .map(|c| format!(r#"<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>"#))
                .collect();
            format!("<table:table-row>{cells}</table:table-row>")
        })
        .collect();
    let content = format!(
        r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="Stock">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    build::zip(&[
        (
            "mimetype",
            "application/vnd.oasis.opendocument.spreadsheet".to_owned(),
        ),
        ("content.xml", content),
        (
            "META-INF/manifest.xml",
            r#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#.to_owned(),
        ),
    ])
}

/// (file name, bytes, sentence to search, page it is on)
fn fixtures() -> Vec<(&'static str, Vec<u8>, &'static str, i64)> {
    // Pages of ~600 tokens, the sentence mid page 2: its chunk lies within page 2 alone.
    let glacier = "The glacier survey measured forty meters of retreat since spring.";
    let mut page_two = filler("maintenance", 25);
    page_two.insert(12, glacier.to_owned());
    let pages = [
        filler("weather", 25).join("\n"),
        page_two.join("\n"),
        filler("budgets", 25).join("\n"),
    ];
    let pdf = build::pdf(&pages.iter().map(String::as_str).collect::<Vec<_>>());
    let boathouse = "Volunteers repaint the boathouse every second autumn.";
    let word = docx(
        &[
            para(Some("Heading1"), "Club handbook"),
            para(None, "Membership fees are due in January."),
            page_break(),
            para(None, boathouse),
        ]
        .concat(),
    );
    let falcon = "Peregrine falcons nest on the cathedral tower each March.";
    let slides = build::pptx(&[("Wildlife", "Sparrows everywhere."), ("Raptors", falcon)]);
    let lantern = "Spare lantern wicks are kept in the blue cabinet";
    let workbook = build::xlsx(&[
        ("Summary", &[&["Item", "Count"], &["Rope", "12"]]),
        ("Stores", &[&["Note"], &[lantern]]),
    ]);
    let ledger = "Quarterly ferry tickets sold out before noon";
    vec![
        ("survey.pdf", pdf, glacier, 2),
        ("handbook.docx", word, boathouse, 2),
        ("wildlife.pptx", slides, falcon, 2),
        ("stores.xlsx", workbook, lantern, 2),
        // Committed fixture (shared/tests/fixtures/generate.py): Excel 97 binary.
        (
            "two_sheets.xls",
            include_bytes!("../../shared/tests/fixtures/two_sheets.xls").to_vec(),
            "The marker sentence for part 2 is here.",
            2,
        ),
        ("ferries.ods", ods(&[&["Note"], &[ledger]]), ledger, 1),
        (
            "orchard.csv",
            b"tree,note\napple,The cider press broke during the October harvest\n".to_vec(),
            "cider press broke during the October harvest",
            1,
        ),
        (
            "kiln.md",
            b"# Pottery\n\n## Firing\n\nThe kiln reaches cone six after eleven hours.\n".to_vec(),
            "kiln reaches cone six after eleven hours",
            1,
        ),
        (
            "library.html",
            b"<html><body><nav>Home | Contact</nav><main><h1>Library</h1><p>Rare maps may be viewed only with cotton gloves.</p></main></body></html>".to_vec(),
            "Rare maps may be viewed only with cotton gloves",
            1,
        ),
        (
            "bakery.json",
            br#"{"shop": "bakery", "notice": "Sourdough starter is fed twice daily with rye flour."}"#.to_vec(),
            "Sourdough starter is fed twice daily with rye flour",
            1,
        ),
        (
            "garden.txt",
            b"Tomato seedlings go into the greenhouse after the last frost.".to_vec(),
            "Tomato seedlings go into the greenhouse after the last frost",
            1,
        ),
    ]
}

#[tokio::test]
async fn every_supported_format_is_searchable_and_cites_its_page() {
    let staff = ApiClient::for_user("local-staff", "staff@example.com");
    let repository = staff
        .repository(&format!("Formats {}", Uuid::new_v4()))
        .await;
    let files = fixtures();
    let mut items = Vec::new();
    for (name, bytes, _, _) in &files {
        items.push(staff.upload(&repository, name, bytes).await);
    }
    for (item, (name, ..)) in items.iter().zip(&files) {
        let done = staff.settle(item).await;
        assert_eq!(done["status"], "completed", "{name}: {done}");
        assert!(done["chunkCount"].as_i64().unwrap() > 0, "{name}: {done}");
        assert_eq!(done["chunkCount"], done["embeddedCount"], "{name}: {done}");
    }
    for (item, (name, _, sentence, page)) in items.iter().zip(&files) {
        let (status, hits) = staff.search(&repository, sentence).await;
        assert_eq!(status, 200, "{name}: {hits}");
        let top = &hits[0];
        assert_eq!(
            top["itemId"].as_str(),
            Some(item.as_str()),
            "{name}: {hits}"
        );
        let (start, end) = (
            top["pageStart"].as_i64().unwrap(),
            top["pageEnd"].as_i64().unwrap(),
        );
        assert!(
            start <= *page && *page <= end,
            "{name}: pages {start}-{end}, want {page}"
        );
        if *name == "survey.pdf" {
            assert_eq!((start, end), (2, 2), "the PDF cites page 2 exactly");
        }
    }
}
