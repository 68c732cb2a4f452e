//! Assistant architects on the real schema: who builds, sees, runs and reviews them, and
//! the definitions that are refused.

use serde_json::{Value, json};
use shared::ErrorCode;
use shared::assistant::{self, Definition, Patch, Status};
use shared::data_api::Params;
use studio_tests::TestDb;
use uuid::Uuid;

/// An active model to point prompts at.
pub async fn model(t: &TestDb) -> Uuid {
    #[derive(serde::Deserialize)]
    struct Id {
        id: Uuid,
    }
    let row: Id = t
        .db
        .query_one(
            "INSERT INTO ai_models (provider, model_id, name) VALUES ('offline', :m, 'Echo') RETURNING id",
            Params::new().bind("m", format!("echo-{}", Uuid::new_v4())),
        )
        .await
        .unwrap();
    row.id
}

/// A two-prompt chain with a required topic and a tone select.
pub fn chain(model: Uuid) -> Value {
    json!({
        "name": "Weekly digest",
        "description": "Summarises a topic",
        "inputFields": [
            {"name": "topic", "label": "Topic", "type": "short_text", "required": true},
            {"name": "tone", "type": "select", "options": [{"label": "Formal", "value": "formal"}, {"label": "Casual", "value": "casual"}]}
        ],
        "prompts": [
            {"name": "Outline", "content": "Outline {{topic}} in a {{tone}} tone", "modelId": model},
            {"name": "Draft", "content": "Write from {{Outline}} and {{prompt_1.output}}", "modelId": model, "timeoutSeconds": 60}
        ]
    })
}

pub fn definition(value: Value) -> Definition {
    serde_json::from_value(value).unwrap()
}

#[tokio::test]
async fn others_see_and_run_an_assistant_only_once_an_administrator_approved_it() {
    let t = TestDb::migrated().await;
    let (ours, theirs, admins) = (t.team().await, t.team().await, t.team().await);
    let owner = t.member("a-owner", "staff", ours).await;
    let teammate = t.member("a-student", "student", ours).await;
    let outsider = t.member("a-outsider", "staff", theirs).await;
    let admin = t.member("a-admin", "administrator", admins).await;
    let model = model(&t).await;

    let created = assistant::create(&t.db, &owner, &definition(chain(model)))
        .await
        .unwrap();
    assert_eq!(created.status, Status::Draft);
    assert_eq!(created.team_id, ours);
    assert_eq!(created.input_fields.len(), 2);
    assert_eq!(
        created
            .prompts
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Outline", "Draft"]
    );
    assert_eq!(created.prompts[1].timeout_seconds, 60);
    let id = created.id;
    assert!(
        assistant::get_runnable(&t.db, &owner, id).await.is_ok(),
        "the owner tries a draft"
    );

    // A draft: invisible to the team, to other teams; a student cannot build one.
    for caller in [&teammate, &outsider] {
        let refused = assistant::get(&t.db, caller, id).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::Forbidden);
        let refused = assistant::get_runnable(&t.db, caller, id)
            .await
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::Forbidden);
        assert!(assistant::list(&t.db, caller).await.unwrap().is_empty());
    }
    let refused = assistant::get_runnable(&t.db, &teammate, id)
        .await
        .unwrap_err();
    assert!(refused.message.contains("draft"), "{}", refused.message);
    let refused = assistant::create(&t.db, &teammate, &definition(chain(model)))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);

    // Only administrators approve: not the student, not the owner.
    for caller in [&teammate, &owner] {
        let refused = assistant::change_status(&t.db, caller, id, Status::Approved, None)
            .await
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::Forbidden, "{}", refused.message);
    }
    let early = assistant::change_status(&t.db, &admin, id, Status::Approved, None)
        .await
        .unwrap_err();
    assert_eq!(
        early.code,
        ErrorCode::Conflict,
        "a draft is submitted first"
    );
    let submitted = assistant::change_status(&t.db, &owner, id, Status::PendingApproval, None)
        .await
        .unwrap();
    assert_eq!(submitted.status, Status::PendingApproval);
    let pending = assistant::list(&t.db, &admin).await.unwrap();
    assert!(
        pending.iter().any(|a| a.id == id),
        "administrators see the queue"
    );
    let approved = assistant::change_status(&t.db, &admin, id, Status::Approved, Some("Fine"))
        .await
        .unwrap();
    assert_eq!(approved.status, Status::Approved);
    assert_eq!(approved.review_note.as_deref(), Some("Fine"));
    assert!(approved.reviewed_at.is_some());

    // Approved: the team sees and runs it; the other team still does not.
    assert_eq!(
        assistant::get(&t.db, &teammate, id)
            .await
            .unwrap()
            .prompts
            .len(),
        2
    );
    assert!(assistant::get_runnable(&t.db, &teammate, id).await.is_ok());
    assert_eq!(assistant::list(&t.db, &teammate).await.unwrap().len(), 1);
    assert_eq!(
        assistant::get_runnable(&t.db, &outsider, id)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assert!(assistant::list(&t.db, &outsider).await.unwrap().is_empty());
    assert_eq!(
        assistant::update(&t.db, &teammate, id, &Patch::default())
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );

    // The owner's edit sends it back to draft, out of the team's sight.
    let patch = Patch {
        name: Some("Daily digest".into()),
        ..Patch::default()
    };
    let edited = assistant::update(&t.db, &owner, id, &patch).await.unwrap();
    assert_eq!(
        (edited.name.as_str(), edited.status),
        ("Daily digest", Status::Draft)
    );
    assert_eq!(edited.prompts.len(), 2, "prompts kept");
    assert_eq!(
        assistant::get_runnable(&t.db, &teammate, id)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );

    // Rejection needs a reason; disabling stops even the owner.
    assistant::change_status(&t.db, &owner, id, Status::PendingApproval, None)
        .await
        .unwrap();
    let no_reason = assistant::change_status(&t.db, &admin, id, Status::Rejected, None)
        .await
        .unwrap_err();
    assert_eq!(no_reason.code, ErrorCode::Validation);
    let rejected = assistant::change_status(&t.db, &admin, id, Status::Rejected, Some("Too vague"))
        .await
        .unwrap();
    assert_eq!(rejected.status, Status::Rejected);
    assistant::change_status(&t.db, &owner, id, Status::PendingApproval, None)
        .await
        .unwrap();
    assistant::change_status(&t.db, &admin, id, Status::Approved, None)
        .await
        .unwrap();
    assistant::change_status(&t.db, &owner, id, Status::Disabled, None)
        .await
        .unwrap();
    let disabled = assistant::get_runnable(&t.db, &owner, id)
        .await
        .unwrap_err();
    assert!(
        disabled.message.contains("disabled"),
        "{}",
        disabled.message
    );

    assert_eq!(
        assistant::delete(&t.db, &teammate, id)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assistant::delete(&t.db, &owner, id).await.unwrap();
    assert_eq!(
        assistant::get(&t.db, &owner, id).await.unwrap_err().code,
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn definitions_that_cannot_run_are_refused_with_readable_messages() {
    let t = TestDb::migrated().await;
    let (ours, theirs) = (t.team().await, t.team().await);
    let owner = t.member("d-owner", "staff", ours).await;
    let outsider = t.member("d-outsider", "staff", theirs).await;
    let model = model(&t).await;
    let private = shared::knowledge::repositories::create(
        &t.db,
        &outsider,
        &shared::knowledge::NewRepository {
            name: "Theirs".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let prompt =
        |name: &str, content: &str| json!({"name": name, "content": content, "modelId": model});
    let many: Vec<Value> = (1..=21).map(|n| prompt(&format!("P{n}"), "x")).collect();
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str)> = vec![
        ("21 prompts", json!(many), "at most 20 prompts; this one has 21"),
        ("no prompts", json!([]), "at least one prompt"),
        ("duplicate names", json!([prompt("A", "x"), prompt("a", "y")]), "Two prompts are named \"a\""),
        ("unknown variable", json!([prompt("A", "Hi {{nobody}}")]), "uses {{nobody}}, but it is neither an input field nor a prompt"),
        ("later prompt by number", json!([prompt("A", "{{prompt_2.output}}"), prompt("B", "x")]), "this prompt or a later one"),
        ("later prompt by name", json!([prompt("A", "{{B}}"), prompt("B", "x")]), "this prompt or a later one"),
        ("same parallel group", json!([
            {"name": "A", "content": "x", "modelId": model, "parallelGroup": 1},
            {"name": "B", "content": "{{A}}", "modelId": model, "parallelGroup": 1}]), "same parallel group"),
        ("no model", json!([{"name": "A", "content": "x"}]), "needs a model"),
        ("unknown model", json!([{"name": "A", "content": "x", "modelId": Uuid::new_v4()}]), "There is no model"),
        ("unknown tool", json!([{"name": "A", "content": "x", "modelId": model, "enabledTools": ["teleport"]}]), "There is no tool \"teleport\""),
        ("timeout", json!([{"name": "A", "content": "x", "modelId": model, "timeoutSeconds": 601}]), "timeout is 1 to 600 seconds"),
        ("another team's repository", json!([{"name": "A", "content": "x", "modelId": model, "repositoryIds": [private.id]}]), "no access to this repository"),
    ];
    let mut failures = Vec::new();
    for (case, prompts, expected) in cases {
        let mut value = chain(model);
        value["prompts"] = prompts;
        match assistant::create(&t.db, &owner, &definition(value)).await {
            Ok(_) => failures.push(format!("{case}: accepted")),
            Err(e) if !e.message.contains(expected) => {
                failures.push(format!("{case}: {:?} lacks {expected:?}", e.message));
            }
            Err(_) => {}
        }
    }
    let mut select = chain(model);
    select["inputFields"][1]["options"] = json!(null);
    let refused = assistant::create(&t.db, &owner, &definition(select))
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("needs options"),
        "{}",
        refused.message
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let stored: Vec<Value> =
        t.db.query("SELECT id FROM assistant_architects", Params::new())
            .await
            .unwrap();
    assert!(stored.is_empty(), "nothing refused was stored");
}

#[test]
fn run_inputs_are_checked_against_the_fields() {
    let fields = definition(chain(Uuid::nil())).input_fields;
    let ok = [
        json!({"topic": "Solar"}),
        json!({"topic": "Solar", "tone": "formal"}),
        json!({"topic": "Solar", "tone": null}),
    ];
    for inputs in ok {
        assert!(
            assistant::validate_inputs(&fields, &inputs).is_ok(),
            "{inputs}"
        );
    }
    let refused = [
        (json!({}), "Input \"topic\" is required"),
        (json!({"topic": "  "}), "Input \"topic\" is required"),
        (json!({"topic": 3}), "Input \"topic\" must be text"),
        (
            json!({"topic": "x", "tone": "angry"}),
            "must be one of its options",
        ),
        (
            json!({"topic": "x", "colour": "red"}),
            "\"colour\" is not an input",
        ),
        (json!(["topic"]), "must be a JSON object"),
    ];
    for (inputs, expected) in refused {
        let error = assistant::validate_inputs(&fields, &inputs).unwrap_err();
        assert!(
            error.message.contains(expected),
            "{inputs}: {}",
            error.message
        );
    }
    let huge = json!({"topic": "x".repeat(200_000)});
    assert_eq!(
        assistant::validate_inputs(&fields, &huge).unwrap_err().code,
        ErrorCode::TooLarge
    );
}
