//! Extraction and chunking as a user sees them: what goes in on page N comes back on
//! page N, hostile files end in a readable error, and chunks are ready to embed.
//! Every input is built here or read from `tests/fixtures/` (see its `generate.py`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod build;
mod formats;
mod hostile;
mod pipeline;

use std::sync::mpsc;
use std::time::Duration;

use shared::extract::{ExtractError, Extracted, Limits, extract_document};

/// Extracts with the default limits, as the file processor will.
pub fn extract(bytes: &[u8], name: &str) -> Result<Extracted, ExtractError> {
    extract_document(bytes, name, None, &Limits::default())
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Runs `work` on a thread with the 2 MiB stack tokio gives `spawn_blocking` work, and
/// fails if it has not finished after `seconds` (a hang guard, not a benchmark).
pub fn bounded<T: Send + 'static>(seconds: u64, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || done.send(work()))
        .unwrap();
    result
        .recv_timeout(Duration::from_secs(seconds))
        .unwrap_or_else(|_| panic!("did not finish within {seconds} s"))
}

/// The page texts, numbered, for assertions.
pub fn pages(extracted: &Extracted) -> Vec<(u32, &str)> {
    extracted
        .pages
        .iter()
        .map(|p| (p.number, p.text.as_str()))
        .collect()
}

/// Asserts `needle` is on page `number` and on no other page.
pub fn assert_only_on_page(extracted: &Extracted, needle: &str, number: u32) {
    let found: Vec<u32> = extracted
        .pages
        .iter()
        .filter(|p| p.text.contains(needle))
        .map(|p| p.number)
        .collect();
    assert_eq!(found, [number], "{needle:?} in {:#?}", pages(extracted));
}
