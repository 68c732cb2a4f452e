//! Keyword search on questions asked in plain words: any significant word may match,
//! ranked by how well the chunk matches; words most chunks hold are left out, as stop words
//! are, so that a question names what it is about and the search stays fast at scale.

use shared::data_api::Params;
use shared::ingest;
use shared::knowledge::{NewRepository, repositories};
use shared::providers::offline::HashingEmbedder;
use shared::search::{self, Mode};
use studio_tests::TestDb;

use super::ingest::{chunk, staff_in_new_team, upload};

#[tokio::test]
async fn keyword_search_answers_a_question_in_plain_words_ranking_the_chunk_with_more_of_them_first()
 {
    let t = TestDb::migrated().await;
    let owner = staff_in_new_team(&t, "reader@k.org").await;
    let repository = repositories::create(
        &t.db,
        &owner,
        &NewRepository {
            name: "Policies".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let passages = [
        (
            "leave.txt",
            "Employees accrue twenty days of paid annual leave, and unused days carry over to the next year.",
        ),
        (
            "travel.txt",
            "Travel must be booked through the portal; economy fares apply to flights under six hours.",
        ),
        (
            "parking.txt",
            "The parking garage opens at seven; days with events close it early.",
        ),
    ];
    for (name, text) in passages {
        let item = upload(&t, &owner, repository.id, name).await;
        ingest::store_chunks(&t.db, item.id, name, None, &[chunk(text, 1, &[])])
            .await
            .unwrap();
    }
    // With statistics, as autovacuum keeps them: a corpus this small keeps every word.
    t.db.execute("ANALYZE chunks", Params::new()).await.unwrap();
    // No passage holds every word of the question ("many", "holiday", "get", "each"…):
    // a search requiring all of them finds nothing.
    let hits = search::search(
        &t.db,
        &HashingEmbedder::new(1024),
        &owner,
        &[repository.id],
        "How many paid leave days do I get each year, and do unused ones carry over?",
        Mode::Keyword,
        5,
    )
    .await
    .unwrap();
    let names: Vec<&str> = hits.iter().map(|h| h.item_name.as_str()).collect();
    assert_eq!(names.first(), Some(&"leave.txt"), "{names:?}");
    assert!(
        names.contains(&"parking.txt"),
        "any word may match: {names:?}"
    );
    assert!(!names.contains(&"travel.txt"), "{names:?}");
}

#[tokio::test]
async fn a_word_thousands_of_chunks_hold_is_left_out_of_the_keyword_query_once_statistics_know_it()
{
    let t = TestDb::migrated().await;
    let owner = staff_in_new_team(&t, "clerk@k.org").await;
    let repository = repositories::create(
        &t.db,
        &owner,
        &NewRepository {
            name: "Handbook".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let item = upload(&t, &owner, repository.id, "handbook.txt").await;
    // Over the 5,000 chunks below which every word is kept.
    let mut chunks: Vec<_> = (0..5_200)
        .map(|i| {
            chunk(
                &format!("Handbook section {i} covers office routine number {i}."),
                1,
                &[],
            )
        })
        .collect();
    chunks.push(chunk(
        "Handbook section on tuition refunds for evening courses.",
        1,
        &[],
    ));
    ingest::store_chunks(&t.db, item.id, "handbook", None, &chunks)
        .await
        .unwrap();
    let embedder = HashingEmbedder::new(1024);
    let repositories = [repository.id];
    let search = || {
        search::search(
            &t.db,
            &embedder,
            &owner,
            &repositories,
            "handbook tuition",
            Mode::Keyword,
            50,
        )
    };
    // Before statistics exist every word counts: every chunk holds "handbook".
    assert_eq!(search().await.unwrap().len(), 50);

    t.db.execute("ANALYZE chunks", Params::new()).await.unwrap();
    let hits = search().await.unwrap();
    assert_eq!(hits.len(), 1, "only the chunk about tuition: {hits:?}");
    assert!(hits[0].content.contains("tuition refunds"));

    // A question made only of common words still finds the chunks holding all of them.
    let common = search::search(
        &t.db,
        &HashingEmbedder::new(1024),
        &owner,
        &[repository.id],
        "handbook section",
        Mode::Keyword,
        50,
    )
    .await
    .unwrap();
    assert_eq!(common.len(), 50);
}
