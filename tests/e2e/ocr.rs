//! OCR through the running local stack: a scanned PDF (page images, no text layer) and a
//! PNG uploaded over HTTP go file-processor -> StartDocumentTextDetection (the stack's
//! local Textract) -> SNS-wrapped completion on the ocr-completion queue ->
//! textract-processor -> chunks -> embeddings, and are found by search at the right page;
//! with the month's OCR budget at 0 pages a scan ends `failed` saying so.
//!
//! Needs the stack to run `studio_local::textract::TextractServer` with the functions on
//! `OCR_PROVIDER=textract` (issue 18); `local_textract.rs` tests the server on its own.

use std::path::Path;
use std::process::Command;

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use serde::Deserialize;
use shared::data_api::{DataApi, Params};
use uuid::Uuid;

use studio_tests::http::{ApiClient as Client, env};

fn client(sub: &str, email: &str) -> Client {
    Client::for_user(sub, email)
}

/// A text PDF (Helvetica 16 pt), one page per entry, lines top to bottom.
pub(crate) fn text_pdf(pages: &[&[&str]]) -> Vec<u8> {
    pdf(pages.iter().map(|lines| {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 16.into()]),
            Operation::new("Td", vec![72.into(), 720.into()]),
        ];
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                operations.push(Operation::new("Td", vec![0.into(), (-24).into()]));
            }
            operations.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
        }
        operations.push(Operation::new("ET", vec![]));
        (operations, None)
    }))
}

/// A PDF whose pages are only images (DCT-encoded grey JPEGs): a scan, no text layer.
pub(crate) fn image_pdf(jpegs: &[Vec<u8>]) -> Vec<u8> {
    pdf(jpegs.iter().map(|jpeg| {
        let operations = vec![
            Operation::new("q", vec![]),
            Operation::new(
                "cm",
                vec![
                    612.into(),
                    0.into(),
                    0.into(),
                    792.into(),
                    0.into(),
                    0.into(),
                ],
            ),
            Operation::new("Do", vec!["Im0".into()]),
            Operation::new("Q", vec![]),
        ];
        (operations, Some(jpeg.clone()))
    }))
}

fn pdf(pages: impl Iterator<Item = (Vec<Operation>, Option<Vec<u8>>)>) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let mut kids = Vec::new();
    for (operations, jpeg) in pages {
        let mut resources = dictionary! { "Font" => dictionary! { "F1" => font_id } };
        if let Some(jpeg) = jpeg {
            let (width, height, components) = jpeg_frame(&jpeg);
            let colors = if components == 1 {
                "DeviceGray"
            } else {
                "DeviceRGB"
            };
            let image = doc.add_object(Stream::new(
                dictionary! {
                    "Type" => "XObject", "Subtype" => "Image", "Width" => width, "Height" => height,
                    "ColorSpace" => colors, "BitsPerComponent" => 8, "Filter" => "DCTDecode",
                },
                jpeg,
            ));
            resources.set("XObject", dictionary! { "Im0" => image });
        }
        let content = Content { operations }.encode().unwrap();
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        kids.push(Object::from(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
            "Resources" => resources,
        })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// Width, height and colour components from a JPEG's start-of-frame marker (pdftoppm
/// writes RGB JPEGs even with `-gray`).
fn jpeg_frame(jpeg: &[u8]) -> (i64, i64, u8) {
    let mut i = 2;
    while i + 9 < jpeg.len() {
        let (marker, length) = (jpeg[i + 1], u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if (0xC0..=0xC2).contains(&marker) {
            let height = u16::from_be_bytes([jpeg[i + 5], jpeg[i + 6]]);
            let width = u16::from_be_bytes([jpeg[i + 7], jpeg[i + 8]]);
            return (i64::from(width), i64::from(height), jpeg[i + 9]);
        }
        i += 2 + usize::from(length);
    }
    panic!("no JPEG frame header");
}

/// Renders every page of `pdf` with pdftoppm (`-jpeg` or `-png`), returning the files.
pub(crate) fn render(pdf: &[u8], format: &str, dir: &Path) -> Vec<Vec<u8>> {
    let input = dir.join(format!("text-{format}.pdf"));
    std::fs::write(&input, pdf).unwrap();
    let prefix = dir.join(format!("page{format}"));
    let status = Command::new("pdftoppm")
        .args(["-r", "150", "-gray", format])
        .arg(&input)
        .arg(&prefix)
        .status()
        .expect("pdftoppm (poppler-utils) renders the scans: scripts/test.sh installs it");
    assert!(status.success());
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("page{format}")))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

pub(crate) const SCAN_PAGE_1: &[&str] = &[
    "Lighthouse Keeping Log",
    "The lamp was cleaned and the lens polished every morning.",
];
pub(crate) const SCAN_PAGE_2: &[&str] = &[
    "Winter Storms",
    "Cormorants nested on the western cliffs during the gale.",
];
const NOTE: &[&str] = &[
    "Greenhouse Notes",
    "The tomato seedlings need watering twice daily.",
];

/// The stack's own database, through its Data API server.
fn stack_db() -> DataApi {
    studio_local::stack::data_api_client(
        &env("AWS_ENDPOINT_URL_RDS_DATA"),
        &env("DATABASE_NAME"),
        &env("DATABASE_SECRET_ARN"),
    )
}

#[derive(Deserialize)]
struct Limit {
    page_limit: i32,
}

/// Sets this month's OCR page limit, returning the one it replaces.
async fn set_budget(db: &DataApi, limit: i32) -> i32 {
    let before: Option<Limit> = db
        .query_opt(
            "SELECT page_limit FROM ocr_page_budget WHERE month = date_trunc('month', now() AT TIME ZONE 'UTC')::date",
            Params::new(),
        )
        .await
        .unwrap();
    db.execute(
        "INSERT INTO ocr_page_budget (month, page_limit) VALUES (date_trunc('month', now() AT TIME ZONE 'UTC')::date, :limit)
         ON CONFLICT (month) DO UPDATE SET page_limit = EXCLUDED.page_limit",
        Params::new().bind("limit", limit),
    )
    .await
    .unwrap();
    before.map_or(1000, |b| b.page_limit)
}

async fn first_hit(user: &Client, repository: &str, query: &str) -> serde_json::Value {
    let (status, hits) = user
        .call(
            reqwest::Method::GET,
            &format!(
                "/repositories/{repository}/search?q={}",
                query.replace(' ', "+")
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{hits}");
    hits["data"][0].clone()
}

#[tokio::test]
async fn scans_and_images_are_read_by_ocr_until_the_monthly_budget_is_used_up() {
    let work = std::env::temp_dir().join(format!("ocr-e2e-{}", Uuid::new_v4().simple()));
    std::fs::create_dir(&work).unwrap();
    let scan = image_pdf(&render(
        &text_pdf(&[SCAN_PAGE_1, SCAN_PAGE_2]),
        "-jpeg",
        &work,
    ));
    let note = render(&text_pdf(&[NOTE]), "-png", &work).remove(0);
    std::fs::remove_dir_all(&work).unwrap();
    assert!(scan.len() < 400 * 1024, "the scan is {} bytes", scan.len());

    let staff = client("local-staff", "staff@example.com");
    let name = format!("Scans {}", Uuid::new_v4());
    let (status, repository) = staff
        .call(
            reqwest::Method::POST,
            "/repositories",
            Some(serde_json::json!({"name": name})),
        )
        .await;
    assert_eq!(status, 200, "{repository}");
    let repository = repository["data"]["id"].as_str().unwrap().to_owned();

    let scanned = staff.upload(&repository, "keeper-log.pdf", &scan).await;
    let image = staff.upload(&repository, "greenhouse.png", &note).await;
    for (item, pages) in [(&scanned, 2), (&image, 1)] {
        let done = staff.settle(item).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert!(done["chunkCount"].as_i64().unwrap() > 0);
        assert_eq!(done["chunkCount"], done["embeddedCount"]);
        assert_eq!(done["pageCount"], pages, "{done}");
    }
    let hit = first_hit(&staff, &repository, "cormorants nested western cliffs").await;
    assert_eq!(hit["itemId"].as_str(), Some(scanned.as_str()), "{hit}");
    // Small pages share a chunk: the hit's page range holds page 2.
    assert!(
        hit["pageStart"].as_i64() <= Some(2) && hit["pageEnd"] == 2,
        "{hit}"
    );
    let hit = first_hit(&staff, &repository, "tomato seedlings watering").await;
    assert_eq!(hit["itemId"].as_str(), Some(image.as_str()), "{hit}");
    assert_eq!(hit["pageStart"], 1, "{hit}");

    let db = stack_db();
    let limit = set_budget(&db, 0).await;
    let refused = staff.upload(&repository, "another-scan.pdf", &scan).await;
    let failed = staff.settle(&refused).await;
    set_budget(&db, limit).await;
    assert_eq!(failed["status"], "failed");
    let reason = failed["error"].as_str().unwrap();
    assert!(
        reason.starts_with("The monthly OCR budget of 0 pages is used up"),
        "{reason}"
    );
}
