//! `studio chunk FILE [--json]`: how a file is extracted and chunked, with the same code
//! and limits the file-processor runs: the type found, the pages, the headings, the chunks
//! with their token counts, and how long each stage took. No stack is needed.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use shared::chunk::{self, ChunkConfig};
use shared::extract::{self, Deadline, Limits};
use shared::ingest::pipeline::WORK_BUDGET;

use crate::cli::args::Chunk;

/// Characters of each chunk shown in the table.
const PREVIEW_CHARS: usize = 72;

/// Extracts and chunks `args.file`, printing the report (a table, or JSON with `--json`).
#[allow(clippy::print_stdout)]
pub fn run(args: &Chunk) -> anyhow::Result<()> {
    let json_output = args.json;
    let config = ChunkConfig {
        max_tokens: args.max_tokens,
        overlap_tokens: args.overlap,
    };
    let path = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {path}"))?;
    let name = args
        .file
        .file_name()
        .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());

    let deadline = Deadline::after(WORK_BUDGET);
    let limits = Limits {
        deadline,
        ..Limits::default()
    };
    let started = Instant::now();
    let doc = extract::extract_document(&bytes, &name, None, &limits)
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let extracted = started.elapsed();
    let chunked_at = Instant::now();
    let chunks = if doc.needs_ocr {
        Vec::new()
    } else {
        chunk::chunk_document_by(&doc, &config, &deadline)
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?
    };
    let chunking = chunked_at.elapsed();
    let outline = chunk::outline(&doc);
    let mb_per_s = |d: Duration| bytes.len() as f64 / 1e6 / d.as_secs_f64().max(1e-9);

    if json_output {
        let pages: Vec<_> = doc
            .pages
            .iter()
            .map(|p| json!({"number": p.number, "chars": p.text.chars().count()}))
            .collect();
        let report = json!({
            "file": path, "bytes": bytes.len(), "kind": doc.kind.label(), "title": doc.title,
            "needsOcr": doc.needs_ocr, "pages": pages, "outline": outline,
            "config": config,
            "timings": {
                "extractMs": extracted.as_secs_f64() * 1e3,
                "chunkMs": chunking.as_secs_f64() * 1e3,
                "mbPerSecond": mb_per_s(extracted + chunking),
            },
            "chunks": chunks,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }

    println!(
        "{name}: {} ({} bytes), {} page(s), {} characters{}",
        doc.kind.label(),
        bytes.len(),
        doc.pages.len(),
        doc.char_count(),
        doc.title
            .as_deref()
            .map(|t| format!(", titled {t:?}"))
            .unwrap_or_default()
    );
    if doc.needs_ocr {
        println!("No text layer: the file-processor sends this file to OCR.");
        return Ok(());
    }
    if !outline.is_empty() {
        println!("\nHeadings:");
        for entry in &outline {
            let indent = "  ".repeat(usize::from(entry.level.saturating_sub(1)));
            println!("  {indent}{} (page {})", entry.title, entry.page);
        }
    }
    let tokens: Vec<u32> = chunks.iter().map(|c| c.token_count).collect();
    println!(
        "\n{} chunk(s) of at most {} estimated tokens with {} of overlap; tokens per chunk: min {}, median {}, max {}",
        chunks.len(),
        config.max_tokens,
        config.overlap_tokens,
        tokens.iter().min().unwrap_or(&0),
        median(&tokens),
        tokens.iter().max().unwrap_or(&0),
    );
    let rows: Vec<Vec<String>> = chunks
        .iter()
        .map(|c| {
            let pages = if c.page_start == c.page_end {
                c.page_start.to_string()
            } else {
                format!("{}-{}", c.page_start, c.page_end)
            };
            vec![
                c.index.to_string(),
                pages,
                c.token_count.to_string(),
                c.heading_path.join(" > "),
                preview(&c.text),
            ]
        })
        .collect();
    crate::cli::print_table(&["#", "pages", "tokens", "headings", "text"], &rows);
    println!(
        "\nextract {:.1} ms, chunk {:.1} ms: {:.1} MB/s",
        extracted.as_secs_f64() * 1e3,
        chunking.as_secs_f64() * 1e3,
        mb_per_s(extracted + chunking)
    );
    Ok(())
}

fn median(values: &[u32]) -> u32 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// The start of a chunk on one line: whitespace collapsed, cut at a character boundary.
fn preview(text: &str) -> String {
    let flat: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(PREVIEW_CHARS + 1)
        .collect();
    if flat.chars().count() > PREVIEW_CHARS {
        format!("{}…", flat.chars().take(PREVIEW_CHARS).collect::<String>())
    } else {
        flat
    }
}
