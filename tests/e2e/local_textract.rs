//! The local Textract with the real `aws-sdk-textract` client: a scanned PDF in S3 (moto)
//! is read in the background, its completion arrives as an SNS envelope on a queue of the
//! test's own subscribed to the job's topic, and GetDocumentTextDetection pages (NextToken)
//! give each line at its page; what Textract refuses is refused with its exceptions.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_textract::types::{
    BlockType, DocumentLocation, JobStatus, NotificationChannel, S3Object,
};
use serde_json::Value;
use shared::adapters::aws::TextractOcr;
use shared::ports::ocr::{Completion, JobResult, OcrEngine};
use studio_local::authorize::Authorizer;
use studio_local::textract::{TextractConfig, TextractServer};
use studio_tests::http::env;
use uuid::Uuid;

use crate::ocr::{SCAN_PAGE_1, SCAN_PAGE_2, image_pdf, render, text_pdf};

const ROLE: &str = "arn:aws:iam::123456789012:role/textract-publish";

/// A Textract server beside the stack's moto, publishing `topic` to a fresh queue.
struct Local {
    server: TextractServer,
    textract: aws_sdk_textract::Client,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    bucket: String,
    topic: String,
    queue: String,
}

async fn local(authorizer: Option<Authorizer>) -> Local {
    let sdk = studio_local::account::local_sdk_config(&env("AWS_ENDPOINT_URL_S3"));
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&studio_local::account::local_sdk_config(&env(
        "AWS_ENDPOINT_URL_SQS",
    )));
    let name = format!("textract-{}", Uuid::new_v4().simple());
    let queue = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let topic = format!("arn:aws:sns:us-east-1:123456789012:{name}");
    let mut config = TextractConfig::new(
        s3.clone(),
        sqs.clone(),
        HashMap::from([(topic.clone(), vec![queue.clone()])]),
    );
    config.authorizer = authorizer;
    let server = TextractServer::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let textract =
        aws_sdk_textract::Client::new(&studio_local::account::local_sdk_config(&server.endpoint()));
    Local {
        server,
        textract,
        s3,
        sqs,
        bucket: env("DOCUMENTS_BUCKET"),
        topic,
        queue,
    }
}

impl Local {
    async fn put(&self, name: &str, bytes: Vec<u8>) -> String {
        let key = format!("textract-e2e/{}/{name}", Uuid::new_v4().simple());
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
        key
    }

    fn start(&self, key: &str) -> aws_sdk_textract::operation::start_document_text_detection::builders::StartDocumentTextDetectionFluentBuilder{
        self.textract
            .start_document_text_detection()
            .document_location(
                DocumentLocation::builder()
                    .s3_object(S3Object::builder().bucket(&self.bucket).name(key).build())
                    .build(),
            )
            .notification_channel(
                NotificationChannel::builder()
                    .sns_topic_arn(&self.topic)
                    .role_arn(ROLE)
                    .build()
                    .unwrap(),
            )
    }

    /// The next message on the test's queue, as SNS delivered it.
    async fn completion(&self) -> Value {
        let started = Instant::now();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue)
                .wait_time_seconds(2)
                .send()
                .await
                .unwrap();
            if let Some(message) = received.messages().first() {
                return serde_json::from_str(message.body().unwrap()).unwrap();
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "no completion"
            );
        }
    }

    fn engine(&self) -> TextractOcr {
        TextractOcr::new(self.textract.clone(), &self.bucket, &self.topic, ROLE)
    }
}

fn scan() -> Vec<u8> {
    let work = std::env::temp_dir().join(format!("textract-e2e-{}", Uuid::new_v4().simple()));
    std::fs::create_dir(&work).unwrap();
    let scan = image_pdf(&render(
        &text_pdf(&[SCAN_PAGE_1, SCAN_PAGE_2]),
        "-jpeg",
        &work,
    ));
    std::fs::remove_dir_all(&work).unwrap();
    scan
}

#[tokio::test]
async fn a_scan_is_read_in_the_background_and_its_completion_arrives_on_the_subscribed_queue() {
    let t = local(None).await;
    let key = t.put("keeper-log.pdf", scan()).await;
    let item = Uuid::new_v4().to_string();
    let token = Uuid::new_v4().simple().to_string();
    let started = t
        .start(&key)
        .job_tag(&item)
        .client_request_token(&token)
        .send()
        .await
        .unwrap();
    let job = started.job_id().unwrap().to_owned();
    assert_eq!(job.len(), 64, "{job}");
    let again = t
        .start(&key)
        .job_tag(&item)
        .client_request_token(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.job_id(), Some(job.as_str()), "same token, same job");
    let running = t
        .textract
        .get_document_text_detection()
        .job_id(&job)
        .send()
        .await
        .unwrap();
    assert_eq!(running.job_status(), Some(&JobStatus::InProgress));
    assert!(running.blocks().is_empty());

    let envelope = t.completion().await;
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], t.topic.as_str());
    assert!(envelope["MessageId"].is_string());
    let completion = Completion::from_message(&envelope.to_string()).unwrap();
    assert_eq!(completion.job_id, job);
    assert_eq!(completion.status, "SUCCEEDED");
    assert_eq!(completion.api, "StartDocumentTextDetection");
    assert_eq!(completion.job_tag.as_deref(), Some(item.as_str()));
    assert_eq!(completion.document_location.s3_object_name, key);
    assert_eq!(completion.document_location.s3_bucket, t.bucket);

    // Three blocks at a time: the lines come back through NextToken pages, each at its page.
    let (mut lines, mut token, mut calls) = (Vec::new(), None, 0);
    loop {
        let page = t
            .textract
            .get_document_text_detection()
            .job_id(&job)
            .max_results(3)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        calls += 1;
        assert_eq!(page.job_status(), Some(&JobStatus::Succeeded));
        assert_eq!(page.document_metadata().unwrap().pages(), Some(2));
        assert!(page.blocks().len() <= 3);
        for block in page.blocks() {
            if block.block_type() == Some(&BlockType::Line) {
                assert!(block.confidence().unwrap() > 50.0, "{block:?}");
                lines.push((block.page().unwrap(), block.text().unwrap().to_owned()));
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert!(calls > 1, "the blocks took more than one page");
    let on = |page: i32| -> String {
        lines
            .iter()
            .filter(|(p, _)| *p == page)
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(on(1).contains("Lighthouse Keeping Log"), "{lines:?}");
    assert!(on(2).contains("Cormorants nested"), "{lines:?}");
    assert!(!on(1).contains("Cormorants"), "{lines:?}");

    // The functions' adapter reads the same job into pages of lines.
    let JobResult::Text { pages, page_count } = t.engine().results(&completion).await.unwrap()
    else {
        panic!("the job succeeded");
    };
    assert_eq!(page_count, 2);
    assert!(
        pages[1].lines.iter().any(|l| l.contains("western cliffs")),
        "{pages:?}"
    );
    assert_eq!(t.server.jobs().len(), 1);
}

#[tokio::test]
async fn what_textract_cannot_read_fails_with_its_status_message_and_bad_calls_with_its_exceptions()
{
    let t = local(None).await;
    let key = t.put("notes.txt", b"plain words, no scan".to_vec()).await;
    let job = t.start(&key).send().await.unwrap().job_id.unwrap();
    let completion = Completion::from_message(&t.completion().await.to_string()).unwrap();
    assert_eq!(
        (completion.job_id.as_str(), completion.status.as_str()),
        (job.as_str(), "FAILED")
    );
    assert_eq!(
        t.engine().results(&completion).await.unwrap(),
        JobResult::Failed("Request has unsupported document format".to_owned())
    );

    let code = |e: &dyn aws_sdk_textract::error::ProvideErrorMetadata| e.code().map(str::to_owned);
    let missing = t
        .start("textract-e2e/nothing-here.pdf")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing).as_deref(), Some("InvalidS3ObjectException"));
    let unknown = t
        .textract
        .get_document_text_detection()
        .job_id("0123456789abcdef")
        .send()
        .await
        .unwrap_err();
    assert!(
        unknown
            .as_service_error()
            .is_some_and(|e| e.is_invalid_job_id_exception()),
        "{unknown:?}"
    );
    let bad_tag = t
        .start(&key)
        .job_tag("an item id")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad_tag).as_deref(), Some("ValidationException"));
    let none = t
        .textract
        .get_document_text_detection()
        .job_id(&job)
        .max_results(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&none).as_deref(), Some("ValidationException"));
}

#[tokio::test]
async fn a_caller_the_authorizer_refuses_starts_nothing() {
    let refuse: Authorizer = std::sync::Arc::new(|_, action, resource| {
        if action == "iam:PassRole" {
            Err(format!(
                "not authorized to perform: iam:PassRole on resource: {resource}"
            ))
        } else {
            Ok(())
        }
    });
    let t = local(Some(refuse)).await;
    let key = t.put("keeper-log.pdf", b"%PDF-1.5".to_vec()).await;
    let refused = t.start(&key).send().await.unwrap_err();
    let refused = refused.into_service_error();
    assert!(refused.is_access_denied_exception(), "{refused:?}");
    assert!(refused.to_string().contains("iam:PassRole"), "{refused}");
    assert!(t.server.jobs().is_empty());
}
