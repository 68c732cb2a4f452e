//! The pipeline's two stages behind ports: extraction (bytes to text per page, judged by
//! content) and chunking, with the adapters every function uses.

use super::NewChunk;
use crate::chunk::{ChunkConfig, chunk_document_by};
use crate::extract::{Deadline, Extracted, Limits, extract_document};

/// Why a document cannot be read, in words for the person who uploaded it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// Turns a file's bytes into text per page, judging its type by content.
pub trait TextExtractor: Send + Sync {
    fn extract(
        &self,
        bytes: &[u8],
        file_name: &str,
        content_type: Option<&str>,
        deadline: &Deadline,
    ) -> Result<Extracted, Unreadable>;
}

/// Cuts an extracted document into chunks for embedding and citation.
pub trait Chunker: Send + Sync {
    fn chunk(&self, document: &Extracted, deadline: &Deadline)
    -> Result<Vec<NewChunk>, Unreadable>;
}

/// The extractor of [`crate::extract`]: type sniffed from the bytes, every limit enforced.
#[derive(Debug, Clone, Default)]
pub struct DocumentExtractor {
    pub limits: Limits,
}

impl TextExtractor for DocumentExtractor {
    fn extract(
        &self,
        bytes: &[u8],
        file_name: &str,
        content_type: Option<&str>,
        deadline: &Deadline,
    ) -> Result<Extracted, Unreadable> {
        let limits = Limits {
            deadline: *deadline,
            ..self.limits.clone()
        };
        extract_document(bytes, file_name, content_type, &limits)
            .map_err(|e| Unreadable(sentence(&e.to_string())))
    }
}

/// The chunker of [`crate::chunk`]: token-aware, following headings, with overlap.
#[derive(Debug, Clone, Default)]
pub struct TokenChunker {
    pub config: ChunkConfig,
}

impl Chunker for TokenChunker {
    fn chunk(
        &self,
        document: &Extracted,
        deadline: &Deadline,
    ) -> Result<Vec<NewChunk>, Unreadable> {
        let chunks = chunk_document_by(document, &self.config, deadline)
            .map_err(|e| Unreadable(sentence(&e.to_string())))?;
        Ok(chunks
            .into_iter()
            .map(|c| NewChunk {
                content_hash: c.content_hash(),
                content: c.text,
                page_start: i32::try_from(c.page_start).ok(),
                page_end: i32::try_from(c.page_end).ok(),
                heading_path: c.heading_path,
                token_count: i32::try_from(c.token_count).unwrap_or(i32::MAX),
            })
            .collect())
    }
}

/// An error message as a sentence: capitalised, ending with a full stop.
pub(super) fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
