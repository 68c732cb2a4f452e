//! Nothing is left stuck when a function dies: the tick's sweep fails items whose last
//! attempt died (and leaves those with attempts to go, or waiting for the next stage).

use chrono::{Duration as Span, Utc};
use shared::data_api::Params;
use shared::ingest::attempt::{self, Attempt};
use shared::knowledge::ObjectKey;
use uuid::Uuid;

use crate::file_processor::world;

/// An attempt on delivery `delivery` of 3 whose invocation ended a minute ago.
fn died(delivery: u32) -> Attempt {
    Attempt {
        deadline: Utc::now() - Span::minutes(1),
        delivery,
        max_deliveries: 3,
    }
}

const NOTE: &str = "# Field note\n\nThe barn owls nested in the north loft again this spring.\n";

#[tokio::test]
async fn the_sweep_fails_items_whose_last_attempt_died_and_leaves_those_with_a_future() {
    let w = world().await;
    let db = &w.t.db;
    let (last, early, waiting, late) = (
        w.upload("last.md", NOTE.as_bytes()).await,
        w.upload("early.md", NOTE.as_bytes()).await,
        w.upload("waiting.md", NOTE.as_bytes()).await,
        w.upload("late.md", NOTE.as_bytes()).await,
    );
    // The file-processor took `last` on its third and last delivery, `early` and `late`
    // on their first, and died (nothing after the claim ran).
    for (item, delivery) in [(&last, 3), (&early, 1), (&late, 1)] {
        shared::ingest::claim(db, item.id, None, &died(delivery))
            .await
            .unwrap()
            .unwrap();
    }
    // `waiting` was processed on its last delivery and waits for the embedding-generator.
    let key = ObjectKey::parse(&waiting.source).unwrap();
    w.pipeline().process_object(&key, &died(3)).await.unwrap();

    let swept = attempt::sweep(db, Utc::now()).await.unwrap();
    assert_eq!(
        swept.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![last.id]
    );
    let failed = w.item(last.id).await;
    assert_eq!(failed.status, "failed");
    let reason = failed.error.unwrap();
    assert!(
        reason.starts_with(
            "Processing stopped before it finished on each of its 3 attempts (the file-processor ran out \
             of time or memory, or crashed); the last attempt began at "
        ) && reason.ends_with(" UTC."),
        "{reason}"
    );
    assert_eq!(w.item(early.id).await.status, "processing");
    assert_eq!(w.item(waiting.id).await.status, "embedding");

    // SQS delivers `early` again: the redelivered claim of a processing item goes on.
    let key = ObjectKey::parse(&early.source).unwrap();
    w.pipeline().process_object(&key, &died(2)).await.unwrap();
    assert_eq!(w.item(early.id).await.status, "embedding");

    // Twelve hours on, `late`'s message is certainly gone; waiting items are not touched.
    let later = Utc::now() + Span::hours(13);
    let swept = attempt::sweep(db, later).await.unwrap();
    assert_eq!(
        swept.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![late.id]
    );
    assert!(
        swept[0]
            .reason
            .contains("was not tried again within 12 hours"),
        "{}",
        swept[0].reason
    );
    assert_eq!(w.item(waiting.id).await.status, "embedding");

    // The embedding-generator dies on the last delivery of `waiting`'s chunks.
    let chunks: Vec<Uuid> = chunk_ids(&w.t, waiting.id).await;
    attempt::begin_embedding(db, &[(&chunks, 3)], 3, Utc::now() - Span::minutes(1))
        .await
        .unwrap();
    attempt::sweep(db, Utc::now()).await.unwrap();
    let failed = w.item(waiting.id).await;
    assert_eq!(failed.status, "failed");
    assert!(
        failed.error.as_deref().unwrap().starts_with(
            "Embedding stopped before it finished on each of its 3 attempts (the embedding-generator"
        ),
        "{:?}",
        failed.error
    );
}

async fn chunk_ids(t: &studio_tests::TestDb, item: Uuid) -> Vec<Uuid> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: Uuid,
    }
    let rows: Vec<Id> =
        t.db.query(
            "SELECT id FROM chunks WHERE item_id = :item",
            Params::new().bind("item", item),
        )
        .await
        .unwrap();
    rows.into_iter().map(|r| r.id).collect()
}
