//! Ingestion benchmark (not a test; run by `scripts/bench_ingest.sh`): a generated corpus of
//! mixed formats through functions of its own on the local stack (release binaries), from
//! the first upload to the last item completed. Writes bench-results/ingest.{json,md}: MB/s,
//! pages/s, chunks/s, upload-to-searchable latency of a 1 MB text, Data API calls per
//! 1,000 chunks (counted by the Data API server), peak memory of each function, and the
//! extract + chunk ratio against Python from bench-results/extract_chunk.json (same run).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use studio_tests::build::{self, docx, para};
use studio_tests::private_stack::PrivateStack;

const WORDS: &[&str] = &[
    "harbour", "ledger", "survey", "river", "copper", "lantern", "meadow", "archive", "ferry",
    "granite", "orchard", "council", "winter", "signal", "timber", "quarry", "bridge", "market",
    "the", "of", "and", "to", "in", "was", "with", "for", "after", "before", "under", "over",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (self.0 >> 33) as usize
    }
    fn sentence(&mut self) -> String {
        let n = 8 + self.next() % 14;
        let words: Vec<&str> = (0..n).map(|_| WORDS[self.next() % WORDS.len()]).collect();
        let mut s = words.join(" ");
        s[..1].make_ascii_uppercase();
        s + "."
    }
    fn paragraph(&mut self) -> String {
        (0..3 + self.next() % 6)
            .map(|_| self.sentence())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The generated part of the corpus: HTML, CSV, DOCX and XLSX beside the PDFs and texts.
fn generated() -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng(42);
    let mut files = Vec::new();
    for i in 0..60 {
        let body: String = (0..300)
            .map(|_| format!("<p>{}</p>", rng.paragraph()))
            .collect();
        let html = format!(
            "<html><body><nav>Home | About</nav><main><h1>Report {i}</h1>{body}</main></body></html>"
        );
        files.push((format!("report{i:02}.html"), html.into_bytes()));
    }
    for i in 0..50 {
        let rows: String = (0..2500)
            .map(|r| format!("{r},{},\"{}\"\n", rng.next() % 1000, rng.sentence()))
            .collect();
        files.push((
            format!("table{i:02}.csv"),
            format!("id,amount,note\n{rows}").into_bytes(),
        ));
    }
    for i in 0..30 {
        let body: String = (0..150).map(|_| para(None, &rng.paragraph())).collect();
        files.push((
            format!("memo{i:02}.docx"),
            docx(&format!("{}{body}", para(Some("Heading1"), "Memo"))),
        ));
    }
    for i in 0..20 {
        let cells: Vec<[String; 2]> = (0..400).map(|r| [r.to_string(), rng.sentence()]).collect();
        let rows: Vec<Vec<&str>> = cells
            .iter()
            .map(|c| vec![c[0].as_str(), c[1].as_str()])
            .collect();
        let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
        files.push((
            format!("stock{i:02}.xlsx"),
            build::xlsx(&[("Stock", &rows)]),
        ));
    }
    files
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Waits (reading PostgreSQL directly, so the Data API count is the pipeline's alone) until
/// `n` items have settled; returns (completed, failed, pages, chunks).
async fn settled(db: &tokio_postgres::Client, n: i64) -> (i64, i64, i64, i64) {
    loop {
        let row = db
            .query_one(
                "SELECT count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed'),
                        coalesce(sum(page_count) FILTER (WHERE status = 'completed'), 0)::bigint,
                        coalesce(sum(chunk_count) FILTER (WHERE status = 'completed'), 0)::bigint
                 FROM repository_items",
                &[],
            )
            .await
            .unwrap();
        let done: (i64, i64, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
        if done.0 + done.1 >= n {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() {
    let corpus = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: bench-ingest CORPUS_DIR"),
    );
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files.extend(generated());
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    let count = files.len();
    eprintln!("corpus: {count} files, {:.1} MB", bytes as f64 / 1e6);

    let stack = PrivateStack::start(300).await;
    let staff = Arc::new(stack.staff().await);
    let repository = staff.repository("Benchmark").await;
    let pg = stack.t.postgres().await;
    let calls_before = stack.t.server.requests();
    let started = Instant::now();
    let mut uploads = tokio::task::JoinSet::new();
    let files = Arc::new(files);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..8 {
        let (staff, repository, files, next) = (
            Arc::clone(&staff),
            repository.clone(),
            Arc::clone(&files),
            Arc::clone(&next),
        );
        uploads.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((name, bytes)) = files.get(i) else {
                    return;
                };
                staff.upload(&repository, name, bytes).await;
            }
        });
    }
    uploads.join_all().await;
    let (completed, failed, pages, chunks) = settled(&pg, count as i64).await;
    let seconds = started.elapsed().as_secs_f64();
    let calls = stack.t.server.requests() - calls_before;
    eprintln!(
        "{completed} completed, {failed} failed, {pages} pages, {chunks} chunks in {seconds:.1} s, {calls} Data API calls"
    );

    // Upload-to-searchable of a 1 MB text: create, PUT, processed, embedded, found.
    let mut latencies = Vec::new();
    for run in 0..3 {
        let mut rng = Rng(7 + run);
        let mut text = String::new();
        while text.len() < 1_000_000 {
            text.push_str(&rng.paragraph());
            text.push_str("\n\n");
        }
        let needle = format!("Zephyrine marker {run} quokka lighthouse.");
        text.push_str(&needle);
        let t0 = Instant::now();
        let item = staff
            .upload(&repository, &format!("latency{run}.txt"), text.as_bytes())
            .await;
        let id: uuid::Uuid = item.parse().unwrap();
        loop {
            let row = pg
                .query_one("SELECT status FROM repository_items WHERE id = $1", &[&id])
                .await
                .unwrap();
            let status: String = row.get(0);
            assert_ne!(status, "failed");
            if status == "completed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Keyword mode: in hybrid mode a keyword-only first rank ties with the lexical
        // embedder's first rank under reciprocal rank fusion (both 1/61) in this corpus.
        let (_, hits) = staff.search_in_mode(&repository, &needle, "keyword").await;
        assert_eq!(hits[0]["itemId"].as_str(), Some(item.as_str()), "{hits}");
        latencies.push(t0.elapsed().as_secs_f64());
    }
    latencies.sort_by(f64::total_cmp);
    let latency = latencies[latencies.len() / 2];

    let memory: Vec<(String, Option<f64>)> = ["api", "file-processor", "embedding-generator"]
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                stack.functions.pid(name).and_then(peak_rss_mib),
            )
        })
        .collect();
    let results_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-results");
    let extract: Value = std::fs::read_to_string(results_dir.join("extract_chunk.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let ratio = |corpus: &str| {
        extract["results"]
            .as_array()
            .and_then(|r| r.iter().find(|x| x["corpus"] == corpus))
            .and_then(|x| x["ratio"].as_f64())
    };
    let mb = bytes as f64 / 1e6;
    let per_thousand = calls as f64 * 1000.0 / chunks.max(1) as f64;
    let result = json!({
        "benchmark": "ingest",
        "profile": "release",
        "documents": count, "completed": completed, "failed": failed,
        "megabytes": mb, "pages": pages, "chunks": chunks, "seconds": seconds,
        "mb_per_s": mb / seconds, "pages_per_s": pages as f64 / seconds, "chunks_per_s": chunks as f64 / seconds,
        "data_api_calls": calls, "data_api_calls_per_1000_chunks": per_thousand,
        "upload_to_searchable_1mb_text_seconds": latency, "latency_runs": latencies,
        "peak_rss_mib": memory.iter().map(|(n, m)| (n.clone(), json!(m))).collect::<serde_json::Map<_, _>>(),
        "extract_chunk_vs_python": {"pdf": ratio("pdf"), "text": ratio("text"), "all": ratio("all")},
    });
    std::fs::create_dir_all(&results_dir).unwrap();
    std::fs::write(
        results_dir.join("ingest.json"),
        serde_json::to_string_pretty(&result).unwrap(),
    )
    .unwrap();
    let fmt = |r: Option<f64>| r.map_or("n/a".to_owned(), |r| format!("{r:.1}x"));
    let memory_md: String = memory
        .iter()
        .map(|(n, m)| {
            format!(
                "| peak memory (VmHWM) of {n} | {} |\n",
                m.map_or("n/a".to_owned(), |m| format!("{m:.0} MiB"))
            )
        })
        .collect();
    let md = format!(
        "# Ingestion benchmark (release, local stack)\n\n\
         Corpus: {count} documents, {mb:.1} MB (PDFs of 100 and 10 pages, text, Markdown, HTML, CSV, DOCX, XLSX); \
         {completed} completed, {failed} failed.\n\n\
         | figure | value |\n|---|---|\n\
         | end to end (first upload -> all completed) | {seconds:.1} s |\n\
         | throughput | {:.2} MB/s, {:.0} pages/s, {:.0} chunks/s |\n\
         | chunks | {chunks} |\n\
         | Data API calls | {calls} ({per_thousand:.1} per 1,000 chunks) |\n\
         | 1 MB text upload -> searchable (median of 3) | {latency:.2} s |\n\
         {memory_md}\
         | extract + chunk vs Python (pypdf + RecursiveCharacterTextSplitter), same run | PDF {}, text {}, all {} |\n",
        mb / seconds,
        pages as f64 / seconds,
        chunks as f64 / seconds,
        fmt(ratio("pdf")),
        fmt(ratio("text")),
        fmt(ratio("all")),
    );
    std::fs::write(results_dir.join("ingest.md"), &md).unwrap();
    println!("{md}");
    stack.stop().await;
}
