//! Hostile files through the running stack, as an attacker or an unlucky user would send
//! them: each upload ends `failed` with a reason a person can read (or, for NUL bytes,
//! `completed` without them), no file-processor sandbox dies on any of them (its log has no
//! crash, timeout or out-of-memory line),
//! and a normal file after them still completes. Crafted object keys and URL items aimed
//! inside the network are refused without touching anyone's items. (Another team's 403s: `through_the_stack`.)

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{Value, json};
use shared::extract::DocumentKind;
use studio_tests::build;
use studio_tests::http::{ApiClient, env};
use uuid::Uuid;

/// How many file-processor sandboxes have died so far: the lines the local Lambda writes
/// to the function's log when it kills one (crash, timeout, memory).
fn sandbox_deaths() -> usize {
    let log = std::path::Path::new(&env("STUDIO_STATE_DIR")).join("file-processor.log");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| {
            line.contains("Runtime exited with error") || line.contains("Task timed out after")
        })
        .count()
}

fn truncated_pdf() -> Vec<u8> {
    let pdf = build::pdf(&["one", "two", "three"]);
    pdf[..pdf.len() / 2].to_vec()
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut state = 0x853C_49E6_748F_EA9Bu64;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 56) as u8
        })
        .collect()
}

fn deep_html() -> Vec<u8> {
    format!(
        "{}deep{}",
        "<div>".repeat(100_000),
        "</div>".repeat(100_000)
    )
    .into_bytes()
}

async fn staff_and_repository() -> (ApiClient, String) {
    let staff = ApiClient::for_user("local-staff", "staff@example.com");
    let repository = staff
        .repository(&format!("Hostile {}", Uuid::new_v4()))
        .await;
    (staff, repository)
}

#[tokio::test]
async fn hostile_files_fail_with_a_reason_and_the_file_processor_survives_them() {
    let (staff, repository) = staff_and_repository().await;
    let deaths = sandbox_deaths();
    // (file name, bytes, words the reason must contain)
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.pdf", truncated_pdf(), "cut short"),
        (
            "locked.pdf",
            build::encrypted_pdf(&["secret plans"]),
            "encrypted",
        ),
        (
            "bomb.docx",
            build::zip_bomb(DocumentKind::Docx, 1 << 30),
            "zip bomb",
        ),
        (
            "bomb.xlsx",
            build::zip_bomb(DocumentKind::Xlsx, 1 << 30),
            "zip bomb",
        ),
        ("empty.txt", Vec::new(), "empty"),
        ("invoice.pdf", random_bytes(100_000), "not a PDF"),
        ("blank.pdf", build::pdf(&[""; 2000]), "without a text layer"),
        ("deep.html", deep_html(), "deep"),
        (
            "one-line.txt",
            "lorem ipsum ".repeat(50_000_000 / 12).into_bytes(),
            "characters",
        ),
    ];
    let mut items = Vec::new();
    for (name, bytes, expected) in &cases {
        items.push((
            *name,
            staff.upload(&repository, name, bytes).await,
            *expected,
        ));
    }
    let nul = staff
        .upload(
            &repository,
            "nul.txt",
            b"Tide tables\0 for the\0\0 outer harbour are posted weekly.",
        )
        .await;
    for (name, item, expected) in &items {
        let done = staff.settle(item).await;
        assert_eq!(done["status"], "failed", "{name}: {done}");
        let reason = done["error"].as_str().unwrap_or_default();
        assert!(
            reason.to_lowercase().contains(&expected.to_lowercase()),
            "{name}: {reason}"
        );
    }
    let nul = staff.settle(&nul).await;
    assert_eq!(nul["status"], "completed", "{nul}");
    let (_, hits) = staff.search(&repository, "outer harbour tide tables").await;
    assert!(
        !hits[0]["excerpt"].as_str().unwrap().contains('\0'),
        "{hits}"
    );

    let normal = staff
        .upload(
            &repository,
            "after.md",
            b"# After\n\nThe ferry leaves at seven.\n",
        )
        .await;
    assert_eq!(staff.settle(&normal).await["status"], "completed");
    assert_eq!(sandbox_deaths(), deaths, "a file-processor sandbox died");
}

#[tokio::test]
async fn object_keys_that_climb_out_of_their_item_are_refused_without_touching_other_items() {
    let (staff, repository) = staff_and_repository().await;
    let deaths = sandbox_deaths();
    // Created but never uploaded: a key that resolved to it would start processing it.
    let victim = staff.create_file(&repository, "notes.txt", 10).await;
    let victim_id = victim["item"]["id"].as_str().unwrap().to_owned();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&studio_local::account::local_sdk_config(&env(
            "AWS_ENDPOINT_URL_S3",
        )))
        .force_path_style(true)
        .build(),
    );
    for key in [
        "repositories/../x".to_owned(),
        format!("repositories/{repository}/%2e%2e/{victim_id}/notes.txt"),
        format!(
            "repositories/{repository}/{}/../{victim_id}/notes.txt",
            Uuid::new_v4()
        ),
        format!("repositories/{repository}/{victim_id}/%2e%2e/notes.txt"),
    ] {
        s3.put_object()
            .bucket(env("DOCUMENTS_BUCKET"))
            .key(&key)
            .body(ByteStream::from_static(b"Overwrite the victim's chunks."))
            .send()
            .await
            .unwrap();
    }
    // Queued after the crafted keys: once it is done, they have been seen.
    let normal = staff
        .upload(
            &repository,
            "after.txt",
            b"The lighthouse keeper retires in June.",
        )
        .await;
    assert_eq!(staff.settle(&normal).await["status"], "completed");
    let untouched = staff.item(&victim_id).await;
    assert_eq!(
        (
            untouched["status"].as_str(),
            untouched["chunkCount"].as_i64()
        ),
        (Some("pending"), Some(0)),
        "{untouched}"
    );
    assert_eq!(sandbox_deaths(), deaths, "a file-processor sandbox died");
}

#[tokio::test]
async fn url_items_aimed_inside_the_network_are_refused_with_the_reason() {
    let (staff, repository) = staff_and_repository().await;
    let loopback = format!("{}/repositories", env("STUDIO_API_URL"));
    for url in [loopback.as_str(), "http://169.254.169.254/latest/meta-data"] {
        let (status, created) = staff
            .post(
                &format!("/repositories/{repository}/items"),
                json!({"type": "url", "url": url}),
            )
            .await;
        let reason = if status == 200 {
            let item = created["data"]["item"]["id"].as_str().unwrap().to_owned();
            let done: Value = staff.settle(&item).await;
            assert_eq!(done["status"], "failed", "{url}: {done}");
            done["error"].as_str().unwrap_or_default().to_owned()
        } else {
            assert_eq!(status, 400, "{url}: {created}");
            created["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            reason.contains("private, loopback or link-local"),
            "{url}: {reason}"
        );
    }
}

/// Text that once kept a file-processor busy for minutes: one emoji repeated over 5 MB,
/// with no space, line or sentence end for a splitter to cut at.
fn five_megabytes_of_one_emoji() -> Vec<u8> {
    "🎉".repeat(5 << 20 >> 2).into_bytes()
}

#[tokio::test]
async fn a_pathological_upload_among_nine_normal_ones_holds_none_of_them_up() {
    let (staff, repository) = staff_and_repository().await;
    let deaths = sandbox_deaths();
    let pathological = staff
        .upload(&repository, "party.md", &five_megabytes_of_one_emoji())
        .await;
    let mut normal = Vec::new();
    for n in 0..9 {
        let text = format!(
            "# Notice {n}\n\nThe harbour office {n} opens at {} o'clock on weekdays.\n",
            7 + n
        );
        normal.push(
            staff
                .upload(&repository, &format!("notice-{n}.md"), text.as_bytes())
                .await,
        );
    }
    // Before, the emoji file alone kept the file-processor busy for more than ten minutes
    // and the files behind it waited; a minute is a liveness bound, not a speed measure.
    let limit = std::time::Duration::from_secs(60);
    let done = staff.settle_within(&pathological, limit).await;
    match done["status"].as_str() {
        Some("completed") => assert!(done["chunkCount"].as_i64().unwrap() >= 2_000, "{done}"),
        _ => assert!(
            done["error"]
                .as_str()
                .is_some_and(|reason| !reason.is_empty()),
            "{done}"
        ),
    }
    for item in &normal {
        let done = staff.settle_within(item, limit).await;
        assert_eq!(done["status"], "completed", "{done}");
    }
    let (_, hits) = staff
        .search(&repository, "when does harbour office 4 open")
        .await;
    assert!(
        hits.as_array()
            .unwrap()
            .iter()
            .any(|h| h["itemName"] == "notice-4.md"),
        "{hits}"
    );
    assert_eq!(sandbox_deaths(), deaths, "a file-processor sandbox died");
}

/// Files a user sent together once, that were still unfinished after 90 seconds behind a
/// slow one: each now ends, completed or failed with a reason, and a plain file after them
/// completes.
#[tokio::test]
async fn awkward_files_sent_together_all_end_and_a_plain_file_after_them_completes() {
    let (staff, repository) = staff_and_repository().await;
    let deaths = sandbox_deaths();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(
        "Ferry timetable: boats leave every hour.\n"
            .repeat(20_000)
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    let header: Vec<String> = (0..5_000).map(|c| format!("column{c}")).collect();
    let row: Vec<String> = (0..5_000).map(|c| format!("{}", c * 7)).collect();
    let wide_csv = format!(
        "{}\n{}\n{}\n",
        header.join(","),
        row.join(","),
        row.join(",")
    );
    let attributes = format!(
        "<html><body><p title=\"{}\" data-x=\"{}\">The lighthouse is open on Sundays.</p></body></html>",
        "a".repeat(3_000_000),
        "é".repeat(1_000_000)
    );
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("timetable.txt", utf16),
        ("wide.csv", wide_csv.into_bytes()),
        ("attributes.html", attributes.into_bytes()),
        ("punctuation.txt", ".!?".repeat(1_500_000).into_bytes()),
        (
            "marks.txt",
            format!("Z{}", "\u{0301}".repeat(1_000_000)).into_bytes(),
        ),
    ];
    let mut items = Vec::new();
    for (name, bytes) in &files {
        items.push((*name, staff.upload(&repository, name, bytes).await));
    }
    let plain = staff
        .upload(
            &repository,
            "plain.txt",
            b"The harbour master retires in June.",
        )
        .await;
    let limit = std::time::Duration::from_secs(60);
    for (name, item) in &items {
        let done = staff.settle_within(item, limit).await;
        let failed_with_reason = done["status"] == "failed"
            && done["error"]
                .as_str()
                .is_some_and(|reason| !reason.is_empty());
        assert!(
            done["status"] == "completed" || failed_with_reason,
            "{name}: {done}"
        );
    }
    assert_eq!(
        staff.settle_within(&plain, limit).await["status"],
        "completed"
    );
    assert_eq!(sandbox_deaths(), deaths, "a file-processor sandbox died");
}
