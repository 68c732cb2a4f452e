//! The pipeline's database side on the real schema: chunks stored once per document,
//! embedded once per model, items completed when counts match, hybrid search that cites
//! the right item and page, and few Data API calls per thousand chunks.

use serde::Deserialize;
use shared::ErrorCode;
use shared::auth::Caller;
use shared::data_api::Params;
use shared::embed::embed_chunks;
use shared::ingest::{self, NewChunk, Stored};
use shared::knowledge::{Item, NewItem, NewRepository, items, repositories};
use shared::ports::embed::Embedder;
use shared::providers::offline::HashingEmbedder;
use shared::search::{self, Mode};
use studio_tests::TestDb;
use uuid::Uuid;

pub(crate) async fn staff_in_new_team(t: &TestDb, sub: &str) -> Caller {
    let team = t.team().await;
    t.member(sub, "staff", team).await
}

pub(crate) fn chunk(text: &str, page: i32, headings: &[&str]) -> NewChunk {
    NewChunk {
        content: text.to_owned(),
        page_start: Some(page),
        page_end: Some(page),
        heading_path: headings.iter().map(|h| (*h).to_owned()).collect(),
        token_count: text.split_whitespace().count() as i32,
        content_hash: format!("{:x}", text.len()),
    }
}

pub(crate) async fn upload(t: &TestDb, caller: &Caller, repository: Uuid, name: &str) -> Item {
    let new = NewItem::File {
        file_name: name.to_owned(),
        content_type: None,
        size_bytes: 100,
    };
    items::create(&t.db, caller, repository, &new)
        .await
        .unwrap()
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

#[tokio::test]
async fn a_document_is_stored_once_embedded_once_and_found_by_its_own_sentence() {
    let t = TestDb::migrated().await;
    let owner = staff_in_new_team(&t, "owner@a.org").await;
    let repository = repositories::create(
        &t.db,
        &owner,
        &NewRepository {
            name: "Docs".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let embedder = HashingEmbedder::new(1024);

    let report = upload(&t, &owner, repository.id, "report.pdf").await;
    let manual = upload(&t, &owner, repository.id, "manual.docx").await;
    let report_chunks = vec![
        chunk(
            "Quarterly revenue grew by twelve percent in the northern region.",
            1,
            &["Results"],
        ),
        chunk(
            "Operating costs fell after the warehouse consolidation.",
            2,
            &["Results", "Costs"],
        ),
    ];
    let manual_chunks = vec![chunk(
        "To reset the device, hold the power button for ten seconds.",
        4,
        &["Troubleshooting"],
    )];
    for (item, chunks, hash) in [
        (&report, &report_chunks, "hash-report"),
        (&manual, &manual_chunks, "hash-manual"),
    ] {
        assert!(ingest::start_processing(&t.db, item.id).await.unwrap());
        let stored = ingest::store_chunks(&t.db, item.id, hash, Some(4), chunks)
            .await
            .unwrap();
        assert!(matches!(stored, Stored::Replaced { .. }));
        let done = embed_chunks(&t.db, &embedder, stored.chunk_ids())
            .await
            .unwrap();
        assert_eq!((done.embedded, done.skipped), (chunks.len(), 0));
        assert_eq!(done.items_completed, vec![item.id]);
    }
    let report_now = items::get(&t.db, &owner, report.id).await.unwrap();
    assert_eq!(
        (
            report_now.status.as_str(),
            report_now.chunk_count,
            report_now.embedded_count
        ),
        ("completed", 2, 2)
    );
    assert_eq!(report_now.page_count, Some(4));

    // A redelivered notification and a redelivered embedding message change nothing.
    let again = ingest::store_chunks(&t.db, report.id, "hash-report", Some(4), &report_chunks)
        .await
        .unwrap();
    assert!(
        matches!(again, Stored::Unchanged { ref chunk_ids, completed: true } if chunk_ids.len() == 2)
    );
    let repeat = embed_chunks(&t.db, &embedder, again.chunk_ids())
        .await
        .unwrap();
    assert_eq!((repeat.embedded, repeat.skipped), (0, 2));
    let counts: Count =
        t.db.query_one("SELECT count(*) AS n FROM chunks", Params::new())
            .await
            .unwrap();
    assert_eq!(counts.n, 3);
    let vectors: Count =
        t.db.query_one("SELECT count(*) AS n FROM embeddings", Params::new())
            .await
            .unwrap();
    assert_eq!(vectors.n, 3);

    for mode in [Mode::Hybrid, Mode::Vector, Mode::Keyword] {
        let hits = search::search(
            &t.db,
            &embedder,
            &owner,
            &[repository.id],
            "hold the power button to reset the device",
            mode,
            5,
        )
        .await
        .unwrap();
        assert_eq!(hits[0].item_name, "manual.docx", "{mode:?}");
        assert_eq!(
            (hits[0].page_start, hits[0].heading_path.clone()),
            (Some(4), vec!["Troubleshooting".to_owned()])
        );
        assert!(hits[0].excerpt.starts_with("To reset the device"));
    }
    let costs = search::search(
        &t.db,
        &embedder,
        &owner,
        &[repository.id],
        "warehouse operating costs",
        Mode::Hybrid,
        5,
    )
    .await
    .unwrap();
    assert_eq!(
        (costs[0].item_id, costs[0].page_start),
        (report.id, Some(2))
    );

    let outsider = staff_in_new_team(&t, "outsider@b.org").await;
    let denied = search::search(
        &t.db,
        &embedder,
        &outsider,
        &[repository.id],
        "revenue",
        Mode::Hybrid,
        5,
    )
    .await
    .unwrap_err();
    assert_eq!(denied.code, ErrorCode::Forbidden);
}

#[tokio::test]
async fn a_changed_document_replaces_its_chunks() {
    let t = TestDb::migrated().await;
    let owner = staff_in_new_team(&t, "owner@c.org").await;
    let repository = repositories::create(
        &t.db,
        &owner,
        &NewRepository {
            name: "R".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let item = upload(&t, &owner, repository.id, "notes.txt").await;
    let embedder = HashingEmbedder::new(1024);
    let first = ingest::store_chunks(&t.db, item.id, "v1", None, &[chunk("old text", 1, &[])])
        .await
        .unwrap();
    embed_chunks(&t.db, &embedder, first.chunk_ids())
        .await
        .unwrap();
    let second = ingest::store_chunks(
        &t.db,
        item.id,
        "v2",
        None,
        &[chunk("new text", 1, &[]), chunk("more", 1, &[])],
    )
    .await
    .unwrap();
    assert!(matches!(second, Stored::Replaced { .. }));
    let mid = items::get(&t.db, &owner, item.id).await.unwrap();
    assert_eq!(
        (mid.status.as_str(), mid.chunk_count, mid.embedded_count),
        ("embedding", 2, 0)
    );
    embed_chunks(&t.db, &embedder, second.chunk_ids())
        .await
        .unwrap();
    let done = items::get(&t.db, &owner, item.id).await.unwrap();
    assert_eq!(
        (done.status.as_str(), done.embedded_count),
        ("completed", 2)
    );
    let old: Count =
        t.db.query_one(
            "SELECT count(*) AS n FROM chunks WHERE content = 'old text'",
            Params::new(),
        )
        .await
        .unwrap();
    assert_eq!(old.n, 0);

    items::fail(&t.db, item.id, &"x".repeat(5000))
        .await
        .unwrap();
    let failed = items::get(&t.db, &owner, item.id).await.unwrap();
    assert_eq!(failed.status, "failed");
    assert!(failed.error.unwrap().len() <= 1003);
    assert!(
        ingest::store_chunks(&t.db, item.id, "v3", None, &[])
            .await
            .is_err(),
        "an empty document is refused"
    );
    assert!(
        !ingest::start_processing(&t.db, Uuid::new_v4())
            .await
            .unwrap(),
        "a deleted item is reported gone"
    );
}

#[tokio::test]
async fn a_thousand_chunks_are_stored_and_embedded_in_under_twenty_data_api_calls() {
    let t = TestDb::migrated().await;
    let owner = staff_in_new_team(&t, "owner@d.org").await;
    let repository = repositories::create(
        &t.db,
        &owner,
        &NewRepository {
            name: "Big".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let item = upload(&t, &owner, repository.id, "big.txt").await;
    let sentence =
        "The committee reviewed the annual budget, staffing plans and the roadmap for next year. ";
    let chunks: Vec<NewChunk> = (0..1000)
        .map(|i| {
            chunk(
                &format!("Chunk {i}. {}", sentence.repeat(20)),
                1 + i / 10,
                &["Minutes"],
            )
        })
        .collect();
    let embedder = HashingEmbedder::new(1024);
    let before = t.server.requests();
    let stored = ingest::store_chunks(&t.db, item.id, "big", Some(100), &chunks)
        .await
        .unwrap();
    // The file processor sends chunk ids in messages of 250.
    for ids in stored.chunk_ids().chunks(250) {
        embed_chunks(&t.db, &embedder, ids).await.unwrap();
    }
    let calls = t.server.requests() - before;
    assert!(calls <= 20, "{calls} Data API calls for 1,000 chunks");
    let done = items::get(&t.db, &owner, item.id).await.unwrap();
    assert_eq!(
        (done.status.as_str(), done.chunk_count, done.embedded_count),
        ("completed", 1000, 1000)
    );
    assert_eq!(embedder.dimensions(), 1024);
}

#[tokio::test]
async fn in_hybrid_search_a_chunk_with_the_query_words_beats_a_merely_near_one_at_equal_rank() {
    let t = TestDb::migrated().await;
    let owner = staff_in_new_team(&t, "owner@e.org").await;
    let repository = repositories::create(
        &t.db,
        &owner,
        &NewRepository {
            name: "Ties".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let embedder = HashingEmbedder::new(1024);
    // Stored but not embedded yet: only the keyword half can find it.
    let fresh = upload(&t, &owner, repository.id, "fresh.txt").await;
    ingest::store_chunks(
        &t.db,
        fresh.id,
        "fresh",
        None,
        &[chunk("Zephyrine marker quokka lighthouse.", 1, &[])],
    )
    .await
    .unwrap();
    // Embedded, without the query's words: only the vector half finds it.
    let other = upload(&t, &owner, repository.id, "other.txt").await;
    let stored = ingest::store_chunks(
        &t.db,
        other.id,
        "other",
        None,
        &[chunk("The harbour ledger was surveyed in winter.", 1, &[])],
    )
    .await
    .unwrap();
    embed_chunks(&t.db, &embedder, stored.chunk_ids())
        .await
        .unwrap();
    // Each is first of its list (equal fused scores); the largest id loses a tie by id.
    t.db.execute(
        "UPDATE chunks SET id = 'ffffffff-ffff-4fff-bfff-ffffffffffff' WHERE item_id = :item",
        Params::new().bind("item", fresh.id),
    )
    .await
    .unwrap();

    let hits = search::search(
        &t.db,
        &embedder,
        &owner,
        &[repository.id],
        "Zephyrine quokka lighthouse",
        Mode::Hybrid,
        5,
    )
    .await
    .unwrap();
    let names: Vec<&str> = hits.iter().map(|h| h.item_name.as_str()).collect();
    assert_eq!(names, ["fresh.txt", "other.txt"]);
    assert_eq!(hits[0].score, hits[1].score, "the fused scores tie");
}
