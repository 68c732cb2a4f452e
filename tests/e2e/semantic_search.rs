//! The local stack's embedding model through the real functions: questions that share no
//! word with their passage find it in vector mode, past a decoy that shares the question's
//! words. The same files on a stack embedding by word hashing find the decoys instead.

use shared::data_api::Params;
use studio_local::embeddings;
use studio_tests::http::{ApiClient, env};
use studio_tests::private_stack::{PrivateStack, edited_template};
use uuid::Uuid;

/// (question, the passage that answers it, a decoy sharing the question's words only).
const CASES: &[(&str, &str, &str)] = &[
    (
        "Which insects help fruit trees produce a crop?",
        "Honey bees carry pollen between apple blossoms, so orchards set plenty of apples every autumn.",
        "Call the help desk to produce a new badge when yours is lost.",
    ),
    (
        "When do employees get their salary?",
        "Staff are paid on the final working day of each month by bank transfer.",
        "New employees collect a parking permit from reception.",
    ),
    (
        "What should I do if there is a fire?",
        "When the alarm rings, leave the building by the nearest exit and gather in the car park.",
        "If there is leftover cake, do share it in the kitchen.",
    ),
    (
        "How can I reset my forgotten password?",
        "To choose a new login secret, open the account page and follow the recovery link sent by email.",
        "My forgotten umbrella is still at the front desk.",
    ),
    (
        "Is it allowed to bring dogs into the office?",
        "Pets must stay at home; only guide animals may enter our workplace.",
        "Bring your own mug into the office kitchen to cut waste.",
    ),
    (
        "How many vacation days do workers receive per year?",
        "Each member of staff is entitled to twenty-five paid holidays annually, plus bank holidays.",
        "Workers receive a safety briefing on their first days.",
    ),
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Uploads each passage and decoy as a file of its own; returns the repository.
async fn upload_all(staff: &ApiClient) -> String {
    let repository = staff
        .repository(&format!("Handbook {}", Uuid::new_v4()))
        .await;
    let mut items = Vec::new();
    for (i, (_, passage, decoy)) in CASES.iter().enumerate() {
        items.push(
            staff
                .upload(&repository, &format!("passage-{i}.txt"), passage.as_bytes())
                .await,
        );
        items.push(
            staff
                .upload(&repository, &format!("decoy-{i}.txt"), decoy.as_bytes())
                .await,
        );
    }
    for item in items {
        let settled = staff.settle(&item).await;
        assert_eq!(settled["status"], "completed", "{settled}");
    }
    repository
}

/// For each question, the file of its first hit in vector mode.
async fn first_hits(staff: &ApiClient, repository: &str) -> Vec<String> {
    let mut firsts = Vec::new();
    for (question, _, _) in CASES {
        let (status, body) = staff.search_in_mode(repository, question, "vector").await;
        assert_eq!(status, 200, "{body}");
        firsts.push(body[0]["itemName"].as_str().unwrap_or("").to_owned());
    }
    firsts
}

#[tokio::test]
async fn a_paraphrased_question_finds_its_passage_with_the_local_model_and_not_by_word_hashing() {
    for (question, passage, decoy) in CASES {
        let asked = words(question);
        assert!(
            words(passage).iter().all(|w| !asked.contains(w)),
            "{passage:?} shares no word with {question:?}"
        );
        assert!(words(decoy).iter().any(|w| asked.contains(w)));
    }
    let model = PrivateStack::start(
        &edited_template(|text| text),
        &embeddings::template_parameters(&env("STUDIO_EMBEDDINGS_URL")),
    )
    .await;
    let staff = model.staff().await;
    let repository = upload_all(&staff).await;
    let found = first_hits(&staff, &repository).await;
    #[derive(serde::Deserialize)]
    struct Stored {
        model: String,
    }
    let stored: Vec<String> = model
        .t
        .db
        .query::<Stored>("SELECT DISTINCT model FROM embeddings", Params::new())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.model)
        .collect();
    model.stop().await;

    // The test command's stack embeds by word hashing.
    let hashing = ApiClient::for_user("local-staff", "staff@example.com");
    let repository = upload_all(&hashing).await;
    let hashed = first_hits(&hashing, &repository).await;

    assert_eq!(stored, vec![embeddings::MODEL_ID.to_owned()]);
    for (i, (question, _, _)) in CASES.iter().enumerate() {
        assert_eq!(found[i], format!("passage-{i}.txt"), "{question}");
        assert_eq!(hashed[i], format!("decoy-{i}.txt"), "{question}");
    }
}
