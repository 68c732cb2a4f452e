//! Cold starts: each function's release binary started under the local Runtime API, RUNS
//! times (`COLD_START_RUNS`, default 20): init time (spawn to the first `GET /next`), peak
//! memory (`VmHWM`) after init and after a first invocation where the function has a probe
//! event, plus binary and Lambda zip sizes. Writes `bench-results/cold_start.{json,md}`.
//!
//! Run with `scripts/bench.sh`, which builds the release binaries and the arm64 zips
//! (`scripts/package.sh`) and serves a migrated database for the probe invocations.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use studio_local::runtime_api::RuntimeApi;

/// Functions whose first invocation is measured too, with the event they get.
const PROBES: &[(&str, &str)] = &[("db-init", "status.json")];

struct Run {
    init_ms: f64,
    rss_after_init_kib: u64,
    first_invoke_ms: Option<f64>,
    rss_after_invoke_kib: Option<u64>,
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

fn function_env() -> Vec<(String, String)> {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    vec![
        (
            "DATABASE_RESOURCE_ARN".into(),
            var(
                "DATABASE_RESOURCE_ARN",
                studio_local::account::LOCAL_CLUSTER_ARN,
            ),
        ),
        (
            "DATABASE_SECRET_ARN".into(),
            var(
                "DATABASE_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:studio/database",
            ),
        ),
        ("DATABASE_NAME".into(), var("DATABASE_NAME", "studio")),
        // What the other functions read at cold start; nothing is called at init.
        ("DOCUMENTS_BUCKET".into(), "studio-documents-local".into()),
        (
            "FILE_PROCESSING_QUEUE_URL".into(),
            "http://127.0.0.1:4566/123456789012/studio-file-processing".into(),
        ),
        (
            "EMBEDDING_QUEUE_URL".into(),
            "http://127.0.0.1:4566/123456789012/studio-embedding".into(),
        ),
        (
            "OCR_COMPLETION_QUEUE_URL".into(),
            "http://127.0.0.1:4566/123456789012/studio-ocr-completion".into(),
        ),
        (
            "ASSISTANT_RUNS_QUEUE_URL".into(),
            "http://127.0.0.1:4566/123456789012/studio-assistant-runs".into(),
        ),
        (
            "SETTINGS_KEY_SECRET_ARN".into(),
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:studio/settings-key".into(),
        ),
        // As the template sets it; nothing calls Textract at init.
        ("OCR_PROVIDER".into(), "textract".into()),
        (
            "TEXTRACT_TOPIC_ARN".into(),
            "arn:aws:sns:us-east-1:123456789012:studio-textract-completions".into(),
        ),
        (
            "TEXTRACT_ROLE_ARN".into(),
            "arn:aws:iam::123456789012:role/studio-textract-publish".into(),
        ),
        ("AWS_ACCESS_KEY_ID".into(), "local".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "local".into()),
        ("RUST_LOG".into(), "warn".into()),
    ]
}

async fn cold_start(binary: &Path, probe: Option<&Value>) -> Run {
    let api = RuntimeApi::start().await.unwrap();
    let mut function = api.spawn_function(binary, &function_env()).unwrap();
    let init = api
        .wait_ready(&mut function, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{} did not start: {e}", binary.display()));
    let rss_after_init_kib = function.peak_rss_kib().unwrap_or(0);
    let (mut first_invoke_ms, mut rss_after_invoke_kib) = (None, None);
    if let Some(event) = probe {
        let started = std::time::Instant::now();
        let answer = api.invoke(event).await;
        assert!(answer.is_ok(), "probe invocation failed: {answer:?}");
        first_invoke_ms = Some(started.elapsed().as_secs_f64() * 1e3);
        rss_after_invoke_kib = function.peak_rss_kib();
    }
    function.kill().await;
    Run {
        init_ms: init.as_secs_f64() * 1e3,
        rss_after_init_kib,
        first_invoke_ms,
        rss_after_invoke_kib,
    }
}

fn summary(values: Vec<f64>) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    let (mut a, mut b) = (values.clone(), values);
    json!({ "p50": percentile(&mut a, 50.0), "p99": percentile(&mut b, 99.0) })
}

fn number(value: &Value, digits: usize) -> String {
    value
        .as_f64()
        .map_or("-".to_owned(), |v| format!("{v:.digits$}"))
}

#[tokio::main]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let runs: usize = std::env::var("COLD_START_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let probing = std::env::var_os("AWS_ENDPOINT_URL_RDS_DATA").is_some();
    let mut functions: Vec<String> = std::fs::read_dir(root.join("functions"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    functions.sort();

    let mut report = Vec::new();
    let mut table = String::from(
        "| Function | init p50 | init p99 | peak RSS after init p50 | first invoke p50 | peak RSS after first invoke p99 | binary (x86_64) | zip |\n|---|---|---|---|---|---|---|---|\n",
    );
    for name in &functions {
        let binary = target.join("release").join(name);
        assert!(
            binary.exists(),
            "{} is missing: cargo build --release -p {name}",
            binary.display()
        );
        let probe = PROBES
            .iter()
            .find(|(f, _)| f == name)
            .filter(|_| probing)
            .map(|(_, file)| {
                let text =
                    std::fs::read_to_string(root.join("events").join(name).join(file)).unwrap();
                serde_json::from_str::<Value>(&text).unwrap()
            });
        cold_start(&binary, probe.as_ref()).await; // page cache warm-up, not counted
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            samples.push(cold_start(&binary, probe.as_ref()).await);
        }
        let lambda = target.join("lambda").join(name);
        let entry = json!({
            "function": name,
            "runs": runs,
            "init_ms": summary(samples.iter().map(|s| s.init_ms).collect()),
            "rss_after_init_mib": summary(samples.iter().map(|s| s.rss_after_init_kib as f64 / 1024.0).collect()),
            "first_invoke_ms": summary(samples.iter().filter_map(|s| s.first_invoke_ms).collect()),
            "rss_after_first_invoke_mib": summary(samples.iter().filter_map(|s| s.rss_after_invoke_kib).map(|k| k as f64 / 1024.0).collect()),
            "probe": probe,
            "binary_bytes_x86_64": file_size(&binary),
            "zip_bytes_arm64": file_size(&lambda.join("bootstrap.zip")),
        });
        let mib = |key: &str| {
            entry[key]
                .as_u64()
                .map_or("not built (scripts/package.sh)".to_owned(), |b| {
                    format!("{:.2} MiB", b as f64 / 1048576.0)
                })
        };
        table.push_str(&format!(
            "| {name} | {} ms | {} ms | {} MiB | {} | {} | {} | {} |\n",
            number(&entry["init_ms"]["p50"], 1),
            number(&entry["init_ms"]["p99"], 1),
            number(&entry["rss_after_init_mib"]["p50"], 1),
            entry["first_invoke_ms"]["p50"]
                .as_f64()
                .map_or("-".to_owned(), |v| format!("{v:.1} ms")),
            entry["rss_after_first_invoke_mib"]["p99"]
                .as_f64()
                .map_or("-".to_owned(), |v| format!("{v:.1} MiB")),
            mib("binary_bytes_x86_64"),
            mib("zip_bytes_arm64"),
        ));
        report.push(entry);
    }
    let note = format!(
        "\n{runs} cold starts per function after one unmeasured start; init = process spawn to the first `GET /next` of the local Runtime API; x86_64 release binaries on the {}-core machine that ran it; with {runs} runs p99 is the slowest run.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    table.push_str(&note);
    let out = root.join("bench-results");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("cold_start.json"),
        serde_json::to_string_pretty(&json!({ "functions": report })).unwrap(),
    )
    .unwrap();
    std::fs::write(out.join("cold_start.md"), &table).unwrap();
    println!("{table}");
}
