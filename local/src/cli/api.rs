//! The running stack's HTTP API as the people-facing verbs call it: signed in as a seeded
//! user, through the front door, with ActionState replies; and the tables they print.

use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};

use crate::front_door::DevKey;
use crate::stack::seed::DEMO_USERS;

/// An authenticated client of the stack's front door.
pub struct Api {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) token: String,
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
        let reply: Value = request
            .send()
            .await
            .with_context(|| format!("cannot reach the stack's API at {}", self.base))?
            .json()
            .await
            .with_context(|| format!("{path} did not answer in JSON"))?;
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
