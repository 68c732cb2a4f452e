//! What the IAM gateway adds per call: 1,000 SQS SendMessage calls straight to moto, then
//! through the gateway as a role allowed to send (the evaluation and the extra hop).
//! `cargo bench -p studio-local --bench iam_gateway_overhead` (needs `moto_server` in
//! `STUDIO_VENV`, default the checkout's `.local/venv`, which `studio up` installs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../tests/iam/common.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use studio_local::iam::Principals;

/// `IAM_BENCH_CALLS` (default 1,000) calls per path.
fn calls() -> usize {
    std::env::var("IAM_BENCH_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

async fn sends(client: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Duration> {
    let mut took = Vec::with_capacity(calls());
    for i in 0..calls() {
        let started = Instant::now();
        client
            .send_message()
            .queue_url(queue_url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
        took.push(started.elapsed());
    }
    took.sort();
    took
}

fn summary(name: &str, took: &[Duration]) -> Duration {
    let total: Duration = took.iter().sum();
    let mean = total / took.len() as u32;
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    println!(
        "{name:<18} total {:>7.1} ms  mean {:>6.3} ms  p50 {:>6.3} ms  p99 {:>6.3} ms",
        total.as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    );
    mean
}

#[tokio::main]
async fn main() {
    let moto = common::Moto::start().await;
    let principals = Arc::new(Principals::new());
    let gateway = common::start_gateway(&moto, &principals).await;
    let direct = aws_sdk_sqs::Client::new(&common::role_config(&moto.endpoint, "local", "local"));
    let queue = direct
        .create_queue()
        .queue_name("bench")
        .send()
        .await
        .unwrap();
    let url = queue.queue_url().unwrap().to_owned();
    let credentials = principals
        .issue(
            "arn:aws:iam::123456789012:role/bench-role",
            "bench",
            &[
                serde_json::json!({"Statement": {"Effect": "Allow", "Action": "sqs:SendMessage",
                "Resource": "arn:aws:sqs:us-east-1:123456789012:bench"}}),
            ],
        )
        .unwrap();
    let role = aws_sdk_sqs::Client::new(&common::role_config(
        &gateway.endpoint(),
        &credentials.access_key_id,
        &credentials.secret_access_key,
    ));
    // Warm both paths (connections, moto's first-call costs).
    sends(&direct, &url).await;
    sends(&role, &url).await;
    let direct_mean = summary("direct to moto", &sends(&direct, &url).await);
    let gateway_mean = summary("through gateway", &sends(&role, &url).await);
    println!(
        "gateway overhead per call: {:.3} ms (mean)",
        (gateway_mean.as_secs_f64() - direct_mean.as_secs_f64()) * 1e3
    );
}
