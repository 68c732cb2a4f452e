//! Extract + chunk throughput of `shared::extract` and `shared::chunk` on a generated
//! corpus, against the Python reference path (pypdf + LangChain's
//! RecursiveCharacterTextSplitter) on the same files in the same run. Writes
//! `bench-results/extract_chunk.{json,md}`.
//!
//! Run with `scripts/bench_extract.sh` (it builds the corpus and the Python venv and sets
//! `EXTRACT_BENCH_CORPUS`, `EXTRACT_BENCH_PYTHON`, `EXTRACT_BENCH_REFERENCE`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::chunk::{ChunkConfig, chunk_document};
use shared::extract::{Limits, extract_document};

/// Passes over the corpus on each side; the fastest counts, as the least disturbed by
/// other work on the machine.
const RUNS: usize = 5;

#[derive(Default, Clone, Copy)]
struct Totals {
    files: usize,
    bytes: usize,
    pages: usize,
    chunks: usize,
    extract: Duration,
    chunk: Duration,
    /// SHA-256 of every chunk: the pipeline's next step (when it stores them), timed apart
    /// because the Python path has no counterpart.
    hash: Duration,
}

impl Totals {
    fn seconds(&self) -> f64 {
        (self.extract + self.chunk).as_secs_f64()
    }

    fn json(&self) -> Value {
        let s = self.seconds();
        json!({
            "files": self.files, "bytes": self.bytes, "pages": self.pages, "chunks": self.chunks,
            "seconds": s, "extract_seconds": self.extract.as_secs_f64(),
            "chunk_seconds": self.chunk.as_secs_f64(),
            "hash_seconds": self.hash.as_secs_f64(),
            "mb_per_s": self.bytes as f64 / 1e6 / s, "pages_per_s": self.pages as f64 / s,
            "chunks_per_s": self.chunks as f64 / s,
        })
    }
}

fn kind_of(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("pdf") => "pdf",
        _ => "text",
    }
}

/// One pass over the corpus: totals per kind.
fn run(files: &[(PathBuf, Vec<u8>)]) -> BTreeMap<&'static str, Totals> {
    let limits = Limits::default();
    let config = ChunkConfig::default();
    let mut totals: BTreeMap<&'static str, Totals> = BTreeMap::new();
    for (path, bytes) in files {
        let name = path.file_name().unwrap().to_string_lossy();
        let started = Instant::now();
        let doc = extract_document(bytes, &name, None, &limits).unwrap();
        let extracted = Instant::now();
        let chunks = chunk_document(&doc, &config).unwrap();
        let chunked = Instant::now();
        let hashes: usize = chunks.iter().map(|c| c.content_hash().len()).sum();
        assert_eq!(hashes, 64 * chunks.len());
        let entry = totals.entry(kind_of(path)).or_default();
        entry.hash += chunked.elapsed();
        entry.chunk += chunked - extracted;
        entry.extract += extracted - started;
        entry.files += 1;
        entry.bytes += bytes.len();
        entry.pages += doc.pages.len();
        entry.chunks += chunks.len();
    }
    totals
}

fn python_reference(corpus: &Path) -> Option<Value> {
    let python = std::env::var("EXTRACT_BENCH_PYTHON").ok()?;
    let script = std::env::var("EXTRACT_BENCH_REFERENCE").ok()?;
    let output = Command::new(python)
        .arg(script)
        .arg("reference")
        .arg(corpus)
        .arg(RUNS.to_string())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

fn main() {
    let corpus =
        PathBuf::from(std::env::var("EXTRACT_BENCH_CORPUS").unwrap_or_else(|_| {
            panic!("set EXTRACT_BENCH_CORPUS (scripts/bench_extract.sh does it)")
        }));
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    files.sort();
    run(&files);
    let mut passes: Vec<BTreeMap<&'static str, Totals>> = (0..RUNS).map(|_| run(&files)).collect();
    passes.sort_by(|a, b| {
        let total = |p: &BTreeMap<_, Totals>| p.values().map(Totals::seconds).sum::<f64>();
        total(a).total_cmp(&total(b))
    });
    let rust = passes.swap_remove(0);
    let python = python_reference(&corpus);

    let mut all = Totals::default();
    for t in rust.values() {
        all.files += t.files;
        all.bytes += t.bytes;
        all.pages += t.pages;
        all.chunks += t.chunks;
        all.extract += t.extract;
        all.chunk += t.chunk;
        all.hash += t.hash;
    }
    let mut rows: Vec<(&str, Totals)> = rust.iter().map(|(k, t)| (*k, *t)).collect();
    rows.push(("all", all));
    let python_seconds = |kind: &str| -> Option<f64> {
        let p = python.as_ref()?;
        if kind == "all" {
            p["seconds"].as_f64()
        } else {
            p["kinds"][kind]["seconds"].as_f64()
        }
    };
    let mut table = String::from(
        "| corpus | files | MB | pages | Rust chunks | Rust MB/s | Rust pages/s | Rust chunks/s | Python MB/s | Python pages/s | Rust vs Python |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut json_rows = Vec::new();
    for (kind, t) in &rows {
        let py = python_seconds(kind);
        let mb = t.bytes as f64 / 1e6;
        let py_rate = |x: f64| py.map_or("n/a".to_owned(), |s| format!("{:.1}", x / s));
        let ratio = py.map(|s| s / t.seconds());
        table.push_str(&format!(
            "| {kind} | {} | {mb:.1} | {} | {} | {:.1} | {:.0} | {:.0} | {} | {} | {} |\n",
            t.files,
            t.pages,
            t.chunks,
            mb / t.seconds(),
            t.pages as f64 / t.seconds(),
            t.chunks as f64 / t.seconds(),
            py_rate(mb),
            py_rate(t.pages as f64),
            ratio.map_or("n/a".to_owned(), |r| format!("{r:.1}x")),
        ));
        json_rows
            .push(json!({"corpus": kind, "rust": t.json(), "python_seconds": py, "ratio": ratio}));
    }
    let report = json!({
        "benchmark": "extract_chunk",
        "runs": RUNS,
        "statistic": "fastest of the runs (total time), on each side",
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "chunk_config": ChunkConfig::default(),
        "results": json_rows,
        "python": python,
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-results");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("extract_chunk.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    table.push_str(&format!(
        "\nSHA-256 of every chunk (the pipeline hashes chunks when it stores them; not in the times above, as the Python path has no counterpart): {:.1} ms for the corpus.\n",
        all.hash.as_secs_f64() * 1e3
    ));
    std::fs::write(out.join("extract_chunk.md"), &table).unwrap();
    println!("{table}");
}
