//! `studio assistants`, `run`, `schedules` and `schedule create`: the assistant verbs over
//! the running stack's HTTP API.

use std::time::Duration;

use anyhow::Context;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::cli::args::CreateSchedule;
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

/// `key=value` pairs as a JSON object.
fn inputs(pairs: &[(String, String)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(key, value)| (key.trim().to_owned(), json!(value)))
        .collect()
}

/// Runs an assistant and shows each prompt as it finishes, then the final output.
#[allow(clippy::print_stdout)]
pub async fn run(api: &Api, name: &str, pairs: &[(String, String)]) -> anyhow::Result<()> {
    let id = assistant_id(api, name).await?;
    let queued = api
        .call(
            Method::POST,
            &format!("/assistants/{id}/executions"),
            Some(json!({ "inputs": inputs(pairs) })),
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

/// Schedules an assistant (by name or id) as `create` says.
#[allow(clippy::print_stdout)]
pub async fn create_schedule(api: &Api, create: &CreateSchedule) -> anyhow::Result<()> {
    let mut body = json!({
        "assistantId": assistant_id(api, &create.assistant).await?,
        "name": create.name.as_deref().unwrap_or(&create.assistant),
        "timezone": create.tz,
        "inputs": inputs(&create.input),
    });
    let recurrence = &create.recurrence;
    if let Some(time) = &recurrence.daily {
        body["frequency"] = json!("daily");
        body["time"] = json!(time);
    } else if let Some((days, time)) = &recurrence.weekly {
        body["frequency"] = json!("weekly");
        body["daysOfWeek"] = json!(days);
        body["time"] = json!(time);
    } else if let Some((day, time)) = &recurrence.monthly {
        body["frequency"] = json!("monthly");
        body["dayOfMonth"] = json!(day);
        body["time"] = json!(time);
    } else if let Some(cron) = &recurrence.cron {
        body["frequency"] = json!("custom");
        body["cron"] = json!(cron);
    }
    let created = api.call(Method::POST, "/schedules", Some(body)).await?;
    println!(
        "Scheduled {} — next run {}",
        text(&created["name"]),
        text(&created["nextRunAt"])
    );
    Ok(())
}
