//! `studio ingest`: files and folders into a repository through the API, as a user would
//! add them: items 100 per request, 8 uploads at a time, every file followed to its end.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::cli::{Api, print_table};

/// Items added per request (the API's batch limit).
const CREATE_BATCH: usize = 100;
/// Uploads in flight at once.
const PARALLEL_UPLOADS: usize = 8;
/// How long a file may take from upload to its end before the CLI stops waiting.
const FOLLOW_LIMIT: Duration = Duration::from_secs(600);

/// One file on its way: its item (once added), its state, and when it started.
struct Ingesting {
    name: String,
    path: PathBuf,
    item: Option<String>,
    /// `refused`, `pending`, `processing`, ..., `completed`, `failed`.
    status: String,
    reason: String,
    outcome: Value,
    started: Instant,
    ended: Option<Duration>,
}

impl Ingesting {
    fn done(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed" | "refused")
    }
}

/// Uploads every file (items added 100 per request, 8 uploads at a time), follows them all
/// until each is completed or failed, printing every change of status, then prints a table.
/// True when every file completed.
#[allow(clippy::print_stdout)]
pub async fn ingest(api: &Api, repository: &str, paths: &[PathBuf]) -> anyhow::Result<bool> {
    let repository = api.repository(repository, true).await?;
    let mut files: Vec<Ingesting> = files_under(paths)?
        .into_iter()
        .map(|path| Ingesting {
            name: path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("file")
                .to_owned(),
            path,
            item: None,
            status: "refused".to_owned(),
            reason: String::new(),
            outcome: Value::Null,
            started: Instant::now(),
            ended: None,
        })
        .collect();
    let total = files.len();
    for batch in files.chunks_mut(CREATE_BATCH) {
        add_items(api, &repository, batch).await;
    }
    let uploads = futures_util::stream::iter(files.iter_mut().filter(|f| f.item.is_some()))
        .map(|file| async move {
            let upload = async {
                let bytes = tokio::fs::read(&file.path)
                    .await
                    .with_context(|| format!("cannot read {}", file.path.display()))?;
                let url = file.outcome["upload"]["url"].as_str().unwrap_or_default();
                api.http
                    .put(url)
                    .body(bytes)
                    .send()
                    .await?
                    .error_for_status()?;
                anyhow::Ok(())
            };
            file.started = Instant::now();
            if let Err(error) = upload.await {
                file.status = "failed".to_owned();
                file.reason = format!("upload failed: {error:#}");
            }
        })
        .buffer_unordered(PARALLEL_UPLOADS);
    uploads.collect::<Vec<()>>().await;

    let begun = Instant::now();
    while !files.iter().all(Ingesting::done) && begun.elapsed() < FOLLOW_LIMIT {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = current_items(api, &repository, &files).await?;
        for (index, file) in files.iter_mut().enumerate() {
            let Some(item) = file.item.as_ref().and_then(|id| now.get(id)) else {
                continue;
            };
            let status = item["status"].as_str().unwrap_or_default();
            if status != file.status && !file.done() {
                println!("[{}/{total}] {}: {status}", index + 1, file.name);
                file.status = status.to_owned();
                file.outcome = item.clone();
                if file.done() {
                    file.ended = Some(file.started.elapsed());
                    file.reason = item["error"].as_str().unwrap_or_default().to_owned();
                }
            }
        }
    }
    let text = |outcome: &Value, key: &str| match &outcome[key] {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let rows: Vec<Vec<String>> = files
        .iter()
        .map(|file| {
            vec![
                file.name.clone(),
                file.status.clone(),
                text(&file.outcome, "pageCount"),
                text(&file.outcome, "chunkCount"),
                format!(
                    "{:.1}",
                    file.ended
                        .unwrap_or_else(|| file.started.elapsed())
                        .as_secs_f64()
                ),
                if file.reason.is_empty() && !file.done() {
                    "still processing when the CLI stopped waiting".to_owned()
                } else {
                    file.reason.clone()
                },
            ]
        })
        .collect();
    print_table(
        &["file", "status", "pages", "chunks", "seconds", "reason"],
        &rows,
    );
    Ok(files.iter().all(|f| f.status == "completed"))
}

/// Adds a batch of files as items in one request; each file learns its item and upload URL,
/// or why it was refused.
async fn add_items(api: &Api, repository: &str, batch: &mut [Ingesting]) {
    let mut items = Vec::with_capacity(batch.len());
    for file in batch.iter_mut() {
        match std::fs::metadata(&file.path) {
            Ok(meta) => items
                .push(json!({ "type": "file", "fileName": file.name, "sizeBytes": meta.len() })),
            Err(error) => {
                file.reason = format!("cannot read: {error}");
                // Still sent, so entries stay in step: the API refuses a 0-byte file.
                items.push(json!({ "type": "file", "fileName": file.name, "sizeBytes": 0 }));
            }
        }
    }
    let created = api
        .call(
            reqwest::Method::POST,
            &format!("/repositories/{repository}/items"),
            Some(json!({ "items": items })),
        )
        .await;
    let entries = match created {
        Ok(created) => created["items"].as_array().cloned().unwrap_or_default(),
        Err(error) => {
            for file in batch.iter_mut() {
                file.reason = error.to_string();
            }
            return;
        }
    };
    for (file, entry) in batch.iter_mut().zip(entries) {
        if let Some(message) = entry["error"]["message"].as_str() {
            if file.reason.is_empty() {
                file.reason = message.to_owned();
            }
            continue;
        }
        file.item = entry["item"]["id"].as_str().map(str::to_owned);
        file.status = "pending".to_owned();
        file.outcome = entry;
    }
}

/// The repository's items this run follows, by id, read a page of 500 at a time (newest
/// first, so the run's own items come first).
async fn current_items(
    api: &Api,
    repository: &str,
    files: &[Ingesting],
) -> anyhow::Result<std::collections::HashMap<String, Value>> {
    let wanted: std::collections::HashSet<&str> =
        files.iter().filter_map(|f| f.item.as_deref()).collect();
    let mut found = std::collections::HashMap::new();
    let mut offset = 0;
    while found.len() < wanted.len() {
        let page = api
            .call(
                reqwest::Method::GET,
                &format!("/repositories/{repository}/items?limit=500&offset={offset}"),
                None,
            )
            .await?;
        let page = page.as_array().cloned().unwrap_or_default();
        let last = page.len() < 500;
        for item in page {
            if let Some(id) = item["id"].as_str()
                && wanted.contains(id)
            {
                found.insert(id.to_owned(), item);
            }
        }
        if last {
            break;
        }
        offset += 500;
    }
    Ok(found)
}

/// The files under `paths`: files as given, folders walked in name order.
fn files_under(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            inner.sort();
            files.extend(files_under(&inner)?);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}
