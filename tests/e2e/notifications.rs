//! Notifications through the real schema and Data API: the in-app row, the e-mail sent
//! through the real SES client to the local SES and read back from its mailbox folder, every attempt recorded, failures that never fail the caller,
//! and each user seeing and marking only their own.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::json;
use shared::adapters::aws::SesMailer;
use shared::data_api::Params;
use shared::notify::mime::Mailbox;
use shared::notify::{self, Backoff, EmailOutcome, Kind, Notification};
use shared::ports::mail::{Attachment, Email, MailError, Mailer};
use studio_local::mailbox::SesServer;
use studio_tests::TestDb;
use uuid::Uuid;

use crate::api::{call, deps, event};

fn mailbox_dir() -> PathBuf {
    std::env::temp_dir().join(format!("studio-mailbox-{}", Uuid::new_v4().simple()))
}

/// A local SES writing into `dir`, and the mailer that sends to it (the server stops when
/// dropped).
async fn mailbox(dir: &PathBuf) -> (SesServer, SesMailer) {
    let ses = SesServer::start(
        "127.0.0.1:0".parse().unwrap(),
        dir,
        vec!["notifications@studio.local".to_owned()],
    )
    .await
    .unwrap();
    let sdk = studio_local::account::local_sdk_config(&ses.endpoint());
    let mailer = SesMailer::new(
        &sdk,
        Mailbox::parse("AI Studio <notifications@studio.local>").unwrap(),
    );
    (ses, mailer)
}

fn quick() -> Backoff {
    Backoff {
        attempts: 3,
        initial_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(20),
    }
}

fn result_notification(user_id: Uuid, team_id: Uuid, to: &str) -> Notification {
    let execution = Uuid::new_v4();
    Notification {
        user_id,
        team_id: Some(team_id),
        kind: Kind::ScheduleCompleted,
        title: "Weekly digest completed".to_owned(),
        body: "The **Weekly digest** ran: 3 prompts, 1,204 tokens.".to_owned(),
        link: Some(format!("/executions/{execution}")),
        data: json!({ "executionId": execution })
            .as_object()
            .unwrap()
            .clone(),
        email: Some(Email {
            to: to.to_owned(),
            subject: "Weekly digest: completed".to_owned(),
            html: "<h1>Weekly digest</h1><p>Completed: <b>3 prompts</b></p>".to_owned(),
            text: "Weekly digest\n\nCompleted: 3 prompts".to_owned(),
            attachments: vec![Attachment {
                filename: "weekly-digest.md".to_owned(),
                content_type: "text/markdown; charset=utf-8".to_owned(),
                bytes: "# Digest\n\n- item one\n- item two\n".as_bytes().to_vec(),
            }],
        }),
    }
}

#[derive(Debug, serde::Deserialize)]
struct Delivery {
    status: String,
    attempts: i32,
    last_error: Option<String>,
    sent: bool,
}

async fn delivery(t: &TestDb, notification: Uuid) -> Delivery {
    t.db.query_one(
        "SELECT status, attempts, last_error, sent_at IS NOT NULL AS sent FROM notification_deliveries
         WHERE notification_id = :id AND channel = 'email'",
        Params::new().bind("id", notification),
    )
    .await
    .unwrap()
}

/// Fails with `error` the first `failures` times, then delivers to the mailbox. With `db`,
/// each call first notes the e-mail delivery row as it stands (status, attempts, retry due).
struct Flaky {
    failures: u32,
    calls: AtomicU32,
    error: MailError,
    inner: SesMailer,
    db: Option<shared::data_api::DataApi>,
    seen: std::sync::Mutex<Vec<(String, i32, bool)>>,
}

impl Flaky {
    fn new(failures: u32, error: MailError, inner: SesMailer) -> Self {
        Self {
            failures,
            calls: AtomicU32::new(0),
            error,
            inner,
            db: None,
            seen: std::sync::Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl Mailer for Flaky {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        if let Some(db) = &self.db {
            #[derive(serde::Deserialize)]
            struct Row {
                status: String,
                attempts: i32,
                due: bool,
            }
            let rows: Vec<Row> = db
                .query(
                    "SELECT status, attempts, next_attempt_at > created_at AS due FROM notification_deliveries",
                    Params::new(),
                )
                .await
                .unwrap();
            let mut seen = self.seen.lock().unwrap();
            seen.extend(rows.into_iter().map(|r| (r.status, r.attempts, r.due)));
        }
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(self.error.clone());
        }
        self.inner.send(email).await
    }
}

#[tokio::test]
async fn a_sent_email_lands_in_the_mailbox_with_both_bodies_and_the_attachment() {
    let t = TestDb::migrated().await;
    let team = t.team().await;
    let user = t.member(&format!("ada-{team}"), "staff", team).await;
    let dir = mailbox_dir();
    let (_ses, mailer) = mailbox(&dir).await;

    let notified = notify::notify_with(
        &t.db,
        Some(&mailer),
        &result_notification(user.user_id, team, &user.email),
        quick(),
    )
    .await;
    let id = notified.id.expect("the in-app row is stored");
    assert!(
        matches!(notified.email, EmailOutcome::Sent { attempts: 1, .. }),
        "{notified:?}"
    );
    let recorded = delivery(&t, id).await;
    assert_eq!(
        (recorded.status.as_str(), recorded.attempts, recorded.sent),
        ("sent", 1, true)
    );
    assert_eq!(recorded.last_error, None);

    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].extension().is_some_and(|x| x == "eml"));
    let bytes = std::fs::read(&files[0]).unwrap();
    let message = MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(message.subject(), Some("Weekly digest: completed"));
    assert_eq!(
        message.to().unwrap().first().unwrap().address(),
        Some(user.email.as_str())
    );
    assert!(
        message
            .body_text(0)
            .unwrap()
            .contains("Completed: 3 prompts")
    );
    assert!(message.body_html(0).unwrap().contains("<b>3 prompts</b>"));
    let attachment = message.attachment(0).expect("one attachment");
    assert_eq!(attachment.attachment_name(), Some("weekly-digest.md"));
    assert_eq!(
        attachment.contents(),
        "# Digest\n\n- item one\n- item two\n".as_bytes()
    );

    // The in-app side shows it, unread, with its link and how the e-mail fared.
    let inbox = notify::list(&t.db, &user, false, 50, 0).await.unwrap();
    assert_eq!(inbox.unread, 1);
    let shown = &inbox.notifications[0];
    assert_eq!(shown.kind, "schedule.completed");
    assert_eq!(shown.title, "Weekly digest completed");
    assert!(shown.link.as_deref().unwrap().starts_with("/executions/"));
    assert_eq!(shown.email.as_ref().unwrap().status, "sent");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_mailer_failing_twice_then_succeeding_records_three_attempts_and_ends_sent() {
    let t = TestDb::migrated().await;
    let team = t.team().await;
    let user = t.member(&format!("bo-{team}"), "staff", team).await;
    let dir = mailbox_dir();
    let (_ses, mailer) = mailbox(&dir).await;
    let flaky = Flaky {
        db: Some(t.db.clone()),
        ..Flaky::new(
            2,
            MailError::Throttled("Maximum sending rate exceeded".to_owned()),
            mailer,
        )
    };

    let notified = notify::notify_with(
        &t.db,
        Some(&flaky),
        &result_notification(user.user_id, team, &user.email),
        quick(),
    )
    .await;
    assert!(
        matches!(notified.email, EmailOutcome::Sent { attempts: 3, .. }),
        "{notified:?}"
    );
    let recorded = delivery(&t, notified.id.unwrap()).await;
    assert_eq!(
        (recorded.status.as_str(), recorded.attempts, recorded.sent),
        ("sent", 3, true)
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    // Between attempts the delivery was pending, counted, with its next attempt scheduled.
    assert_eq!(
        *flaky.seen.lock().unwrap(),
        [
            ("pending".to_owned(), 1, true),
            ("pending".to_owned(), 2, true)
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_mailer_that_always_fails_is_recorded_failed_and_the_caller_carries_on() {
    let t = TestDb::migrated().await;
    let team = t.team().await;
    let user = t.member(&format!("cy-{team}"), "staff", team).await;
    let dir = mailbox_dir();
    let (_ses, mailer) = mailbox(&dir).await;
    let down = Flaky::new(
        u32::MAX,
        MailError::Unavailable("connection refused".to_owned()),
        mailer.clone(),
    );

    let notified = notify::notify_with(
        &t.db,
        Some(&down),
        &result_notification(user.user_id, team, &user.email),
        quick(),
    )
    .await;
    match &notified.email {
        EmailOutcome::Failed { attempts, error } => {
            assert_eq!(*attempts, 3);
            assert!(error.contains("connection refused"), "{error}");
        }
        other => panic!("expected a failed e-mail, got {other:?}"),
    }
    let recorded = delivery(&t, notified.id.expect("the in-app row is still stored")).await;
    assert_eq!((recorded.status.as_str(), recorded.attempts), ("failed", 3));
    assert!(!recorded.sent);
    assert!(
        recorded
            .last_error
            .as_deref()
            .unwrap()
            .contains("connection refused")
    );
    assert!(!dir.exists(), "nothing was written");

    // A refusal (unverified sender) is not retried: retrying cannot help.
    let refusing = Flaky::new(
        u32::MAX,
        MailError::Rejected("Email address is not verified".to_owned()),
        mailer,
    );
    let notified = notify::notify_with(
        &t.db,
        Some(&refusing),
        &result_notification(user.user_id, team, &user.email),
        quick(),
    )
    .await;
    assert!(
        matches!(notified.email, EmailOutcome::Failed { attempts: 1, .. }),
        "{notified:?}"
    );
    assert_eq!(refusing.calls.load(Ordering::SeqCst), 1);

    // Without a mailer the e-mail is recorded as skipped; the in-app row still arrives.
    let notified = notify::notify_with(
        &t.db,
        None,
        &result_notification(user.user_id, team, &user.email),
        quick(),
    )
    .await;
    assert_eq!(notified.email, EmailOutcome::Skipped);
    assert_eq!(delivery(&t, notified.id.unwrap()).await.status, "skipped");
    let inbox = notify::list(&t.db, &user, true, 50, 0).await.unwrap();
    assert_eq!(inbox.unread, 3);
}

#[tokio::test]
async fn a_user_reads_and_marks_only_their_own_notifications_through_the_api() {
    let t = TestDb::migrated().await;
    let deps = deps(&t).await;
    let team = t.team().await;
    let (owner_sub, other_sub) = (format!("owner-{team}"), format!("other-{team}"));
    let owner = t.member(&owner_sub, "staff", team).await;
    t.member(&other_sub, "staff", team).await;
    let notified = notify::notify(
        &t.db,
        None,
        &Notification {
            email: None,
            ..result_notification(owner.user_id, team, &owner.email)
        },
    )
    .await;
    assert_eq!(notified.email, EmailOutcome::NotRequested);
    let id = notified.id.unwrap();

    // Someone else in the same team sees none of it and cannot mark it.
    let (status, theirs) = call(
        &deps,
        event("GET", "/notifications", None, None, Some(&other_sub)),
    )
    .await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["data"]["notifications"], json!([]));
    assert_eq!(theirs["data"]["unread"], 0);
    let (status, refused) = call(
        &deps,
        event(
            "POST",
            &format!("/notifications/{id}/read"),
            None,
            None,
            Some(&other_sub),
        ),
    )
    .await;
    assert_eq!(status, 404, "{refused}");
    assert_eq!(refused["error"]["code"], "not_found");

    // The owner sees it unread, marks it read, and the unread count drops.
    let (status, mine) = call(
        &deps,
        event(
            "GET",
            "/notifications",
            None,
            Some(json!({"unread": "true"})),
            Some(&owner_sub),
        ),
    )
    .await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["data"]["unread"], 1);
    assert_eq!(mine["data"]["notifications"][0]["id"], json!(id));
    assert_eq!(mine["data"]["notifications"][0]["readAt"], json!(null));
    let (status, marked) = call(
        &deps,
        event(
            "POST",
            &format!("/notifications/{id}/read"),
            None,
            None,
            Some(&owner_sub),
        ),
    )
    .await;
    assert_eq!(status, 200, "{marked}");
    assert!(marked["data"]["readAt"].is_string(), "{marked}");
    let (_, after) = call(
        &deps,
        event(
            "GET",
            "/notifications",
            None,
            Some(json!({"unread": "true"})),
            Some(&owner_sub),
        ),
    )
    .await;
    assert_eq!(after["data"]["unread"], 0);
    assert_eq!(after["data"]["notifications"], json!([]));
    let (_, all) = call(
        &deps,
        event("GET", "/notifications", None, None, Some(&owner_sub)),
    )
    .await;
    assert_eq!(
        all["data"]["notifications"][0]["readAt"],
        marked["data"]["readAt"]
    );

    let (status, bad) = call(
        &deps,
        event(
            "GET",
            "/notifications",
            None,
            Some(json!({"limit": "500"})),
            Some(&owner_sub),
        ),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
}
