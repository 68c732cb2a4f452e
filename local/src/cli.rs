//! The people-facing verbs of `studio`, over the running stack's HTTP API as a user would
//! call it: `ingest` files and folders, `search`, list `items`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{Value, json};

use crate::front_door::DevKey;
use crate::stack::seed::DEMO_USERS;

/// An authenticated client of the stack's front door.
pub struct Api {
    pub(crate) http: reqwest::Client,
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
    pub(crate) async fn repository(&self, name: &str, create: bool) -> anyhow::Result<String> {
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

pub(crate) fn files_under(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
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
