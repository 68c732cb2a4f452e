//! The people-facing verbs of `studio`, over the running stack's HTTP API as a user would
//! call it: `ingest` files and folders, `search`, list `items`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::front_door::DevKey;
use crate::stack::seed::DEMO_USERS;

/// An authenticated client of the stack's front door.
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    /// Signs in as the seeded user `email`, with the dev key and address in `state_dir`.
    pub fn connect(state_dir: &Path, email: &str) -> anyhow::Result<Self> {
        let (sub, _, name, _, _) = DEMO_USERS
            .iter()
            .find(|u| u.1 == email)
            .with_context(|| format!("{email} is not a seeded user"))?;
        let key_file = state_dir.join("dev-jwt.key");
        anyhow::ensure!(
            key_file.exists(),
            "no dev key at {}: start the stack first",
            key_file.display()
        );
        let env = std::fs::read_to_string(state_dir.join("stack.env"))
            .context("the stack is not running")?;
        let base = env
            .lines()
            .find_map(|l| l.strip_prefix("STUDIO_API_URL="))
            .context("the stack runs without its functions (--no-functions)")?
            .to_owned();
        Ok(Self {
            http: reqwest::Client::new(),
            base,
            token: DevKey::load_or_create(&key_file)?.mint(sub, email, Some(name), 1)?,
        })
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply: Value = request.send().await?.json().await?;
        if reply["isSuccess"] != true {
            anyhow::bail!(
                "{}",
                reply["error"]["message"]
                    .as_str()
                    .unwrap_or("the request failed")
            );
        }
        Ok(reply["data"].clone())
    }

    /// The id of the repository named `name`, created when `create` and missing.
    async fn repository(&self, name: &str, create: bool) -> anyhow::Result<String> {
        let all = self
            .call(reqwest::Method::GET, "/repositories", None)
            .await?;
        let found = all.as_array().into_iter().flatten().find(|r| {
            r["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
        match (found, create) {
            (Some(repository), _) => Ok(repository["id"].as_str().unwrap_or_default().to_owned()),
            (None, true) => Ok(self
                .call(
                    reqwest::Method::POST,
                    "/repositories",
                    Some(json!({ "name": name })),
                )
                .await?["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()),
            (None, false) => anyhow::bail!("no repository named {name:?}"),
        }
    }
}

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

/// Prints the best passages for `query` in a repository.
#[allow(clippy::print_stdout)]
pub async fn search(api: &Api, repository: &str, query: &str) -> anyhow::Result<()> {
    let repository = api.repository(repository, false).await?;
    // The query string as a form encodes it (`&`, `#`, `+` and non-ASCII text included).
    let mut url = reqwest::Url::parse("http://query.invalid/")?;
    url.query_pairs_mut().append_pair("q", query);
    let path = format!(
        "/repositories/{repository}/search?{}",
        url.query().unwrap_or_default()
    );
    let hits = api.call(reqwest::Method::GET, &path, None).await?;
    for (rank, hit) in hits.as_array().into_iter().flatten().enumerate() {
        let headings: Vec<&str> = hit["headingPath"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "{}. {} (page {}{}) score {:.4}\n   {}\n",
            rank + 1,
            hit["itemName"].as_str().unwrap_or_default(),
            hit["pageStart"],
            if headings.is_empty() {
                String::new()
            } else {
                format!(", {}", headings.join(" > "))
            },
            hit["score"].as_f64().unwrap_or_default(),
            hit["excerpt"]
                .as_str()
                .unwrap_or_default()
                .replace('\n', " ")
                .chars()
                .take(200)
                .collect::<String>()
        );
    }
    Ok(())
}

/// Asks `question` on `/chat` and prints the answer as it streams, then its sources.
#[allow(clippy::print_stdout)]
pub async fn chat(
    api: &Api,
    question: &str,
    repository: Option<&str>,
    model: &str,
) -> anyhow::Result<()> {
    use std::io::Write;
    let mut body = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "messages": [{"id": uuid::Uuid::new_v4().to_string(), "role": "user",
                      "parts": [{"type": "text", "text": question}]}],
        "modelId": model,
    });
    if let Some(name) = repository {
        body["repositoryIds"] = json!([api.repository(name, false).await?]);
    }
    let mut response = api
        .http
        .post(format!("{}/chat", api.base))
        .bearer_auth(&api.token)
        .json(&body)
        .send()
        .await?;
    if !response.status().is_success() {
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        anyhow::bail!(
            "{}",
            reply["error"]["message"]
                .as_str()
                .unwrap_or("the chat request failed")
        );
    }
    let mut pending = String::new();
    let mut sources = Vec::new();
    let mut stdout = std::io::stdout();
    while let Some(bytes) = response.chunk().await? {
        pending.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(end) = pending.find("\n\n") {
            let frame: String = pending.drain(..end + 2).collect();
            let Some(data) = frame.trim().strip_prefix("data: ") else {
                continue;
            };
            let Ok(chunk) = serde_json::from_str::<Value>(data) else {
                continue;
            };
            match chunk["type"].as_str() {
                Some("text-delta") => {
                    print!("{}", chunk["delta"].as_str().unwrap_or_default());
                    stdout.flush()?;
                }
                Some("source-document") => sources.push(chunk),
                Some("error") => println!(
                    "\n[error] {}",
                    chunk["errorText"].as_str().unwrap_or_default()
                ),
                _ => {}
            }
        }
    }
    println!();
    if !sources.is_empty() {
        println!("\nSources:");
        for source in &sources {
            let studio = &source["providerMetadata"]["studio"];
            let page = studio["page"]
                .as_i64()
                .map(|p| format!(", page {p}"))
                .unwrap_or_default();
            println!(
                "  [{}] {}{page}",
                studio["number"],
                source["title"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// Lists a repository's items.
pub async fn items(api: &Api, repository: &str) -> anyhow::Result<()> {
    let repository = api.repository(repository, false).await?;
    let items = api
        .call(
            reqwest::Method::GET,
            &format!("/repositories/{repository}/items?limit=500"),
            None,
        )
        .await?;
    let text = |v: &Value| match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let rows: Vec<Vec<String>> = items
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            vec![
                text(&i["name"]),
                text(&i["status"]),
                text(&i["pageCount"]),
                text(&i["chunkCount"]),
                text(&i["embeddedCount"]),
                text(&i["error"]),
            ]
        })
        .collect();
    print_table(
        &["item", "status", "pages", "chunks", "embedded", "reason"],
        &rows,
    );
    Ok(())
}

#[allow(clippy::print_stdout)]
pub(crate) fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r[i].chars().count().min(60))
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{:<w$}", c.chars().take(60).collect::<String>(), w = *w))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!(
        "\n{}",
        line(headers.iter().map(|h| (*h).to_owned()).collect())
    );
    for row in rows {
        println!("{}", line(row.clone()));
    }
}
