//! Nothing stuck, nothing lost, on functions of the test's own (see
//! `studio_tests::private_stack`: its Data API fault switch and its queues are this test's
//! alone, so turning faults on disturbs no other test running at the same time).
//!
//! With a fifth of all Data API calls failing, fifty uploads all end `completed` with every
//! chunk stored and embedded once; the same S3 notification delivered twice more changes
//! nothing; and a poison message (an object archived to Glacier: S3 refuses to read it on
//! every delivery) ends in the DLQ after maxReceiveCount with its item `failed` and the
//! reason, while the messages delivered with it complete.

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::StorageClass;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;
use studio_tests::private_stack::{PrivateStack, template_with_visibility};

const DOCUMENTS: usize = 50;

/// Document `i`: a few paragraphs in one of the text formats, unique to it.
fn document(i: usize) -> (String, Vec<u8>) {
    let paragraph = |n: usize| {
        format!(
            "Ledger {i} entry {n}: the harbour office logged {} crates of copper wire and {} \
             barrels of lamp oil for the northern depot, signed by clerk number {}.",
            i * 7 + n,
            i * 3 + n,
            1000 + i
        )
    };
    let paragraphs: Vec<String> = (0..1 + i % 12).map(paragraph).collect();
    match i % 4 {
        0 => (
            format!("ledger-{i}.txt"),
            paragraphs.join("\n\n").into_bytes(),
        ),
        1 => (
            format!("ledger-{i}.md"),
            format!("# Ledger {i}\n\n{}", paragraphs.join("\n\n")).into_bytes(),
        ),
        2 => (
            format!("ledger-{i}.csv"),
            std::iter::once("entry,note".to_owned())
                .chain(
                    paragraphs
                        .iter()
                        .enumerate()
                        .map(|(n, p)| format!("{n},\"{p}\"")),
                )
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
        ),
        _ => (
            format!("ledger-{i}.html"),
            format!(
                "<html><body><main><h1>Ledger {i}</h1>{}</main></body></html>",
                paragraphs
                    .iter()
                    .map(|p| format!("<p>{p}</p>"))
                    .collect::<String>()
            )
            .into_bytes(),
        ),
    }
}

/// The S3 notification of `events/file-processor/s3-notification.json` (recorded from S3)
/// for `key`, as the bucket sends it to the queue.
fn notification_body(key: &str) -> String {
    let fixture: Value = serde_json::from_str(include_str!(
        "../../events/file-processor/s3-notification.json"
    ))
    .unwrap();
    fixture["Records"][0]["body"]
        .as_str()
        .unwrap()
        .replace("OBJECT_KEY", key)
}

/// Waits until neither of the stack's work queues holds a message, visible or in flight.
async fn drained(stack: &PrivateStack, limit: Duration) {
    let started = Instant::now();
    let mut quiet_polls = 0;
    while quiet_polls < 3 {
        let mut waiting = 0;
        for name in ["file-processing", "embedding"] {
            let attributes = stack
                .sqs
                .get_queue_attributes()
                .queue_url(stack.queue(name).0)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .unwrap()
                .attributes
                .unwrap_or_default();
            waiting += attributes
                .values()
                .map(|v| v.parse::<u64>().unwrap_or(0))
                .sum::<u64>();
        }
        quiet_polls = if waiting == 0 { quiet_polls + 1 } else { 0 };
        assert!(started.elapsed() < limit, "the queues did not drain");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn through_a_20_percent_fault_rate_nothing_is_stuck_lost_or_duplicated_and_poison_goes_to_the_dlq()
 {
    let stack = PrivateStack::start(&template_with_visibility(10), &[]).await;
    let staff = stack.staff().await;
    let repository = staff.repository("Harbour ledgers").await;
    stack.t.server.set_fault_rate(0.2);

    // The poison first, so it is delivered in a batch with healthy uploads.
    let poison = staff.create_file(&repository, "archived.txt", 64).await;
    let poison_key = poison["item"]["source"].as_str().unwrap().to_owned();
    stack
        .s3
        .put_object()
        .bucket(&stack.resources.bucket)
        .key(&poison_key)
        .storage_class(StorageClass::Glacier)
        .body(ByteStream::from_static(b"Archived before anyone read it."))
        .send()
        .await
        .unwrap();
    let poison = poison["item"]["id"].as_str().unwrap().to_owned();

    let mut items = Vec::new();
    for i in 0..DOCUMENTS {
        let (name, bytes) = document(i);
        items.push((name.clone(), staff.upload(&repository, &name, &bytes).await));
    }
    for (name, item) in &items {
        let done = staff.settle_within(item, Duration::from_secs(150)).await;
        assert_eq!(done["status"], "completed", "{name}: {done}");
        assert!(done["chunkCount"].as_i64().unwrap() > 0, "{name}: {done}");
        assert_eq!(done["chunkCount"], done["embeddedCount"], "{name}: {done}");
    }

    let failed = staff.settle_within(&poison, Duration::from_secs(120)).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let reason = failed["error"].as_str().unwrap_or_default();
    assert!(reason.contains("archived"), "{reason}");
    let (_, dlq) = stack.queue("file-processing");
    let started = Instant::now();
    let dead = loop {
        let bodies = stack.receive_all(dlq).await;
        if !bodies.is_empty() {
            break bodies;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing reached the DLQ"
        );
    };
    assert_eq!(dead.len(), 1, "only the poison is dead: {dead:?}");
    assert!(dead[0].contains(&poison), "{}", dead[0]);

    // The same notification twice more, still under faults: nothing changes.
    let db = stack.t.postgres().await;
    let counts = "SELECT (SELECT count(*) FROM chunks) AS chunks, (SELECT count(*) FROM embeddings) AS vectors";
    let before = db.query_one(counts, &[]).await.unwrap();
    let key = format!("repositories/{repository}/{}/{}", items[1].1, items[1].0);
    for _ in 0..2 {
        stack
            .sqs
            .send_message()
            .queue_url(stack.queue("file-processing").0)
            .message_body(notification_body(&key))
            .send()
            .await
            .unwrap();
    }
    drained(&stack, Duration::from_secs(90)).await;
    let after = db.query_one(counts, &[]).await.unwrap();
    let pair = |row: &tokio_postgres::Row| (row.get::<_, i64>(0), row.get::<_, i64>(1));
    assert_eq!(
        pair(&after),
        pair(&before),
        "a redelivery changed the chunks"
    );
    assert_eq!(staff.item(&items[1].1).await["status"], "completed");

    let duplicates = db
        .query(
            "SELECT item_id, content_hash, count(*) FROM chunks GROUP BY 1, 2 HAVING count(*) > 1",
            &[],
        )
        .await
        .unwrap();
    assert!(
        duplicates.is_empty(),
        "{} duplicated chunks",
        duplicates.len()
    );
    let uneven = db
        .query(
            "SELECT i.id FROM repository_items i
             WHERE i.status = 'completed' AND (
                 i.chunk_count <> (SELECT count(*) FROM chunks c WHERE c.item_id = i.id)
              OR i.embedded_count <> (SELECT count(*) FROM chunks c JOIN embeddings e ON e.chunk_id = c.id
                                      WHERE c.item_id = i.id))",
            &[],
        )
        .await
        .unwrap();
    assert!(
        uneven.is_empty(),
        "{} items whose counts are not their rows",
        uneven.len()
    );
    let attempts = db
        .query_one(
            "SELECT attempts FROM repository_items WHERE id = $1",
            &[&poison.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(
        attempts.get::<_, i32>(0),
        3,
        "the poison was tried maxReceiveCount times before it was marked failed"
    );
    assert!(stack.t.server.faults() > 20, "the fault switch was on");
    assert!(
        pair(&after).0 == pair(&after).1 && pair(&after).0 >= DOCUMENTS as i64,
        "{:?}",
        pair(&after)
    );
    stack.stop().await;
}
