//! The SES v2 mailer with the real `aws-sdk-sesv2` client against moto's SES v2: a raw
//! MIME message from a verified sender is accepted and reads back whole; an unverified
//! sender is refused, not retried, and recorded as failed.

use mail_parser::{MessageParser, MimeHeaders};
use serde_json::Value;
use shared::adapters::aws::SesMailer;
use shared::notify::mime::Mailbox;
use shared::notify::{
    self, Attachment, Email, EmailOutcome, Kind, MailError, Mailer, Notification,
};
use studio_tests::TestDb;
use uuid::Uuid;

fn moto() -> String {
    std::env::var("AWS_ENDPOINT_URL_SESV2")
        .expect("AWS_ENDPOINT_URL_SESV2 is not set: run the tests with scripts/test.sh")
}

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

/// The raw message moto's SES keeps for `message_id`.
async fn sent_raw(message_id: &str) -> String {
    let state: Value = reqwest::get(format!("{}/moto-api/data.json", moto()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    state["ses"]["RawMessage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message_id)
        .unwrap_or_else(|| panic!("moto has no message {message_id}"))["raw_data"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn ses_accepts_the_raw_message_from_a_verified_sender_with_its_attachment() {
    let sdk = studio_local::stack::local_sdk_config(&moto());
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
    let raw = sent_raw(&message_id).await;
    let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
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
}

#[tokio::test]
async fn an_unverified_sender_is_refused_once_and_recorded_failed() {
    let sdk = studio_local::stack::local_sdk_config(&moto());
    let mailer = SesMailer::new(
        &sdk,
        Mailbox::parse(&format!(
            "nobody-{}@unverified.example",
            Uuid::new_v4().simple()
        ))
        .unwrap(),
    );
    let error = mailer.send(&email("ada@example.org")).await.unwrap_err();
    assert!(matches!(error, MailError::Rejected(_)), "{error:?}");
    assert!(
        error.to_string().contains("Did not have authority"),
        "{error}"
    );

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
            assert!(error.contains("Did not have authority"), "{error}");
        }
        other => panic!("expected a failed e-mail, got {other:?}"),
    }
    let inbox = notify::list(&t.db, &user, false, 10, 0).await.unwrap();
    let delivery = inbox.notifications[0].email.as_ref().unwrap();
    assert_eq!((delivery.status.as_str(), delivery.attempts), ("failed", 1));
}
