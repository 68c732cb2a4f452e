//! Extraction then chunking, as the file processor runs them.

use shared::chunk::{ChunkConfig, chunk_document, estimate_tokens};

use crate::build::{self, docx, page_break, para};
use crate::extract;

fn sentences(topic: &str, count: usize) -> String {
    (0..count)
        .map(|i| format!("The {topic} note number {i} explains one more detail."))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn chunks_of_a_word_document_carry_their_heading_path_and_page() {
    let body = [
        para(Some("Heading1"), "Guide"),
        para(None, &sentences("intro", 20)),
        page_break(),
        para(Some("Heading2"), "Install"),
        para(None, &sentences("install", 40)),
        para(Some("Heading2"), "Use"),
        para(None, &sentences("usage", 40)),
    ]
    .concat();
    let doc = extract(&docx(&body), "guide.docx").unwrap();
    let config = ChunkConfig {
        max_tokens: 128,
        overlap_tokens: 16,
    };
    let chunks = chunk_document(&doc, &config).unwrap();
    assert!(chunks.len() > 6);
    for chunk in &chunks {
        assert!(estimate_tokens(&chunk.text) <= 128);
        if chunk.text.contains("install note") && !chunk.text.contains("intro note") {
            assert_eq!(chunk.heading_path, ["Guide", "Install"]);
            assert_eq!((chunk.page_start, chunk.page_end), (2, 2));
        }
        if chunk.text.contains("usage note") && !chunk.text.contains("install note") {
            assert_eq!(chunk.heading_path, ["Guide", "Use"]);
        }
        if chunk.text.contains("intro note") && !chunk.text.contains("Install") {
            assert_eq!(chunk.heading_path, ["Guide"]);
            assert_eq!((chunk.page_start, chunk.page_end), (1, 1));
        }
    }
}

#[test]
fn chunks_of_a_pdf_name_the_pages_their_text_comes_from() {
    let pages: Vec<String> = (1..=4)
        .map(|n| sentences(&format!("page-{n}"), 12))
        .collect();
    let refs: Vec<&str> = pages.iter().map(String::as_str).collect();
    let doc = extract(&build::pdf(&refs), "pages.pdf").unwrap();
    let chunks = chunk_document(
        &doc,
        &ChunkConfig {
            max_tokens: 100,
            overlap_tokens: 10,
        },
    )
    .unwrap();
    for chunk in &chunks {
        for n in 1..=4u32 {
            if chunk.text.contains(&format!("page-{n} note")) {
                assert!(
                    (chunk.page_start..=chunk.page_end).contains(&n),
                    "chunk {} says pages {}-{} but holds page {n}",
                    chunk.index,
                    chunk.page_start,
                    chunk.page_end
                );
            }
        }
        assert!(chunk.heading_path.is_empty());
    }
    assert_eq!(chunks.first().map(|c| c.page_start), Some(1));
    assert_eq!(chunks.last().map(|c| c.page_end), Some(4));
}
