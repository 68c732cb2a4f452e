//! Text detection jobs: kept in memory from Start to the last Get, each run in the
//! background (the object read from S3 as Textract reads it, then OCR), and its completion
//! published to the job's topic: each SQS queue subscribed to it gets the SNS envelope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use shared::ports::ocr::{Completion, DocumentLocation, TEXT_DETECTION_API};
use tokio::sync::Semaphore;

use super::engine::{self, Failure, Limits};
use super::request::Start;
use super::results;

/// `JobStatus` as Textract spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    InProgress,
    Succeeded,
    Failed,
}

/// One job, as `/_local/jobs` lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub job_id: String,
    pub status: Status,
    pub status_message: Option<String>,
    pub bucket: String,
    pub key: String,
    pub job_tag: Option<String>,
    pub pages: usize,
    #[serde(skip)]
    pub blocks: Arc<Vec<Value>>,
    #[serde(skip)]
    pub request: Start,
}

/// What running a job needs.
pub struct Runner {
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub topics: HashMap<String, Vec<String>>,
    pub limits: Limits,
    /// A job never completes sooner (Textract takes seconds; the starter records the job
    /// before its completion arrives).
    pub min_duration: Duration,
    /// Jobs OCR'd at once; the others wait their turn, IN_PROGRESS.
    pub slots: Semaphore,
}

#[derive(Default)]
pub struct Jobs {
    jobs: Mutex<HashMap<String, Job>>,
    /// ClientRequestToken -> the job it started.
    tokens: Mutex<HashMap<String, String>>,
}

impl Jobs {
    fn jobs(&self) -> MutexGuard<'_, HashMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self, job_id: &str) -> Option<Job> {
        self.jobs().get(job_id).cloned()
    }

    pub fn list(&self) -> Vec<Job> {
        let mut all: Vec<Job> = self.jobs().values().cloned().collect();
        all.sort_by(|a, b| a.job_id.cmp(&b.job_id));
        all
    }

    /// The job a repeated ClientRequestToken started: `Ok(Some)` for the same request,
    /// `Err` for another request under the same token.
    pub fn by_token(&self, start: &Start) -> Result<Option<String>, ()> {
        let Some(token) = &start.client_request_token else {
            return Ok(None);
        };
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(job_id) = tokens.get(token) else {
            return Ok(None);
        };
        match self.jobs().get(job_id) {
            Some(job) if job.request == *start => Ok(Some(job_id.clone())),
            Some(_) => Err(()),
            None => Ok(None),
        }
    }

    /// Records a new job, in progress.
    pub fn insert(&self, start: &Start) -> String {
        let job_id = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        if let Some(token) = &start.client_request_token {
            self.tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(token.clone(), job_id.clone());
        }
        self.jobs().insert(
            job_id.clone(),
            Job {
                job_id: job_id.clone(),
                status: Status::InProgress,
                status_message: None,
                bucket: start.bucket.clone(),
                key: start.key.clone(),
                job_tag: start.job_tag.clone(),
                pages: 0,
                blocks: Arc::default(),
                request: start.clone(),
            },
        );
        job_id
    }

    fn finish(&self, job_id: &str, outcome: &Result<Vec<Vec<results::Line>>, Failure>) {
        if let Some(job) = self.jobs().get_mut(job_id) {
            match outcome {
                Ok(pages) => {
                    job.status = Status::Succeeded;
                    job.pages = pages.len();
                    job.blocks = Arc::new(results::blocks(pages));
                }
                Err(Failure(reason)) => {
                    job.status = Status::Failed;
                    job.status_message = Some(reason.clone());
                }
            }
        }
    }
}

/// Runs job `job_id` to its end and publishes its completion.
pub async fn run(runner: Arc<Runner>, jobs: Arc<Jobs>, job_id: String, start: Start) {
    let began = Instant::now();
    let outcome = match runner.slots.acquire().await {
        Ok(_slot) => match read_object(&runner, &start).await {
            Ok(bytes) => engine::read_pages(&bytes, &start.key, &runner.limits).await,
            Err(failure) => Err(failure),
        },
        Err(_) => Err(Failure(
            "Internal server error: the server is stopping".to_owned(),
        )),
    };
    tokio::time::sleep(runner.min_duration.saturating_sub(began.elapsed())).await;
    jobs.finish(&job_id, &outcome);
    match &outcome {
        Ok(pages) => tracing::info!(job_id, pages = pages.len(), "Textract job succeeded"),
        Err(Failure(reason)) => tracing::info!(job_id, reason, "Textract job failed"),
    }
    publish(&runner, &job_id, &start, outcome.is_ok()).await;
}

async fn read_object(runner: &Runner, start: &Start) -> Result<Vec<u8>, Failure> {
    let unreadable = || {
        Failure(
            "Unable to get object metadata from S3. Check object key, region and/or access permissions."
                .to_owned(),
        )
    };
    let object = runner
        .s3
        .get_object()
        .bucket(&start.bucket)
        .key(&start.key)
        .set_version_id(start.version.clone())
        .send()
        .await
        .map_err(|_| unreadable())?;
    let size = u64::try_from(object.content_length().unwrap_or(0)).unwrap_or(0);
    if size > runner.limits.max_bytes {
        return Err(Failure(format!(
            "S3 object size {size} is more than the maximum limit {}",
            runner.limits.max_bytes
        )));
    }
    let bytes = object.body.collect().await.map_err(|_| unreadable())?;
    Ok(bytes.into_bytes().to_vec())
}

/// Sends the completion to every queue subscribed to the job's topic, as SNS delivers it.
async fn publish(runner: &Runner, job_id: &str, start: &Start, succeeded: bool) {
    let Some(channel) = &start.channel else {
        return;
    };
    let completion = Completion {
        job_id: job_id.to_owned(),
        status: if succeeded { "SUCCEEDED" } else { "FAILED" }.to_owned(),
        api: TEXT_DETECTION_API.to_owned(),
        job_tag: start.job_tag.clone(),
        timestamp: Some(chrono::Utc::now().timestamp_millis()),
        document_location: DocumentLocation {
            s3_object_name: start.key.clone(),
            s3_bucket: start.bucket.clone(),
        },
    };
    let body = match completion.to_sns_message(&channel.topic_arn) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(job_id, %error, "Textract completion not built");
            return;
        }
    };
    let Some(queues) = runner.topics.get(&channel.topic_arn) else {
        tracing::warn!(
            job_id,
            topic = channel.topic_arn,
            "No queue subscribes to the topic"
        );
        return;
    };
    for queue in queues {
        if let Err(error) = runner
            .sqs
            .send_message()
            .queue_url(queue)
            .message_body(&body)
            .send()
            .await
        {
            tracing::error!(
                job_id,
                queue,
                error = %aws_sdk_sqs::error::DisplayErrorContext(error),
                "Textract completion not delivered"
            );
        }
    }
}
