//! What the local Data API server costs per statement: the same statements run directly
//! on PostgreSQL (tokio-postgres) and through the real `aws-sdk-rdsdata` client, our Data
//! API layer and the local server. Writes `bench-results/data_api_overhead.{json,md}`.
//!
//! Run with `scripts/bench.sh` (it starts PostgreSQL and sets `STUDIO_DATABASE_URL`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use shared::data_api::{DataApi, Params};
use studio_local::data_api::{DataApiServer, ServerConfig};
use tokio_postgres::NoTls;
use uuid::Uuid;

const ITERATIONS: usize = 2000;
const WARM_UP: usize = 100;
const DATABASE: &str = "bench_data_api";

#[derive(Deserialize)]
#[allow(dead_code)]
struct Item {
    id: Uuid,
    title: String,
    n: i64,
    doc: serde_json::Value,
}

struct Stats {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

async fn measure<F, Fut>(mut call: F) -> Stats
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    for i in 0..WARM_UP {
        call(i).await;
    }
    let mut samples = Vec::with_capacity(ITERATIONS);
    for i in 0..ITERATIONS {
        let started = Instant::now();
        call(WARM_UP + i).await;
        samples.push(started.elapsed());
    }
    samples.sort();
    Stats {
        p50: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
        mean: samples.iter().sum::<Duration>() / samples.len() as u32,
    }
}

fn micros(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round()
}

#[tokio::main]
async fn main() {
    let admin: tokio_postgres::Config = std::env::var("STUDIO_DATABASE_URL")
        .expect("STUDIO_DATABASE_URL is not set: run scripts/bench.sh")
        .parse()
        .unwrap();
    studio_local::stack::postgres::ensure_database(&admin, DATABASE)
        .await
        .unwrap();
    let mut direct_config = admin.clone();
    direct_config.dbname(DATABASE);
    let (direct, connection) = direct_config.connect(NoTls).await.unwrap();
    tokio::spawn(connection);
    direct
        .batch_execute(
            "DROP TABLE IF EXISTS bench_items;
             CREATE TABLE bench_items (id uuid PRIMARY KEY, title text NOT NULL, n int8 NOT NULL, doc jsonb NOT NULL);
             INSERT INTO bench_items SELECT gen_random_uuid(), 'item ' || i, i, jsonb_build_object('i', i, 'tags', jsonb_build_array('a', 'b'))
             FROM generate_series(1, 1000) AS i;
             ANALYZE bench_items;",
        )
        .await
        .unwrap();
    let ids: Vec<Uuid> = direct
        .query("SELECT id FROM bench_items ORDER BY n", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();

    let server = DataApiServer::start(
        ServerConfig::new(direct_config.clone(), DATABASE),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();
    let db: DataApi =
        studio_local::stack::data_api_client(&server.endpoint(), DATABASE, "arn:bench");

    const POINT: &str = "SELECT id, title, n, doc FROM bench_items WHERE id = :id";
    const PAGE: &str = "SELECT id, title, n, doc FROM bench_items ORDER BY n LIMIT 100";
    const INSERT: &str =
        "INSERT INTO bench_items (id, title, n, doc) VALUES (:id, :title, :n, :doc::jsonb)";

    let mut results = Vec::new();
    let point_direct = measure(|i| {
        let (direct, id) = (&direct, ids[i % ids.len()]);
        async move {
            direct
                .query_one(
                    "SELECT id, title, n, doc FROM bench_items WHERE id = $1",
                    &[&id],
                )
                .await
                .unwrap();
        }
    })
    .await;
    let point_api = measure(|i| {
        let (db, id) = (&db, ids[i % ids.len()]);
        async move {
            let _: Item = db
                .query_one(POINT, Params::new().bind("id", id))
                .await
                .unwrap();
        }
    })
    .await;
    results.push(("point select by primary key", point_direct, point_api));

    let page_direct = measure(|_| async {
        direct
            .query(
                "SELECT id, title, n, doc FROM bench_items ORDER BY n LIMIT 100",
                &[],
            )
            .await
            .unwrap();
    })
    .await;
    let page_api = measure(|_| async {
        let rows: Vec<Item> = db.query(PAGE, Params::new()).await.unwrap();
        assert_eq!(rows.len(), 100);
    })
    .await;
    results.push(("select 100 rows", page_direct, page_api));

    let insert_direct = measure(|i| {
        let direct = &direct;
        async move {
            let doc = json!({"i": i});
            direct
                .execute(
                    "INSERT INTO bench_items (id, title, n, doc) VALUES ($1, $2, $3, $4)",
                    &[&Uuid::new_v4(), &"direct", &(i as i64), &doc],
                )
                .await
                .unwrap();
        }
    })
    .await;
    let insert_api = measure(|i| {
        let db = &db;
        async move {
            let params = Params::new()
                .bind("id", Uuid::new_v4())
                .bind("title", "api")
                .bind("n", i as i64)
                .bind("doc", json!({"i": i}));
            db.execute(INSERT, params).await.unwrap();
        }
    })
    .await;
    results.push(("insert one row", insert_direct, insert_api));

    let mut table = String::from(
        "| statement | direct p50 | direct p99 | Data API p50 | Data API p99 | overhead p50 | overhead p99 |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut json_rows = Vec::new();
    for (name, direct, api) in &results {
        table.push_str(&format!(
            "| {name} | {} µs | {} µs | {} µs | {} µs | {} µs | {} µs |\n",
            micros(direct.p50),
            micros(direct.p99),
            micros(api.p50),
            micros(api.p99),
            micros(api.p50.saturating_sub(direct.p50)),
            micros(api.p99.saturating_sub(direct.p99)),
        ));
        json_rows.push(json!({
            "statement": name,
            "direct_us": {"p50": micros(direct.p50), "p99": micros(direct.p99), "mean": micros(direct.mean)},
            "data_api_us": {"p50": micros(api.p50), "p99": micros(api.p99), "mean": micros(api.mean)},
        }));
    }
    let report = json!({
        "benchmark": "data_api_overhead",
        "iterations": ITERATIONS,
        "warm_up": WARM_UP,
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "results": json_rows,
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-results");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("data_api_overhead.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    std::fs::write(out.join("data_api_overhead.md"), &table).unwrap();
    println!("{table}");
}
