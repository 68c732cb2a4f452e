//! Adding many items at once, as `studio ingest` does: one request per 100 items, each
//! entry either ready to upload or refused with its reason, and the CLI itself run against
//! the running stack.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;
use studio_tests::http::{ApiClient, env};
use uuid::Uuid;

fn staff() -> ApiClient {
    ApiClient::for_user("local-staff", "staff@example.com")
}

#[tokio::test]
async fn a_batch_adds_the_valid_items_and_says_why_each_other_one_was_refused() {
    let staff = staff();
    let repository = staff.repository(&format!("Batch {}", Uuid::new_v4())).await;
    let (status, created) = staff
        .post(
            &format!("/repositories/{repository}/items"),
            json!({"items": [
                {"type": "file", "fileName": "minutes.md", "sizeBytes": 120},
                {"type": "file", "fileName": "empty.txt", "sizeBytes": 0},
                {"type": "file", "fileName": "huge.pdf", "sizeBytes": 60_000_000},
                {"type": "text", "name": "Note", "text": "The boiler is serviced every March."},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let entries = created["data"]["items"].as_array().unwrap();
    assert_eq!(entries.len(), 4, "{created}");
    assert!(
        entries[0]["upload"]["url"]
            .as_str()
            .unwrap()
            .contains("minutes.md"),
        "{created}"
    );
    assert_eq!(entries[0]["item"]["status"], "pending");
    assert!(
        entries[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("empty"),
        "{created}"
    );
    assert!(
        entries[2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the limit is"),
        "{created}"
    );
    assert!(entries[2].get("item").is_none());
    let note = entries[3]["item"]["id"].as_str().unwrap();
    assert_eq!(staff.settle(note).await["status"], "completed");

    // Only the two accepted items exist.
    let (_, listed) = staff
        .get(&format!("/repositories/{repository}/items"))
        .await;
    let mut names: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Note", "minutes.md"]);

    // Too many at once, or someone else's repository: refused whole, nothing added.
    let many: Vec<_> = (0..101)
        .map(|i| json!({"type": "file", "fileName": format!("f{i}.txt"), "sizeBytes": 5}))
        .collect();
    let (status, refused) = staff
        .post(
            &format!("/repositories/{repository}/items"),
            json!({ "items": many }),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 to 100"),
        "{refused}"
    );
    let outsider = ApiClient::for_user(
        &format!("outsider-{}", Uuid::new_v4()),
        &format!("outsider-{}@elsewhere.example", Uuid::new_v4().simple()),
    );
    let (status, refused) = outsider
        .post(
            &format!("/repositories/{repository}/items"),
            json!({"items": [{"type": "text", "name": "Spam", "text": "Buy now"}]}),
        )
        .await;
    assert!(status == 403 || status == 404, "{status} {refused}");
    let (_, listed) = staff
        .get(&format!("/repositories/{repository}/items"))
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
}

/// The `studio` binary beside this test binary (target/debug).
fn studio() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("studio")
}

#[tokio::test]
async fn studio_ingest_uploads_a_folder_follows_every_file_and_reports_each_end() {
    let marker = Uuid::new_v4().simple().to_string();
    let folder = std::env::temp_dir().join(format!("studio-ingest-{marker}"));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("harbour.md"),
        format!("# Harbour\n\nThe harbour master {marker} opens the lock at six.\n"),
    )
    .unwrap();
    std::fs::write(
        folder.join("ferries.csv"),
        "route,departures\nnorth,4\nsouth,6\n",
    )
    .unwrap();
    std::fs::write(folder.join("empty.txt"), b"").unwrap();
    let repository = format!("CLI {marker}");
    let state_dir = PathBuf::from(env("STUDIO_DEV_KEY_FILE"))
        .parent()
        .unwrap()
        .to_owned();
    let run = |args: &[&str]| {
        Command::new(studio())
            .args(args)
            .args(["--repo", &repository, "--state-dir"])
            .arg(&state_dir)
            .output()
            .unwrap()
    };

    let ingested = run(&["ingest", folder.to_str().unwrap()]);
    std::fs::remove_dir_all(&folder).unwrap();
    let out = String::from_utf8_lossy(&ingested.stdout);
    let err = String::from_utf8_lossy(&ingested.stderr);
    // One file was refused, so the command says so and fails.
    assert!(!ingested.status.success(), "{out}\n{err}");
    assert!(err.contains("did not complete"), "{err}");
    let row = |file: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(file))
            .unwrap_or_else(|| panic!("no row for {file} in\n{out}"))
            .to_owned()
    };
    assert!(row("harbour.md").contains("completed"), "{out}");
    assert!(row("ferries.csv").contains("completed"), "{out}");
    let empty = row("empty.txt");
    assert!(
        empty.contains("refused") && empty.contains("empty"),
        "{out}"
    );
    // Progress lines as each file moved on.
    assert!(out.contains("harbour.md: completed"), "{out}");

    let searched = run(&["search", &format!("harbour master {marker}")]);
    let hits = String::from_utf8_lossy(&searched.stdout);
    assert!(searched.status.success(), "{hits}");
    assert!(
        hits.lines()
            .next()
            .unwrap_or_default()
            .contains("harbour.md"),
        "{hits}"
    );

    // Without --repo, every repository the user can read is searched, and the passage says
    // which one it came from.
    let everywhere = Command::new(studio())
        .args(["search", "harbour", "master", &marker, "--state-dir"])
        .arg(&state_dir)
        .output()
        .unwrap();
    let hits = String::from_utf8_lossy(&everywhere.stdout);
    assert!(
        everywhere.status.success(),
        "{hits}\n{}",
        String::from_utf8_lossy(&everywhere.stderr)
    );
    let first = hits.lines().next().unwrap_or_default();
    assert!(
        first.contains("harbour.md") && first.contains(&format!("in {repository}")),
        "{hits}"
    );
}
