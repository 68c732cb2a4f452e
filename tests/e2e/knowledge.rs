//! Identity and repository access through the domain layer on the real schema: team
//! isolation, role-granted tools, public repositories and grants, items and their keys.

use serde_json::json;
use shared::ErrorCode;
use shared::auth::{self, Claims};
use shared::data_api::Params;
use shared::knowledge::{Access, NewItem, NewRepository, items, repositories};
use studio_tests::TestDb;
use uuid::Uuid;

fn repo(name: &str) -> NewRepository {
    NewRepository {
        name: name.to_owned(),
        ..NewRepository::default()
    }
}

#[tokio::test]
async fn a_first_sign_in_creates_the_user_once_and_links_an_invited_one() {
    let t = TestDb::migrated().await;
    let claims = Claims {
        sub: "abc".into(),
        email: Some("New.User@Example.com".into()),
        name: Some("New".into()),
    };
    let (a, b) = tokio::join!(auth::resolve(&t.db, &claims), auth::resolve(&t.db, &claims));
    assert_eq!(
        a.unwrap().user_id,
        b.unwrap().user_id,
        "concurrent first requests make one user"
    );

    t.db.execute(
        "INSERT INTO users (email) VALUES ('invited@example.com')",
        Params::new(),
    )
    .await
    .unwrap();
    let invited = Claims {
        sub: "inv".into(),
        email: Some("INVITED@example.com".into()),
        name: None,
    };
    let caller = auth::resolve(&t.db, &invited).await.unwrap();
    assert_eq!(
        caller.email, "invited@example.com",
        "the invited row was linked, not duplicated"
    );
    assert!(caller.roles.is_empty() && caller.teams.is_empty());

    let thief = Claims {
        sub: "other".into(),
        email: Some("invited@example.com".into()),
        name: None,
    };
    assert_eq!(
        auth::resolve(&t.db, &thief).await.unwrap_err().code,
        ErrorCode::Conflict
    );
    let anonymous = Claims {
        sub: "nobody".into(),
        email: None,
        name: None,
    };
    assert_eq!(
        auth::resolve(&t.db, &anonymous).await.unwrap_err().code,
        ErrorCode::Unauthorized
    );
}

#[tokio::test]
async fn staff_create_repositories_students_may_not_and_names_are_unique_per_team() {
    let t = TestDb::migrated().await;
    let team = t.team().await;
    let staff = t.member("staff-r", "staff", team).await;
    let student = t.member("student-r", "student", team).await;
    assert_eq!(staff.roles, vec!["staff"]);
    assert_eq!(staff.teams, vec![team]);

    let created = repositories::create(&t.db, &staff, &repo("Papers"))
        .await
        .unwrap();
    assert_eq!(
        (created.team_id, created.access, created.item_count),
        (team, Access::Write, 0)
    );
    let duplicate = repositories::create(&t.db, &staff, &repo(" papers "))
        .await
        .unwrap_err();
    assert_eq!(duplicate.code, ErrorCode::Conflict);
    let refused = repositories::create(&t.db, &student, &repo("Mine"))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    assert!(refused.message.contains("knowledge_repositories"));
    let blank = repositories::create(&t.db, &staff, &repo("  "))
        .await
        .unwrap_err();
    assert_eq!(blank.code, ErrorCode::Validation);
    // The student is in the team, so reads and writes the team's repository.
    let seen = repositories::list(&t.db, &student).await.unwrap();
    assert_eq!(
        seen.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["Papers"]
    );
}

#[tokio::test]
async fn another_team_cannot_list_read_or_write_a_repository_unless_public_or_granted() {
    let t = TestDb::migrated().await;
    let (ours, theirs) = (t.team().await, t.team().await);
    let owner = t.member("owner-ours", "staff", ours).await;
    let outsider = t.member("outsider-theirs", "staff", theirs).await;
    let private = repositories::create(&t.db, &owner, &repo("Private"))
        .await
        .unwrap();
    let public = repositories::create(
        &t.db,
        &owner,
        &NewRepository {
            is_public: true,
            ..repo("Handbook")
        },
    )
    .await
    .unwrap();

    let listed = repositories::list(&t.db, &outsider).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![public.id],
        "only the public one"
    );
    assert_eq!(listed[0].access, Access::Read);
    let denied = repositories::require(&t.db, &outsider, private.id, Access::Read)
        .await
        .unwrap_err();
    assert_eq!(
        (denied.code, denied.http_status()),
        (ErrorCode::Forbidden, 403)
    );
    let read_only = repositories::require(&t.db, &outsider, public.id, Access::Write)
        .await
        .unwrap_err();
    assert_eq!(read_only.code, ErrorCode::Forbidden);
    let file = NewItem::File {
        file_name: "x.pdf".into(),
        content_type: None,
        size_bytes: 10,
    };
    assert_eq!(
        items::create(&t.db, &outsider, public.id, &file)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    let missing = repositories::require(&t.db, &outsider, Uuid::new_v4(), Access::Read)
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);

    // A read grant to the outsider's role opens the private repository for reading only.
    t.db.execute(
        "INSERT INTO repository_access (repository_id, role_id) SELECT :repo, id FROM roles WHERE name = 'staff'",
        Params::new().bind("repo", private.id),
    )
    .await
    .unwrap();
    let granted = repositories::require(&t.db, &outsider, private.id, Access::Read)
        .await
        .unwrap();
    assert_eq!(granted.access, Access::Read);
}

#[tokio::test]
async fn items_are_created_pending_under_their_key_and_only_their_team_sees_them() {
    let t = TestDb::migrated().await;
    let (ours, theirs) = (t.team().await, t.team().await);
    let owner = t.member("owner-ours", "staff", ours).await;
    let outsider = t.member("outsider-theirs", "administrator", theirs).await;
    let repository = repositories::create(&t.db, &owner, &repo("Docs"))
        .await
        .unwrap();

    let upload = NewItem::File {
        file_name: "../Q3 plan.pdf".into(),
        content_type: Some("application/pdf".into()),
        size_bytes: 1234,
    };
    let item = items::create(&t.db, &owner, repository.id, &upload)
        .await
        .unwrap();
    assert_eq!(
        (item.status.as_str(), item.chunk_count, item.embedded_count),
        ("pending", 0, 0)
    );
    assert_eq!(item.name, "_Q3 plan.pdf");
    assert_eq!(
        item.source,
        format!("repositories/{}/{}/_Q3 plan.pdf", repository.id, item.id)
    );
    let pasted: serde_json::Value =
        json!({"type": "text", "name": "Notes", "text": "Meeting notes"});
    let pasted: NewItem = serde_json::from_value(pasted).unwrap();
    items::create(&t.db, &owner, repository.id, &pasted)
        .await
        .unwrap();

    let listed = items::list(&t.db, &owner, repository.id, 50, 0)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    // Administrators of another team are still outside this one.
    assert_eq!(
        items::get(&t.db, &outsider, item.id)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        items::list(&t.db, &outsider, repository.id, 50, 0)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        items::delete(&t.db, &outsider, item.id)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );

    let deleted = items::delete(&t.db, &owner, item.id).await.unwrap();
    assert_eq!(deleted.id, item.id);
    assert_eq!(
        items::get(&t.db, &owner, item.id).await.unwrap_err().code,
        ErrorCode::NotFound
    );
    let count = repositories::require(&t.db, &owner, repository.id, Access::Read)
        .await
        .unwrap();
    assert_eq!(count.item_count, 1);
}
