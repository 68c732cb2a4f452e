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
use studio_tests::cost::{Cost, LogMarks, Requests};
use studio_tests::private_stack::{PrivateStack, template_with_visibility};

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
        let body: String = (0..540)
            .map(|_| format!("<p>{}</p>", rng.paragraph()))
            .collect();
        let html = format!(
            "<html><body><nav>Home | About</nav><main><h1>Report {i}</h1>{body}</main></body></html>"
        );
        files.push((format!("report{i:02}.html"), html.into_bytes()));
    }
    for i in 0..50 {
        let rows: String = (0..4500)
            .map(|r| format!("{r},{},\"{}\"\n", rng.next() % 1000, rng.sentence()))
            .collect();
        files.push((
            format!("table{i:02}.csv"),
            format!("id,amount,note\n{rows}").into_bytes(),
        ));
    }
    for i in 0..30 {
        let body: String = (0..270).map(|_| para(None, &rng.paragraph())).collect();
        files.push((
            format!("memo{i:02}.docx"),
            docx(&format!("{}{body}", para(Some("Heading1"), "Memo"))),
        ));
    }
    for i in 0..20 {
        let cells: Vec<[String; 2]> = (0..720).map(|r| [r.to_string(), rng.sentence()]).collect();
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

/// Runs `work(i, name, files)` for every file, 8 at a time; the results in any order.
async fn run_8<F, Fut, T>(files: &Arc<Vec<(String, Vec<u8>)>>, work: F) -> Vec<T>
where
    F: Fn(usize, String, Arc<Vec<(String, Vec<u8>)>>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = T> + Send,
    T: Send + 'static,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (files, next, work) = (Arc::clone(files), Arc::clone(&next), work.clone());
        tasks.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((name, _)) = files.get(i) else {
                    return done;
                };
                done.push(work(i, name.clone(), Arc::clone(&files)).await);
            }
        });
    }
    tasks.join_all().await.into_iter().flatten().collect()
}

/// Calls per statement shape in `after` that were not in `before`, most first.
fn tally_since(before: &[(String, u64)], after: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut since: Vec<(String, u64)> = after
        .iter()
        .map(|(shape, n)| {
            let was = before
                .iter()
                .find(|(s, _)| s == shape)
                .map_or(0, |(_, n)| *n);
            (shape.clone(), n - was)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    since.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    since
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

    let stack = PrivateStack::start(&template_with_visibility(300), &[]).await;
    let staff = Arc::new(stack.staff().await);
    let repository = staff.repository("Benchmark").await;
    let pg = stack.t.postgres().await;
    let files = Arc::new(files);
    // The items are created through the API first, 100 per request as `studio ingest` does
    // (their calls counted apart: sign-in and one insert-with-access-check per request),
    // then every file is uploaded at once and the pipeline timed.
    // The AWS cost of the work, counted from here: the functions' REPORT lines, the Data
    // API's metered requests, and the S3 and SQS calls through the IAM gateway.
    let marks = LogMarks::now(
        stack.state_dir(),
        &["api", "file-processor", "embedding-generator"],
    );
    let metered_before = stack.t.server.metered_requests();
    let gateway_before = gateway_calls(&stack).await;
    let api_before = stack.t.server.requests();
    let sizes: Vec<(String, usize)> = files.iter().map(|(n, b)| (n.clone(), b.len())).collect();
    let created = staff.create_files(&repository, &sizes).await;
    let api_calls = stack.t.server.requests() - api_before;
    let urls: Arc<Vec<String>> = Arc::new(
        created
            .iter()
            .map(|c| c["upload"]["url"].as_str().unwrap().to_owned())
            .collect(),
    );
    let calls_before = stack.t.server.requests();
    let tally_before = stack.t.server.requests_by_statement();
    let started = Instant::now();
    let http = reqwest::Client::new();
    run_8(
        &files,
        move |i: usize, _name: String, files: Arc<Vec<(String, Vec<u8>)>>| {
            let (http, urls) = (http.clone(), Arc::clone(&urls));
            async move {
                let put = http
                    .put(&urls[i])
                    .body(files[i].1.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(
                    put.status().is_success(),
                    "{}: {}",
                    files[i].0,
                    put.status()
                );
            }
        },
    )
    .await;
    let (completed, failed, pages, chunks) = settled(&pg, count as i64).await;
    let seconds = started.elapsed().as_secs_f64();
    let calls = stack.t.server.requests() - calls_before;
    let gateway = gateway_calls(&stack).await;
    let since = |key: &str| {
        gateway.get(key).copied().unwrap_or(0) - gateway_before.get(key).copied().unwrap_or(0)
    };
    let tokens: i64 = pg
        .query_one(
            "SELECT COALESCE(sum(token_count), 0)::bigint FROM chunks",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let cost = Cost::new(
        marks.usage(),
        Requests {
            data_api: stack.t.server.metered_requests() - metered_before,
            // Each upload's notification is an SQS SendMessage S3 makes on the queue.
            sqs: since("sqs") + count as u64,
            s3_put: since("s3:PUT") + since("s3:POST"),
            s3_get: since("s3:GET") + since("s3:HEAD"),
            // Priced as Titan Text Embeddings v2, the template's default model.
            embedding_tokens: u64::try_from(tokens).unwrap_or(0),
        },
    );
    let per_thousand_pages = cost.per(pages as f64, 1000.0);
    eprintln!(
        "AWS cost: {:.4} USD in all, {per_thousand_pages:.4} USD per 1,000 pages",
        cost.total_usd
    );
    eprintln!(
        "{completed} completed, {failed} failed, {pages} pages, {chunks} chunks in {seconds:.1} s, {calls} Data API calls (+{api_calls} creating the items)"
    );
    let by_statement = tally_since(&tally_before, &stack.t.server.requests_by_statement());
    for (shape, n) in &by_statement {
        eprintln!("  {n:>6}  {shape}");
    }

    // Upload-to-searchable of a 1 MB text: create, PUT, processed, embedded, found.
    let mut latencies = Vec::new();
    let mut latency_stages = Vec::new();
    let mut completions = Vec::new();
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
        let name = format!("latency{run}.txt");
        let created = staff.create_file(&repository, &name, text.len()).await;
        let mut stages = vec![("created".to_owned(), t0.elapsed().as_secs_f64())];
        let put = reqwest::Client::new()
            .put(created["upload"]["url"].as_str().unwrap())
            .body(text.clone().into_bytes())
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success());
        stages.push(("uploaded".to_owned(), t0.elapsed().as_secs_f64()));
        let item = created["item"]["id"].as_str().unwrap().to_owned();
        let id: uuid::Uuid = item.parse().unwrap();
        // Searchable: the first time a hybrid search for the sentence returns this file
        // first (its keyword half finds stored chunks before their vectors are written).
        // Completed: every chunk has its vector.
        let (mut last, mut searchable) = (String::from("pending"), None);
        while last != "completed" || searchable.is_none() {
            assert!(
                t0.elapsed() < Duration::from_secs(300),
                "the 1 MB text is not found first: {stages:?}"
            );
            let row = pg
                .query_one("SELECT status FROM repository_items WHERE id = $1", &[&id])
                .await
                .unwrap();
            let status: String = row.get(0);
            assert_ne!(status, "failed");
            if status != last {
                stages.push((status.clone(), t0.elapsed().as_secs_f64()));
                last = status;
            }
            if searchable.is_none() && last != "pending" && last != "processing" {
                let (_, hits) = staff.search(&repository, &needle).await;
                if hits[0]["itemId"].as_str() == Some(item.as_str()) {
                    let at = t0.elapsed().as_secs_f64();
                    searchable = Some(at);
                    stages.push(("searchable".to_owned(), at));
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (_, hits) = staff.search(&repository, &needle).await;
        assert_eq!(hits[0]["itemId"].as_str(), Some(item.as_str()), "{hits}");
        let completed_at = stages
            .iter()
            .find(|(s, _)| s == "completed")
            .map_or(0.0, |(_, t)| *t);
        eprintln!(
            "1 MB text run {run}: {}",
            stages
                .iter()
                .map(|(s, t)| format!("{s} {t:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let seconds = searchable.unwrap_or(completed_at);
        completions.push(completed_at);
        latencies.push(seconds);
        latency_stages.push(stages);
    }
    latencies.sort_by(f64::total_cmp);
    let latency = latencies[latencies.len() / 2];
    completions.sort_by(f64::total_cmp);
    let completion = completions[completions.len() / 2];

    let memory: Vec<(String, Option<f64>)> = ["api", "file-processor", "embedding-generator"]
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                stack
                    .functions
                    .pids_of(name)
                    .into_iter()
                    .filter_map(peak_rss_mib)
                    .reduce(f64::max),
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
    let end_to_end = (calls + api_calls) as f64 * 1000.0 / chunks.max(1) as f64;
    let result = json!({
        "benchmark": "ingest",
        "profile": "release",
        "documents": count, "completed": completed, "failed": failed,
        "megabytes": mb, "pages": pages, "chunks": chunks, "seconds": seconds,
        "mb_per_s": mb / seconds, "pages_per_s": pages as f64 / seconds, "chunks_per_s": chunks as f64 / seconds,
        "data_api_calls": calls, "data_api_calls_per_1000_chunks": per_thousand,
        "data_api_calls_creating_items": api_calls,
        "data_api_calls_per_1000_chunks_with_item_creation": end_to_end,
        "data_api_calls_by_statement": by_statement.iter().map(|(s, n)| (s.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "upload_to_searchable_1mb_text_seconds": latency, "latency_runs": latencies,
        "upload_to_completed_1mb_text_seconds": completion, "completed_runs": completions,
        "latency_stages_seconds": latency_stages
            .iter()
            .map(|stages| stages.iter().map(|(s, t)| (s.clone(), json!(t))).collect::<serde_json::Map<_, _>>())
            .collect::<Vec<_>>(),
        "peak_rss_mib": memory.iter().map(|(n, m)| (n.clone(), json!(m))).collect::<serde_json::Map<_, _>>(),
        "extract_chunk_vs_python": {"pdf": ratio("pdf"), "text": ratio("text"), "all": ratio("all")},
        "aws_cost": cost, "aws_cost_per_1000_pages_usd": per_thousand_pages,
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
         | end to end (first upload -> all completed; items created before) | {seconds:.1} s |\n\
         | throughput | {:.2} MB/s, {:.0} pages/s, {:.0} chunks/s |\n\
         | chunks | {chunks} |\n\
         | Data API calls, pipeline (file-processor + embedding-generator) | {calls} ({per_thousand:.1} per 1,000 chunks) |\n\
         | Data API calls, with creating the items through the API | {} ({end_to_end:.1} per 1,000 chunks) |\n\
         | 1 MB text upload -> searchable in hybrid search (median of 3) | {latency:.2} s |\n\
         | 1 MB text upload -> completed, every chunk embedded (median of 3) | {completion:.2} s |\n\
         {memory_md}\
         | extract + chunk vs Python (pypdf + RecursiveCharacterTextSplitter), same run | PDF {}, text {}, all {} |\n\
         | AWS cost of the corpus at {} list prices (Lambda GB-s from the REPORT lines at the template's MemorySize, Data API, SQS, S3, Titan v2 embeddings) | {:.4} USD: Lambda {:.4}, Data API {:.4}, SQS {:.4}, S3 {:.4}, Bedrock {:.4} |\n\
         | AWS cost per 1,000 pages ingested | {per_thousand_pages:.4} USD |\n",
        mb / seconds,
        pages as f64 / seconds,
        chunks as f64 / seconds,
        calls + api_calls,
        fmt(ratio("pdf")),
        fmt(ratio("text")),
        fmt(ratio("all")),
        cost.prices.as_of,
        cost.total_usd,
        cost.lambda_usd,
        cost.data_api_usd,
        cost.sqs_usd,
        cost.s3_usd,
        cost.bedrock_usd,
    );
    let tally_md: String = by_statement
        .iter()
        .map(|(shape, n)| format!("| {shape} | {n} |\n"))
        .collect();
    let md = format!(
        "{md}\nPipeline Data API calls by operation and statement:\n\n| call | count |\n|---|---|\n{tally_md}"
    );
    std::fs::write(results_dir.join("ingest.md"), &md).unwrap();
    println!("{md}");
    stack.stop().await;
}

/// The calls the private stack's IAM gateway has passed to moto, by service (S3 by method).
async fn gateway_calls(stack: &PrivateStack) -> std::collections::BTreeMap<String, u64> {
    reqwest::get(format!("{}/_local/calls", stack.gateway.endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
