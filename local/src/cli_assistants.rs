//! `studio assistants`, `run`, `schedules` and `schedule create`: the assistant verbs over
//! the running stack's HTTP API.

use std::time::Duration;

use anyhow::Context;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::cli::{Api, print_table};

fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// Lists the assistants the user sees.
pub async fn assistants(api: &Api) -> anyhow::Result<()> {
    let all = api.call(Method::GET, "/assistants", None).await?;
    let rows: Vec<Vec<String>> = all
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| vec![text(&a["name"]), text(&a["status"]), text(&a["id"])])
        .collect();
    print_table(&["assistant", "status", "id"], &rows);
    Ok(())
}

/// The id of the assistant named (or with the id) `name`.
async fn assistant_id(api: &Api, name: &str) -> anyhow::Result<String> {
    let all = api.call(Method::GET, "/assistants", None).await?;
    all.as_array()
        .into_iter()
        .flatten()
        .find(|a| {
            a["id"] == name
                || a["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|a| a["id"].as_str().map(str::to_owned))
        .with_context(|| format!("no assistant named {name:?}"))
}

/// `key=value` pairs as a JSON object (a value with commas is a list, for multi-selects).
pub fn inputs(pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut inputs = Map::new();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .with_context(|| format!("--input takes key=value, not {pair:?}"))?;
        inputs.insert(key.trim().to_owned(), json!(value));
    }
    Ok(inputs)
}

/// Runs an assistant and shows each prompt as it finishes, then the final output.
#[allow(clippy::print_stdout)]
pub async fn run(api: &Api, name: &str, pairs: &[String]) -> anyhow::Result<()> {
    let id = assistant_id(api, name).await?;
    let queued = api
        .call(
            Method::POST,
            &format!("/assistants/{id}/executions"),
            Some(json!({ "inputs": inputs(pairs)? })),
        )
        .await?;
    let execution = text(&queued["executionId"]);
    println!("Execution {execution}");
    let mut shown = 0;
    loop {
        let state = api
            .call(Method::GET, &format!("/executions/{execution}"), None)
            .await?;
        let events = state["events"].as_array().cloned().unwrap_or_default();
        for event in events.iter().skip(shown) {
            let data = &event["data"];
            match event["eventType"].as_str() {
                Some("prompt-start") => println!("  ▸ {} …", text(&data["name"])),
                Some("tool-call") => println!(
                    "    tool {} ({})",
                    text(&data["tool"]),
                    if data["ok"] == true { "ok" } else { "failed" }
                ),
                Some("knowledge-retrieved") => println!(
                    "    {} passages",
                    data["citations"].as_array().map_or(0, Vec::len)
                ),
                Some("prompt-complete") => println!(
                    "  ✓ {} {} ({} ms, {} tokens in, {} out){}",
                    text(&data["name"]),
                    text(&data["status"]),
                    data["durationMs"],
                    data["usage"]["inputTokens"],
                    data["usage"]["outputTokens"],
                    data["error"]
                        .as_str()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
                _ => {}
            }
        }
        shown = events.len();
        let status = text(&state["execution"]["status"]);
        if status == "completed" || status == "failed" {
            let last = state["results"]
                .as_array()
                .and_then(|r| r.iter().rev().find(|r| r["status"] == "completed"))
                .map(|r| text(&r["output"]));
            println!(
                "\n{status}{}",
                state["execution"]["error"]
                    .as_str()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
            if let Some(output) = last {
                println!("\n{output}");
            }
            anyhow::ensure!(status == "completed", "the run failed");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Lists the user's schedules.
pub async fn schedules(api: &Api) -> anyhow::Result<()> {
    let all = api.call(Method::GET, "/schedules", None).await?;
    let rows: Vec<Vec<String>> = all
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            vec![
                text(&s["name"]),
                text(&s["frequency"]),
                text(&s["timezone"]),
                text(&s["nextRunAt"]),
                if s["active"] == true {
                    "on".into()
                } else {
                    "off".into()
                },
            ]
        })
        .collect();
    print_table(
        &["schedule", "frequency", "timezone", "next run", "state"],
        &rows,
    );
    Ok(())
}

/// `studio schedule create <assistant> --name N (--daily HH:MM | --weekly MON,WED@HH:MM |
/// --monthly DAY@HH:MM | --cron EXPR) [--tz ZONE] [--input k=v]...`
#[allow(clippy::print_stdout)]
pub async fn create_schedule(api: &Api, args: &[String]) -> anyhow::Result<()> {
    let mut args = args.iter();
    let assistant = args.next().context("name the assistant to schedule")?;
    let mut body = json!({ "timezone": "UTC" });
    let mut pairs = Vec::new();
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--name" => body["name"] = json!(value()?),
            "--tz" => body["timezone"] = json!(value()?),
            "--input" => pairs.push(value()?.clone()),
            "--daily" => {
                body["frequency"] = json!("daily");
                body["time"] = json!(value()?);
            }
            "--weekly" => {
                let (days, time) = value()?
                    .split_once('@')
                    .context("--weekly takes DAYS@HH:MM")?;
                body["frequency"] = json!("weekly");
                body["daysOfWeek"] = json!(days.split(',').collect::<Vec<_>>());
                body["time"] = json!(time);
            }
            "--monthly" => {
                let (day, time) = value()?
                    .split_once('@')
                    .context("--monthly takes DAY@HH:MM")?;
                body["frequency"] = json!("monthly");
                body["dayOfMonth"] = json!(day.parse::<i64>()?);
                body["time"] = json!(time);
            }
            "--cron" => {
                body["frequency"] = json!("custom");
                body["cron"] = json!(value()?);
            }
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    body["assistantId"] = json!(assistant_id(api, assistant).await?);
    body["inputs"] = Value::Object(inputs(&pairs)?);
    if body.get("name").is_none() {
        body["name"] = json!(assistant);
    }
    let created = api.call(Method::POST, "/schedules", Some(body)).await?;
    println!(
        "Scheduled {} — next run {}",
        text(&created["name"]),
        text(&created["nextRunAt"])
    );
    Ok(())
}
