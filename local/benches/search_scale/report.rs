//! `bench-results/search_scale.{json,md}`: the figures of every size measured so far.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The ingestion pipeline's throughput from `bench-results/ingest.json` (chunks/s).
fn pipeline_chunks_per_s() -> Option<f64> {
    let text = std::fs::read_to_string(out_dir().join("ingest.json")).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["chunks_per_s"].as_f64()
}

fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-results")
}

/// This run's sizes beside those of earlier runs still in the file (one run per size, so
/// each size can have its own query count), in ascending order.
pub fn merged(results: &[Value]) -> Vec<Value> {
    let earlier: Vec<Value> = std::fs::read_to_string(out_dir().join("search_scale.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|report| report["sizes"].as_array().cloned())
        .unwrap_or_default();
    let mut all: Vec<Value> = earlier
        .into_iter()
        .filter(|e| !results.iter().any(|r| r["chunks"] == e["chunks"]))
        .chain(results.iter().cloned())
        .collect();
    all.sort_by_key(|r| r["chunks"].as_u64().unwrap_or(0));
    all
}

pub fn write(results: &[Value]) -> anyhow::Result<()> {
    let sizes = merged(results);
    let report = json!({
        "benchmark": "search_scale",
        "limit": crate::measure::LIMIT,
        "dimensions": crate::DIMENSIONS,
        "embedder": shared::providers::offline::HashingEmbedder::MODEL,
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "pipeline_chunks_per_s": pipeline_chunks_per_s(),
        "sizes": sizes,
    });
    let out = out_dir();
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("search_scale.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(out.join("search_scale.md"), markdown(&sizes))?;
    Ok(())
}

fn ms(v: &Value) -> String {
    v.as_f64().map_or("-".to_owned(), |x| format!("{x:.2} ms"))
}

fn mb(v: &Value) -> String {
    v.as_f64()
        .map_or("-".to_owned(), |x| format!("{:.0} MB", x / 1e6))
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64()
        .map_or("-".to_owned(), |x| format!("{x:.digits$}"))
}

pub fn markdown(results: &[Value]) -> String {
    let mut md = format!(
        "# Search and ingestion at scale (release, local stack)\n\n\
         Generated chunks (~1.2 KB, Zipf-distributed words), one repository, vectors from the \
         offline hashing embedder (384 dimensions). Queries of 3 to 8 words from the same law, \
         after warm-up queries (counts in the table), limit {} (the API's default), one at a time. Data API: \
         `shared::search::ranked` through the real `aws-sdk-rdsdata` client and the stack's \
         Data API server; direct: the same statement (`shared::search::statement`) prepared on \
         a tokio-postgres connection.\n\n",
        crate::measure::LIMIT
    );
    md.push_str("| chunks | queries (warm-up) | mode | Data API p50 | Data API p99 | direct p50 | direct p99 |\n|---:|---:|---|---:|---:|---:|---:|\n");
    for r in results {
        for mode in ["hybrid", "vector", "keyword"] {
            let s = &r["search"][mode];
            md.push_str(&format!(
                "| {} | {} ({}) | {mode} | {} | {} | {} | {} |\n",
                r["chunks"],
                r["queries"],
                r["warm_up"],
                ms(&s["data_api"]["p50_ms"]),
                ms(&s["data_api"]["p99_ms"]),
                ms(&s["direct"]["p50_ms"]),
                ms(&s["direct"]["p99_ms"]),
            ));
        }
    }
    let pipeline = pipeline_chunks_per_s();
    md.push_str(&format!(
        "\nIngestion: PostgreSQL's own insert rate into `embeddings` holding the rows already, \
         with `embeddings_hnsw_384` maintained (COPY batches of {} rows, 2 connections), \
         against the pipeline's {} chunks/s (bench-results/ingest.md).\n\n",
        crate::load::INSERT_BATCH,
        pipeline.map_or("-".to_owned(), |p| format!("{p:.0}")),
    ));
    md.push_str("| chunks | HNSW build (rows) | index size | insert rate | pipeline / insert rate | GIN (tsv) build |\n|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        let v = &r["halfvec"];
        let rate = v["insert_rows_per_s"].as_f64();
        md.push_str(&format!(
            "| {} | {} s ({}) | {} | {} rows/s | {} | {} s |\n",
            r["chunks"],
            num(&v["index_build_s"], 1),
            v["index_build_rows"],
            mb(&v["index_bytes"]),
            num(&v["insert_rows_per_s"], 0),
            match (pipeline, rate) {
                (Some(p), Some(x)) => format!("{:.1}%", 100.0 * p / x),
                _ => "-".to_owned(),
            },
            num(&r["load"]["tsv_index_build_s"], 1),
        ));
    }
    md.push_str("\nhalfvec(384), the schema's index since 010, against vector(384), the schema's before: \
                 a second HNSW index on `embedding::vector(384)`, plain top-10 directly in PostgreSQL, \
                 recall@10 against exact search.\n\n");
    md.push_str("| chunks | index | build | size | insert rate | top-10 p50 | top-10 p99 | recall@10 |\n|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        for (name, index) in [("halfvec", &r["halfvec"]), ("vector", &r["vector"])] {
            let knn = &r["knn"][name];
            let insert = if name == "halfvec" {
                format!("{} rows/s", num(&index["insert_rows_per_s"], 0))
            } else {
                format!(
                    "{} rows/s with both; {} alone (derived)",
                    num(&index["insert_rows_per_s_with_both_indexes"], 0),
                    num(&index["insert_rows_per_s_derived_alone"], 0)
                )
            };
            md.push_str(&format!(
                "| {} | {name} | {} s | {} | {insert} | {} | {} | {} |\n",
                r["chunks"],
                num(&index["index_build_s"], 1),
                mb(&index["index_bytes"]),
                ms(&knn["latency"]["p50_ms"]),
                ms(&knn["latency"]["p99_ms"]),
                num(&knn["recall_at_10"], 3),
            ));
        }
    }
    if let Some(last) = results.last() {
        let s = &last["settings"];
        md.push_str(&format!(
            "\nIn effect: hnsw.ef_search {} (Data API sessions) / {} (direct), hnsw.iterative_scan {} / {}; \
             shared_buffers {}, work_mem {}; pgvector {}; {}. The product's vector mode (50 \
             candidates, iterative scan) found {} of the exact top 10 at {} chunks.\n",
            s["data_api_session"]["hnsw.ef_search"],
            s["direct_session"]["hnsw.ef_search"],
            s["data_api_session"]["hnsw.iterative_scan"],
            s["direct_session"]["hnsw.iterative_scan"],
            s["shared_buffers"],
            s["work_mem"],
            s["pgvector"],
            s["postgres"].as_str().unwrap_or("-").split(" on ").next().unwrap_or("-"),
            num(&last["knn"]["product_vector_mode_recall_at_10"], 3),
            last["chunks"],
        ));
    }
    md
}
