//! Benchmark (not a test): what chat-stream adds over the provider it streams from. The
//! same scripted answer is read straight from the mock OpenAI server and through the
//! stack's `/chat` (front door -> chat-stream binary -> mock), at concurrency 1 and 50,
//! with persistence and RAG on and off. Time to first byte (first text delta) and the
//! whole answer are measured; overhead = studio - direct. Writes
//! bench-results/chat.{json,md}. Run by scripts/bench_chat.sh.
//!
//! The mock runs in its own process (`studio mock-providers`, next to this binary), as a
//! provider does: the direct client then crosses the same process boundary to it that
//! chat-stream crosses, and only what lies between them counts as overhead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use studio_local::mock_providers::{MockUsage, Script};
use studio_tests::cost::{Cost, LogMarks, Requests};
use studio_tests::http::{ApiClient, env};

const DELTAS: usize = 40;
const DELTA_DELAY_MS: u64 = 5;
/// Requests per configuration at concurrency 1: the p99 is the 10th slowest, not the 3rd
/// (with 300, two runs' p99 differed by up to 2 ms on this machine).
const SAMPLES_ALONE: usize = 1000;
const SAMPLES_CONCURRENT: usize = 200;

struct Timing {
    first: Duration,
    total: Duration,
    /// chat-stream's own account of its checks (`Server-Timing`: sign-in, prepare), ms.
    checks: Option<(f64, f64)>,
}

/// `signin;dur=0.84, prepare;dur=0.12` -> (0.84, 0.12).
fn server_timing(response: &reqwest::Response) -> Option<(f64, f64)> {
    let header = response.headers().get("server-timing")?.to_str().ok()?;
    let dur = |name: &str| -> Option<f64> {
        header.split(',').find_map(|part| {
            let (metric, dur) = part.trim().split_once(";dur=")?;
            (metric == name).then(|| dur.parse().ok()).flatten()
        })
    };
    Some((dur("signin")?, dur("prepare")?))
}

/// Reads an SSE response until its end; the first frame carrying text marks the first byte.
async fn read(mut response: reqwest::Response, started: Instant, text_marker: &str) -> Timing {
    let checks = server_timing(&response);
    let mut first = None;
    while let Some(chunk) = response.chunk().await.unwrap() {
        if first.is_none() && String::from_utf8_lossy(&chunk).contains(text_marker) {
            first = Some(started.elapsed());
        }
    }
    Timing {
        first: first.unwrap_or_else(|| started.elapsed()),
        total: started.elapsed(),
        checks,
    }
}

/// `studio mock-providers` in a process of its own, stopped when dropped.
struct MockProcess {
    _child: tokio::process::Child,
    url: String,
}

impl MockProcess {
    async fn start() -> Self {
        use tokio::io::AsyncBufReadExt;
        let studio = std::env::current_exe().unwrap().with_file_name("studio");
        let mut child = tokio::process::Command::new(&studio)
            .args(["mock-providers", "--port", "0"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", studio.display()));
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        // "Mock providers on http://127.0.0.1:PORT"
        let first = lines
            .next_line()
            .await
            .unwrap()
            .expect("the mock printed its address");
        let url = first.rsplit(' ').next().unwrap().to_owned();
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { _child: child, url }
    }

    fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url)
    }

    async fn set_script(&self, http: &reqwest::Client, script: &Script) {
        let response = http
            .put(format!("{}/_mock/script", self.url))
            .json(script)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
}

async fn direct(http: &reqwest::Client, mock: &MockProcess) -> Timing {
    let started = Instant::now();
    let response = http
        .post(format!("{}/chat/completions", mock.openai_base_url()))
        .json(
            &json!({"model": "bench", "stream": true, "stream_options": {"include_usage": true},
                      "messages": [{"role": "user", "content": "How did the pilot go?"}]}),
        )
        .send()
        .await
        .unwrap();
    // The first frame with text (the role frame before it carries `"content":""`).
    read(response, started, "\"content\":\"w").await
}

async fn studio(
    http: &reqwest::Client,
    token: &str,
    model: &str,
    persist: bool,
    repository: Option<&str>,
) -> Timing {
    let started = Instant::now();
    let mut body = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "messages": [{"id": uuid::Uuid::new_v4().to_string(), "role": "user",
                      "parts": [{"type": "text", "text": "How did the pilot go?"}]}],
        "modelId": model, "temporary": !persist,
    });
    if let Some(repository) = repository {
        body["repositoryIds"] = json!([repository]);
    }
    let response = http
        .post(format!("{}/chat", env("STUDIO_API_URL")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    read(response, started, "\"text-delta\"").await
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let index = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[index]
}

/// `BENCH_SAMPLES=file.csv` keeps each request's figures, to see what a tail is made of
/// (pairs at concurrency 1; at 50 the direct run is a separate one).
fn write_samples(
    path: &str,
    (concurrency, persist, rag): (usize, bool, bool),
    base: &[Timing],
    timings: &[Timing],
) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    if file.metadata().unwrap().len() == 0 {
        writeln!(
            file,
            "concurrency,persistence,rag,direct_ttfb_ms,studio_ttfb_ms,signin_ms,prepare_ms"
        )
        .unwrap();
    }
    for (base, timing) in base.iter().zip(timings) {
        let (signin, prepare) = timing.checks.unwrap_or((f64::NAN, f64::NAN));
        writeln!(
            file,
            "{concurrency},{persist},{rag},{:.3},{:.3},{signin:.2},{prepare:.2}",
            base.first.as_secs_f64() * 1e3,
            timing.first.as_secs_f64() * 1e3,
        )
        .unwrap();
    }
}

async fn run_many<F, Fut, T>(concurrency: usize, samples: usize, one: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    futures_util::stream::iter(0..samples)
        .map(|_| one())
        .buffer_unordered(concurrency)
        .collect()
        .await
}

#[tokio::main]
async fn main() {
    let http = reqwest::Client::new();
    let mock = MockProcess::start().await;
    let reply: Vec<String> = (0..DELTAS).map(|i| format!("w{i}")).collect();
    let script = Script {
        reply: Some(reply.join(" ")),
        usage: MockUsage {
            input: 100,
            output: DELTAS as u64,
            cached: 0,
            reasoning: 0,
        },
        delta_delay_ms: DELTA_DELAY_MS,
        ..Script::default()
    };
    mock.set_script(&http, &script).await;
    let admin = ApiClient::for_user("local-admin", "admin@example.com");
    let model_id = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let (status, created) = admin
        .post("/models", json!({"provider": "openai_compatible", "modelId": model_id, "name": model_id,
                                "capabilities": ["chat"], "config": {"base_url": mock.openai_base_url()}}))
        .await;
    assert_eq!(status, 200, "{created}");
    // No hourly limit in the way of the benchmark's thousands of prompts.
    let (status, set) = admin
        .call(
            reqwest::Method::PUT,
            "/settings/chat.prompts_per_hour",
            Some(json!({"value": "1000000"})),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    let staff = ApiClient::for_user("local-staff", "staff@example.com");
    let repository = staff.repository(&format!("bench-{model_id}")).await;
    let (_, item) = staff
        .post(&format!("/repositories/{repository}/items"),
              json!({"type": "text", "name": "pilot.md", "text": "# Pilot\n\nThe pilot went well: 14 schools joined and usage doubled.\n"}))
        .await;
    staff
        .settle(item["data"]["item"]["id"].as_str().unwrap())
        .await;
    let token =
        studio_local::front_door::DevKey::load_or_create(env("STUDIO_DEV_KEY_FILE").as_ref())
            .unwrap()
            .mint("local-staff", "staff@example.com", None, 2)
            .unwrap();
    // Warm every instance (the stack runs 50) and its connections: at concurrency 50 each
    // request holds a different instance.
    for (persist, repo) in [(false, None), (true, Some(repository.as_str()))] {
        run_many(50, 100, || studio(&http, &token, &model_id, persist, repo)).await;
    }
    run_many(8, 32, || direct(&http, &mock)).await;

    // `BENCH_CONCURRENCY=1` measures one level only (e.g. while profiling).
    let levels: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "1,50".to_owned())
        .split(',')
        .map(|level| {
            level
                .trim()
                .parse()
                .expect("BENCH_CONCURRENCY: numbers, e.g. 1,50")
        })
        .collect();
    // `BENCH_ROWS=on/off` measures some configurations only (persistence/RAG).
    let configurations: Vec<(bool, bool)> = std::env::var("BENCH_ROWS")
        .unwrap_or_else(|_| "off/off,on/off,on/on".to_owned())
        .split(',')
        .map(|row| match row.trim() {
            "off/off" => (false, false),
            "on/off" => (true, false),
            "on/on" => (true, true),
            other => panic!("BENCH_ROWS: off/off, on/off or on/on, not {other}"),
        })
        .collect();
    let mut rows = Vec::new();
    for concurrency in levels {
        let samples = if concurrency == 1 {
            SAMPLES_ALONE
        } else {
            SAMPLES_CONCURRENT
        };
        for &(persist, rag) in &configurations {
            let repo = rag.then_some(repository.as_str());
            let marks = LogMarks::now(env("STUDIO_STATE_DIR").as_ref(), &["chat-stream"]);
            let metered = data_api_metered(&http).await;
            let (base, timings): (Vec<Timing>, Vec<Timing>) = if concurrency == 1 {
                // Alone: each request through the studio right after the same one straight
                // to the mock, so that both meet the machine in the same state.
                run_many(1, samples, || async {
                    let base = direct(&http, &mock).await;
                    (base, studio(&http, &token, &model_id, persist, repo).await)
                })
                .await
                .into_iter()
                .unzip()
            } else {
                // Concurrent: the baseline on its own just before (run alongside, the
                // studio's load would slow it down and flatter the overhead).
                let base = run_many(concurrency, samples, || direct(&http, &mock)).await;
                let timings = run_many(concurrency, samples, || {
                    studio(&http, &token, &model_id, persist, repo)
                })
                .await;
                (base, timings)
            };
            // What the row's turns would cost on AWS: chat-stream's GB-seconds and the Data
            // API's requests (the model's own tokens are priced per model, in /usage).
            let cost = Cost::new(
                marks.usage(),
                Requests {
                    data_api: data_api_metered(&http).await - metered,
                    ..Requests::default()
                },
            );
            if let Ok(path) = std::env::var("BENCH_SAMPLES") {
                write_samples(&path, (concurrency, persist, rag), &base, &timings);
            }
            let mut base_first: Vec<f64> =
                base.iter().map(|t| t.first.as_secs_f64() * 1e3).collect();
            let mut base_total: Vec<f64> =
                base.iter().map(|t| t.total.as_secs_f64() * 1e3).collect();
            let mut first: Vec<f64> = timings
                .iter()
                .map(|t| t.first.as_secs_f64() * 1e3)
                .collect();
            let mut total: Vec<f64> = timings
                .iter()
                .map(|t| t.total.as_secs_f64() * 1e3)
                .collect();
            let mut signin: Vec<f64> = timings
                .iter()
                .filter_map(|t| t.checks.map(|c| c.0))
                .collect();
            let mut prepare: Vec<f64> = timings
                .iter()
                .filter_map(|t| t.checks.map(|c| c.1))
                .collect();
            let row = json!({
                "costPer1000TurnsUsd": cost.per(samples as f64, 1000.0),
                "cost": cost,
                "signinMs": {"p50": percentile(&mut signin, 0.5), "p99": percentile(&mut signin, 0.99)},
                "prepareMs": {"p50": percentile(&mut prepare, 0.5), "p99": percentile(&mut prepare, 0.99)},
                "concurrency": concurrency, "persistence": persist, "rag": rag, "samples": samples,
                "ttfbMs": {"p50": percentile(&mut first, 0.5), "p99": percentile(&mut first, 0.99)},
                "directTtfbMs": {"p50": percentile(&mut base_first, 0.5), "p99": percentile(&mut base_first, 0.99)},
                "ttfbOverheadMs": {
                    "p50": percentile(&mut first, 0.5) - percentile(&mut base_first, 0.5),
                    "p99": percentile(&mut first, 0.99) - percentile(&mut base_first, 0.99)},
                "perChunkOverheadMs": {
                    "p50": ((percentile(&mut total, 0.5) - percentile(&mut first, 0.5))
                        - (percentile(&mut base_total, 0.5) - percentile(&mut base_first, 0.5))) / (DELTAS as f64 - 1.0),
                    "p99": ((percentile(&mut total, 0.99) - percentile(&mut first, 0.99))
                        - (percentile(&mut base_total, 0.99) - percentile(&mut base_first, 0.99))) / (DELTAS as f64 - 1.0)},
            });
            println!("{row}");
            rows.push(row);
        }
    }
    let results = json!({"deltas": DELTAS, "deltaDelayMs": DELTA_DELAY_MS, "rows": rows});
    std::fs::create_dir_all("bench-results").unwrap();
    std::fs::write(
        "bench-results/chat.json",
        serde_json::to_string_pretty(&results).unwrap(),
    )
    .unwrap();
    let mut md = String::from(
        "| concurrency | persistence | RAG | TTFB p50 / p99 (ms) | TTFB overhead p50 / p99 (ms) | of which sign-in + limit p50 / p99 (ms) | of which prepare p50 / p99 (ms) | per-chunk overhead p50 / p99 (ms) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for row in &rows {
        let f = |v: &Value| format!("{:.2}", v.as_f64().unwrap());
        md.push_str(&format!(
            "| {} | {} | {} | {} / {} | {} / {} | {} / {} | {} / {} | {} / {} |\n",
            row["concurrency"],
            on_off(&row["persistence"]),
            on_off(&row["rag"]),
            f(&row["ttfbMs"]["p50"]),
            f(&row["ttfbMs"]["p99"]),
            f(&row["ttfbOverheadMs"]["p50"]),
            f(&row["ttfbOverheadMs"]["p99"]),
            f(&row["signinMs"]["p50"]),
            f(&row["signinMs"]["p99"]),
            f(&row["prepareMs"]["p50"]),
            f(&row["prepareMs"]["p99"]),
            f(&row["perChunkOverheadMs"]["p50"]),
            f(&row["perChunkOverheadMs"]["p99"]),
        ));
    }
    md.push_str(&format!(
        "\nAWS cost of the studio's part of a turn (chat-stream's Lambda GB-seconds at its template MemorySize, from the REPORT lines, and its Data API requests; not the model's tokens), at {} list prices:\n\n| concurrency | persistence | RAG | Lambda GB-s per turn | Data API requests per turn | USD per 1,000 turns |\n|---|---|---|---|---|---|\n",
        studio_tests::cost::PRICES.as_of
    ));
    for row in &rows {
        let turns = row["samples"].as_f64().unwrap_or(1.0);
        let gb_seconds: f64 = row["cost"]["lambda"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, u)| u["gbSeconds"].as_f64().unwrap_or(0.0))
            .sum();
        md.push_str(&format!(
            "| {} | {} | {} | {:.4} | {:.2} | {:.4} |\n",
            row["concurrency"],
            on_off(&row["persistence"]),
            on_off(&row["rag"]),
            gb_seconds / turns,
            row["cost"]["requests"]["dataApi"].as_f64().unwrap_or(0.0) / turns,
            row["costPer1000TurnsUsd"].as_f64().unwrap_or(0.0),
        ));
    }
    std::fs::write("bench-results/chat.md", &md).unwrap();
    println!("{md}");
}

/// The Data API requests the stack's server has metered so far (its billing unit).
async fn data_api_metered(http: &reqwest::Client) -> u64 {
    let url = format!("{}/_local/metering", env("AWS_ENDPOINT_URL_RDS_DATA"));
    let metering: Value = http.get(url).send().await.unwrap().json().await.unwrap();
    metering["meteredRequests"].as_u64().unwrap()
}

fn on_off(flag: &Value) -> &'static str {
    if flag == true { "on" } else { "off" }
}
