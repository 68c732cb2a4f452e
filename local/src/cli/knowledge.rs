//! `studio search`, `chat` and `items`: a repository's passages and items over the running
//! stack's HTTP API; search and chat cover every repository the user can read unless one is
//! named.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::cli::{Api, print_table};

/// The most repositories one chat may search (the API's limit).
const CHAT_REPOSITORIES: usize = 20;

/// The repositories the user can read, newest first: (id, name).
async fn readable(api: &Api) -> anyhow::Result<Vec<(String, String)>> {
    let all = api
        .call(reqwest::Method::GET, "/repositories", None)
        .await?;
    Ok(all
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (text(&r["id"]), text(&r["name"]))
        })
        .collect())
}

/// Prints the best passages for `query` in the repository named `repository`, or in every
/// repository the user can read (each passage then says which one it is from).
#[allow(clippy::print_stdout)]
pub async fn search(api: &Api, repository: Option<&str>, query: &str) -> anyhow::Result<()> {
    // The query string as a form encodes it (`&`, `#`, `+` and non-ASCII text included).
    let mut url = reqwest::Url::parse("http://query.invalid/")?;
    url.query_pairs_mut().append_pair("q", query);
    let query = url.query().unwrap_or_default();
    let (path, names) = match repository {
        Some(name) => {
            let id = api.repository(name, false).await?;
            (format!("/repositories/{id}/search?{query}"), HashMap::new())
        }
        None => (
            format!("/search?{query}"),
            readable(api).await?.into_iter().collect(),
        ),
    };
    let hits = api.call(reqwest::Method::GET, &path, None).await?;
    for (rank, hit) in hits.as_array().into_iter().flatten().enumerate() {
        let headings: Vec<&str> = hit["headingPath"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let from = hit["repositoryId"]
            .as_str()
            .and_then(|id| names.get(id))
            .map(|name| format!(" in {name}"))
            .unwrap_or_default();
        println!(
            "{}. {}{from} (page {}{}) score {:.4}\n   {}\n",
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

/// Asks `question` on `/chat`, with passages from the repository named `repository` or from
/// every repository the user can read (the newest 20), and prints the answer as it streams,
/// then its sources.
#[allow(clippy::print_stdout)]
pub async fn chat(
    api: &Api,
    question: &str,
    repository: Option<&str>,
    model: &str,
) -> anyhow::Result<()> {
    use std::io::Write;
    let repositories = match repository {
        Some(name) => vec![api.repository(name, false).await?],
        None => {
            let all = readable(api).await?;
            if all.len() > CHAT_REPOSITORIES {
                tracing::warn!(
                    readable = all.len(),
                    "A chat searches at most {CHAT_REPOSITORIES} repositories: the newest; --repo names one"
                );
            }
            all.into_iter()
                .take(CHAT_REPOSITORIES)
                .map(|(id, _)| id)
                .collect()
        }
    };
    let body = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "messages": [{"id": uuid::Uuid::new_v4().to_string(), "role": "user",
                      "parts": [{"type": "text", "text": question}]}],
        "modelId": model,
        "repositoryIds": repositories,
    });
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
