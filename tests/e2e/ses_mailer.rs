//! The SES v2 mailer with the real `aws-sdk-sesv2` client against the local SES: a raw
//! MIME message from a verified sender (its address, or its domain) is accepted and lands
//! whole as an `.eml` file in the mailbox folder; an unverified sender is refused with
//! SES's MessageRejected, not retried, recorded as failed, and nothing is written.

use std::path::{Path, PathBuf};

use mail_parser::{MessageParser, MimeHeaders};
use shared::adapters::aws::SesMailer;
use shared::notify::mime::Mailbox;
use shared::notify::{self, EmailOutcome, Kind, Notification};
use shared::ports::mail::{Attachment, Email, MailError, Mailer};
use studio_local::mailbox::SesServer;
use studio_tests::TestDb;
use uuid::Uuid;

fn email(to: &str) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Market scan: completed".to_owned(),
        html: "<p>The scan <b>completed</b>.</p>".to_owned(),
        text: "The scan completed.".to_owned(),
        attachments: vec![Attachment {
            filename: "market-scan.md".to_owned(),
            content_type: "text/markdown".to_owned(),
            bytes: b"# Market scan\n\nThree findings.\n".to_vec(),
        }],
    }
}

/// A local SES with the stack's verified sender, writing into a fresh folder.
async fn ses() -> (SesServer, PathBuf, aws_config::SdkConfig) {
    let dir = std::env::temp_dir().join(format!("ses-{}", Uuid::new_v4().simple()));
    let server = SesServer::start(
        "127.0.0.1:0".parse().unwrap(),
        &dir,
        vec!["notifications@studio.local".to_owned()],
    )
    .await
    .unwrap();
    let sdk = studio_local::account::local_sdk_config(&server.endpoint());
    (server, dir, sdk)
}

/// The raw message the mailbox holds for `message_id`.
fn sent_raw(dir: &Path, message_id: &str) -> Vec<u8> {
    let file = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(&format!("{message_id}.eml")))
        .unwrap_or_else(|| panic!("the mailbox has no message {message_id}"));
    std::fs::read(file).unwrap()
}

#[tokio::test]
async fn ses_accepts_the_raw_message_from_a_verified_sender_with_its_attachment() {
    let (_server, dir, sdk) = ses().await;
    let sender = format!("studio-{}@studio.example", Uuid::new_v4().simple());
    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let mailer = SesMailer::new(
        &sdk,
        Mailbox::parse(&format!("AI Studio <{sender}>")).unwrap(),
    );

    let message_id = mailer.send(&email("ada@example.org")).await.unwrap();
    let raw = sent_raw(&dir, &message_id);
    let message = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(message.subject(), Some("Market scan: completed"));
    assert_eq!(
        message.from().unwrap().first().unwrap().address(),
        Some(sender.as_str())
    );
    assert_eq!(
        message.to().unwrap().first().unwrap().address(),
        Some("ada@example.org")
    );
    assert_eq!(message.body_text(0).unwrap().trim(), "The scan completed.");
    assert!(message.body_html(0).unwrap().contains("<b>completed</b>"));
    let attachment = message.attachment(0).unwrap();
    assert_eq!(attachment.attachment_name(), Some("market-scan.md"));
    assert_eq!(attachment.contents(), b"# Market scan\n\nThree findings.\n");
    // `studio mailbox` lists it.
    let listed = studio_local::mailbox::messages(&dir).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].attachments, ["market-scan.md"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_verified_domain_lets_any_of_its_addresses_send() {
    let (_server, dir, sdk) = ses().await;
    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity("reports.example")
        .send()
        .await
        .unwrap();
    let mailer = SesMailer::new(&sdk, Mailbox::parse("digest@reports.example").unwrap());
    let message_id = mailer.send(&email("ada@example.org")).await.unwrap();
    assert!(!sent_raw(&dir, &message_id).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_unverified_sender_is_refused_once_and_recorded_failed() {
    let (_server, dir, sdk) = ses().await;
    let sender = format!("nobody-{}@unverified.example", Uuid::new_v4().simple());
    let mailer = SesMailer::new(&sdk, Mailbox::parse(&sender).unwrap());
    let error = mailer.send(&email("ada@example.org")).await.unwrap_err();
    assert!(matches!(error, MailError::Rejected(_)), "{error:?}");
    let expected = format!(
        "Email address is not verified. The following identities failed the check in region US-EAST-1: {sender}"
    );
    assert!(error.to_string().contains(&expected), "{error}");
    assert!(!dir.exists(), "nothing was written");

    let t = TestDb::migrated().await;
    let team = t.team().await;
    let user = t.member(&format!("ses-{team}"), "staff", team).await;
    let notified = notify::notify(
        &t.db,
        Some(&mailer),
        &Notification {
            user_id: user.user_id,
            team_id: Some(team),
            kind: Kind::ScheduleFailed,
            title: "Market scan failed".to_owned(),
            body: "The second prompt timed out.".to_owned(),
            link: None,
            data: serde_json::Map::new(),
            email: Some(email(&user.email)),
        },
    )
    .await;
    match notified.email {
        EmailOutcome::Failed { attempts, error } => {
            assert_eq!(attempts, 1, "a refusal is not retried");
            assert!(error.contains("Email address is not verified"), "{error}");
        }
        other => panic!("expected a failed e-mail, got {other:?}"),
    }
    let inbox = notify::list(&t.db, &user, false, 10, 0).await.unwrap();
    let delivery = inbox.notifications[0].email.as_ref().unwrap();
    assert_eq!((delivery.status.as_str(), delivery.attempts), ("failed", 1));
}
