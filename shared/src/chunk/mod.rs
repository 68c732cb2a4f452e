//! Token-aware chunking of extracted pages for embedding and search: text is cut at
//! headings, paragraphs, lines, sentences and words (in that preference), with overlap
//! inside paragraphs; each chunk keeps its page range, its heading path, its token count
//! and a SHA-256 content hash (when stored). The splitter ([`split`]) runs in time linear in the text,
//! whatever the text: no input makes it scan a stretch of text more than a few times.
//!
//! Token counts are the conservative estimate of [`tokens`] (see there for why it is
//! safe for the embedding model's limit, and why no tokenizer is shipped). Defaults:
//! 512 estimated tokens per chunk (about 380 cl100k tokens, 1,500 characters of English),
//! 64 of overlap.
//!
//! Pages are joined with a blank line, so a page break is also a paragraph break the
//! splitter prefers; a chunk may still span pages, and then says so with
//! `page_start < page_end`.

mod headings;
#[cfg(test)]
mod linear_tests;
mod split;
pub mod tokens;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::extract::{Deadline, Extracted, OutOfTime, Page};
use headings::Headings;
use split::Splitter;
pub use tokens::{MAX_CHUNK_TOKENS, MODEL_TOKEN_LIMIT, estimate_tokens};

/// How large chunks are, in estimated tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkConfig {
    pub max_tokens: usize,
    pub overlap_tokens: usize,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        Self {
            max_tokens: 512,
            overlap_tokens: 64,
        }
    }
}

/// A chunk configuration that cannot work, or a document that took too long.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[error(
        "chunks of {max} tokens could pass the embedding model's limit of {MODEL_TOKEN_LIMIT}; the most allowed is {MAX_CHUNK_TOKENS}"
    )]
    TooLarge { max: usize },
    #[error("chunks must hold at least 16 tokens, not {max}")]
    TooSmall { max: usize },
    #[error("the overlap ({overlap} tokens) must be smaller than the chunk ({max} tokens)")]
    Overlap { overlap: usize, max: usize },
    #[error(transparent)]
    OutOfTime(#[from] OutOfTime),
}

/// Whether the text marks structure with Markdown headings the chunker should follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    Markdown,
    Plain,
}

/// A piece of a document, ready to embed and to cite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Position in the document, from 0.
    pub index: u32,
    pub text: String,
    pub page_start: u32,
    pub page_end: u32,
    /// Headings the chunk sits under, outermost first (e.g. `["Guide", "Install"]`).
    pub heading_path: Vec<String>,
    pub token_count: u32,
}

impl Chunk {
    /// SHA-256 of the text, lower-case hex: the same text always hashes the same. Computed
    /// when the chunk is stored, not by the splitter, whose callers may not need it.
    pub fn content_hash(&self) -> String {
        hex::encode(Sha256::digest(self.text.as_bytes()))
    }
}

/// A heading of a document, for showing its structure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutlineEntry {
    pub level: u8,
    pub title: String,
    pub page: u32,
}

/// The headings the chunker follows in `doc`, in order (none for formats without them).
pub fn outline(doc: &Extracted) -> Vec<OutlineEntry> {
    if !doc.kind.has_markdown_headings() {
        return Vec::new();
    }
    let mut entries = Vec::new();
    for page in &doc.pages {
        let headings = Headings::scan(&page.text, &mut 0);
        entries.extend(headings.iter().map(|h| OutlineEntry {
            level: h.level,
            title: h.text.clone(),
            page: page.number,
        }));
    }
    entries
}

/// Chunks an extracted document, following headings when its format has them.
pub fn chunk_document(doc: &Extracted, config: &ChunkConfig) -> Result<Vec<Chunk>, ChunkError> {
    chunk_document_by(doc, config, &Deadline::none())
}

/// [`chunk_document`], stopping with [`ChunkError::OutOfTime`] once `deadline` passes.
pub fn chunk_document_by(
    doc: &Extracted,
    config: &ChunkConfig,
    deadline: &Deadline,
) -> Result<Vec<Chunk>, ChunkError> {
    let structure = if doc.kind.has_markdown_headings() {
        Structure::Markdown
    } else {
        Structure::Plain
    };
    Ok(chunk_pages_by(&doc.pages, structure, config, deadline)?.0)
}

/// Chunks pages of text (from extraction or OCR).
pub fn chunk_pages(
    pages: &[Page],
    structure: Structure,
    config: &ChunkConfig,
) -> Result<Vec<Chunk>, ChunkError> {
    Ok(chunk_pages_by(pages, structure, config, &Deadline::none())?.0)
}

/// [`chunk_pages`] within `deadline`; also returns the bytes the scans looked at.
fn chunk_pages_by(
    pages: &[Page],
    structure: Structure,
    config: &ChunkConfig,
    deadline: &Deadline,
) -> Result<(Vec<Chunk>, u64), ChunkError> {
    check(config)?;
    let (text, page_starts) = join(pages);
    let mut work = 0;
    let headings = match structure {
        Structure::Markdown => Headings::scan(&text, &mut work),
        Structure::Plain => Headings::default(),
    };
    let mut splitter = Splitter::new(&text, &headings, config.max_tokens, config.overlap_tokens);
    let pieces = splitter.pieces(deadline)?;
    work += splitter.work;
    let page_at = |offset: usize| {
        let index = page_starts.partition_point(|(start, _)| *start <= offset);
        page_starts
            .get(index.saturating_sub(1))
            .map_or(1, |(_, number)| *number)
    };
    let mut chunks = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let raw = &text[piece.start..piece.end];
        let trimmed = raw.trim_start();
        let offset = piece.start + (raw.len() - trimmed.len());
        let piece = trimmed.trim_end();
        if piece.is_empty() {
            continue;
        }
        work += piece.len() as u64;
        chunks.push(Chunk {
            index: u32::try_from(chunks.len()).unwrap_or(u32::MAX),
            text: piece.to_owned(),
            page_start: page_at(offset),
            page_end: page_at(offset + piece.len().saturating_sub(1)),
            heading_path: headings.path_at(path_offset(offset, piece, &headings)),
            token_count: u32::try_from(estimate_tokens(piece)).unwrap_or(u32::MAX),
        });
    }
    Ok((chunks, work))
}

fn check(config: &ChunkConfig) -> Result<(), ChunkError> {
    let (max, overlap) = (config.max_tokens, config.overlap_tokens);
    if max > MAX_CHUNK_TOKENS {
        return Err(ChunkError::TooLarge { max });
    }
    if max < 16 {
        return Err(ChunkError::TooSmall { max });
    }
    if overlap >= max {
        return Err(ChunkError::Overlap { overlap, max });
    }
    Ok(())
}

/// The non-blank pages as one text, a blank line between pages, with where each starts.
/// A document of one page is not copied.
fn join(pages: &[Page]) -> (Cow<'_, str>, Vec<(usize, u32)>) {
    let mut filled = pages.iter().filter(|p| !p.text.trim().is_empty());
    match (filled.next(), filled.next()) {
        (None, _) => return (Cow::Borrowed(""), Vec::new()),
        (Some(only), None) => return (Cow::Borrowed(&only.text), vec![(0, only.number)]),
        _ => {}
    }
    let mut text = String::new();
    let mut page_starts = Vec::new();
    for page in pages.iter().filter(|p| !p.text.trim().is_empty()) {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        page_starts.push((text.len(), page.number));
        text.push_str(&page.text);
    }
    (Cow::Owned(text), page_starts)
}

/// Where a chunk's heading path is read: its start, or a heading in its first third
/// (so a chunk that opens with a little overlap from the previous section is filed under
/// the section it is mostly about).
fn path_offset(offset: usize, piece: &str, headings: &Headings) -> usize {
    let early = offset + piece.len() / 3;
    match headings.first_from(offset) {
        Some(heading) if heading.start <= early => heading.start,
        _ => offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(number: u32, text: &str) -> Page {
        Page {
            number,
            text: text.to_owned(),
        }
    }

    fn prose(topic: &str, sentences: usize) -> String {
        (0..sentences)
            .map(|i| format!("Sentence {i} about {topic} is short."))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn small(max_tokens: usize, overlap_tokens: usize) -> ChunkConfig {
        ChunkConfig {
            max_tokens,
            overlap_tokens,
        }
    }

    #[test]
    fn chunks_never_exceed_the_token_limit_whatever_the_text() {
        let zalgo = format!("Z{}", "\u{0301}".repeat(5_000));
        let text = [
            prose("limits", 200),
            "数据库连接池配置说明。".repeat(300),
            "x".repeat(10_000),
            zalgo,
        ]
        .join("\n\n");
        for structure in [Structure::Markdown, Structure::Plain] {
            let chunks = chunk_pages(&[page(1, &text)], structure, &small(64, 8)).unwrap();
            assert!(chunks.len() > 50);
            for chunk in &chunks {
                assert!(estimate_tokens(&chunk.text) <= 64, "{:?}", chunk.text);
                assert!(chunk.text.len() <= 4 * 64);
                assert_eq!(chunk.token_count as usize, estimate_tokens(&chunk.text));
            }
        }
    }

    #[test]
    fn consecutive_chunks_share_an_overlap() {
        let chunks = chunk_pages(
            &[page(1, &prose("overlap", 60))],
            Structure::Plain,
            &small(64, 16),
        )
        .unwrap();
        assert!(chunks.len() > 3);
        for pair in chunks.windows(2) {
            let opening: String = pair[1].text.chars().take(20).collect();
            assert!(
                pair[0].text.contains(&opening),
                "{:?} does not overlap {:?}",
                pair[1].text,
                pair[0].text
            );
        }
    }

    #[test]
    fn chunks_carry_the_heading_path_they_sit_under() {
        let text = format!(
            "# Guide\n\n{}\n\n## Install\n\n{}\n\n```\n# not a heading\n```\n\n## Use\n\n{}",
            prose("intro", 8),
            prose("install", 30),
            prose("use", 30)
        );
        let chunks = chunk_pages(&[page(1, &text)], Structure::Markdown, &small(96, 8)).unwrap();
        let path_of = |needle: &str| {
            chunks
                .iter()
                .filter(|c| c.text.contains(needle))
                .map(|c| c.heading_path.clone())
                .collect::<Vec<_>>()
        };
        assert!(path_of("about intro").iter().all(|p| p == &["Guide"]));
        assert!(
            path_of("29 about install")
                .iter()
                .all(|p| p == &["Guide", "Install"])
        );
        assert!(
            path_of("29 about use")
                .iter()
                .all(|p| p == &["Guide", "Use"])
        );
        assert!(
            chunks
                .iter()
                .all(|c| !c.heading_path.contains(&"not a heading".to_owned()))
        );
    }

    #[test]
    fn page_ranges_follow_the_text_across_page_boundaries() {
        let pages: Vec<Page> = (1..=5)
            .map(|n| page(n, &prose(&format!("p{n}"), 3)))
            .collect();
        let chunks = chunk_pages(&pages, Structure::Plain, &small(100, 10)).unwrap();
        assert!(
            chunks.iter().any(|c| c.page_start < c.page_end),
            "no chunk spans pages"
        );
        for chunk in &chunks {
            for n in 1..=5 {
                if chunk.text.contains(&format!("about p{n} ")) {
                    assert!((chunk.page_start..=chunk.page_end).contains(&n));
                }
            }
            assert!(chunk.page_start <= chunk.page_end);
        }
        assert_eq!(chunks[0].page_start, 1);
        assert_eq!(chunks.last().unwrap().page_end, 5);
    }

    #[test]
    fn the_same_text_always_gets_the_same_hashes() {
        let pages = [page(1, &prose("hash", 80))];
        let first = chunk_pages(&pages, Structure::Plain, &ChunkConfig::default()).unwrap();
        let second = chunk_pages(&pages, Structure::Plain, &ChunkConfig::default()).unwrap();
        assert_eq!(first, second);
        let hello = chunk_pages(
            &[page(3, "hello")],
            Structure::Plain,
            &ChunkConfig::default(),
        )
        .unwrap();
        assert_eq!(
            hello[0].content_hash(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(
            (hello[0].page_start, hello[0].page_end, hello[0].index),
            (3, 3, 0)
        );
    }

    #[test]
    fn blank_pages_make_no_chunks_and_bad_configurations_are_refused() {
        let blank = [page(1, "  \n "), page(2, "")];
        assert!(
            chunk_pages(&blank, Structure::Plain, &ChunkConfig::default())
                .unwrap()
                .is_empty()
        );
        let pages = [page(1, "text")];
        let refuse =
            |config: ChunkConfig| chunk_pages(&pages, Structure::Plain, &config).unwrap_err();
        assert!(matches!(
            refuse(small(4096, 0)),
            ChunkError::TooLarge { max: 4096 }
        ));
        assert!(matches!(
            refuse(small(8, 0)),
            ChunkError::TooSmall { max: 8 }
        ));
        assert!(matches!(refuse(small(64, 64)), ChunkError::Overlap { .. }));
    }
}
