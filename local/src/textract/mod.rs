//! A local Amazon Textract for asynchronous text detection, over the awsJson1.1 protocol
//! the real `aws-sdk-textract` client speaks: StartDocumentTextDetection reads the object
//! from S3 (moto) in the background, OCRs it (tesseract), and publishes the completion to
//! the job's SNS topic, i.e. to the SQS queues the stack says subscribe to it, as an SNS
//! envelope; GetDocumentTextDetection pages through the PAGE and LINE blocks.
//! `GET /_local/jobs` lists the jobs.

mod constraints;
mod engine;
mod errors;
mod jobs;
mod request;
mod results;
mod tsv;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::authorize::{self, Authorizer};
pub use engine::Limits;
pub use errors::TextractError;
pub use jobs::{Job, Status as JobStatus};

/// What the server needs from the stack.
pub struct TextractConfig {
    /// Reads the documents, with the stack's own (admin) credentials, as Textract does.
    pub s3: aws_sdk_s3::Client,
    /// Delivers completions, with admin credentials, as SNS does.
    pub sqs: aws_sdk_sqs::Client,
    /// Topic ARN -> the URLs of the SQS queues subscribed to it (the template's
    /// `AWS::SNS::Subscription`s with `Protocol: sqs`).
    pub topics: HashMap<String, Vec<String>>,
    /// Asked before each call (and for the `iam:PassRole` of a notification role).
    pub authorizer: Option<Authorizer>,
    pub limits: Limits,
    /// Jobs OCR'd at once.
    pub concurrent_jobs: usize,
    /// The least time a job takes before it completes.
    pub min_duration: Duration,
}

impl TextractConfig {
    /// Defaults: no authorizer, [`Limits::default`], 2 jobs at once, at least 1 s a job.
    pub fn new(
        s3: aws_sdk_s3::Client,
        sqs: aws_sdk_sqs::Client,
        topics: HashMap<String, Vec<String>>,
    ) -> Self {
        Self {
            s3,
            sqs,
            topics,
            authorizer: None,
            limits: Limits::default(),
            concurrent_jobs: 2,
            min_duration: Duration::from_secs(1),
        }
    }
}

struct AppState {
    runner: Arc<jobs::Runner>,
    jobs: Arc<jobs::Jobs>,
    authorizer: RwLock<Option<Authorizer>>,
}

/// A running server; it stops when this is dropped.
pub struct TextractServer {
    pub addr: SocketAddr,
    state: Arc<AppState>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TextractServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextractServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl TextractServer {
    /// Binds `addr` (port 0 picks a free one) and serves in the background.
    pub async fn start(addr: SocketAddr, config: TextractConfig) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(AppState {
            runner: Arc::new(jobs::Runner {
                s3: config.s3,
                sqs: config.sqs,
                topics: config.topics,
                limits: config.limits,
                min_duration: config.min_duration,
                slots: Semaphore::new(config.concurrent_jobs.max(1)),
            }),
            jobs: Arc::default(),
            authorizer: RwLock::new(config.authorizer),
        });
        let app = Router::new()
            .route("/", post(dispatch))
            .route("/_local/jobs", get(list_jobs))
            .route("/_local/health", get(|| async { "ok" }))
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            if let Err(error) = crate::net::serve(listener, app).await {
                tracing::error!(%error, "Textract server stopped");
            }
        });
        Ok(Self { addr, state, task })
    }

    /// For `AWS_ENDPOINT_URL_TEXTRACT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the authorizer asked before each call.
    pub fn set_authorizer(&self, authorizer: Option<Authorizer>) {
        *self
            .state
            .authorizer
            .write()
            .unwrap_or_else(PoisonError::into_inner) = authorizer;
    }

    /// Every job started so far.
    pub fn jobs(&self) -> Vec<Job> {
        self.state.jobs.list()
    }
}

impl Drop for TextractServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn dispatch(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let answer = match target {
        "Textract.StartDocumentTextDetection" => start(&state, &headers, &body).await,
        "Textract.GetDocumentTextDetection" => get_results(&state, &headers, &body),
        other => Err(TextractError::unknown_operation(other)),
    };
    match answer {
        Ok(body) => (
            [
                ("content-type", "application/x-amz-json-1.1".to_owned()),
                ("x-amzn-requestid", uuid::Uuid::new_v4().to_string()),
            ],
            body.to_string(),
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

fn allow(
    state: &AppState,
    headers: &HeaderMap,
    action: &str,
    resource: &str,
) -> Result<(), TextractError> {
    let authorizer = state
        .authorizer
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    authorize::check(authorizer.as_ref(), headers, action, resource)
        .map_err(TextractError::access_denied)
}

async fn start(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, TextractError> {
    // StartDocumentTextDetection has no resource-level permissions.
    allow(state, headers, "textract:StartDocumentTextDetection", "*")?;
    let start = request::start(body)?;
    if let Some(channel) = &start.channel {
        allow(state, headers, "iam:PassRole", &channel.role_arn)?;
    }
    match state.jobs.by_token(&start) {
        Ok(Some(job_id)) => return Ok(json!({ "JobId": job_id })),
        Ok(None) => {}
        Err(()) => return Err(TextractError::idempotent_mismatch()),
    }
    let head = state
        .runner
        .s3
        .head_object()
        .bucket(&start.bucket)
        .key(&start.key)
        .set_version_id(start.version.clone())
        .send()
        .await
        .map_err(|_| TextractError::invalid_s3_object())?;
    let size = u64::try_from(head.content_length().unwrap_or(0)).unwrap_or(0);
    if size > state.runner.limits.max_bytes {
        return Err(TextractError::too_large(
            size,
            state.runner.limits.max_bytes,
        ));
    }
    let job_id = state.jobs.insert(&start);
    tokio::spawn(jobs::run(
        Arc::clone(&state.runner),
        Arc::clone(&state.jobs),
        job_id.clone(),
        start,
    ));
    Ok(json!({ "JobId": job_id }))
}

fn get_results(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Value, TextractError> {
    allow(state, headers, "textract:GetDocumentTextDetection", "*")?;
    let get = request::get(body)?;
    let job = state
        .jobs
        .get(&get.job_id)
        .ok_or_else(TextractError::invalid_job_id)?;
    let mut answer = json!({ "JobStatus": job.status, "DetectDocumentTextModelVersion": "1.0" });
    match job.status {
        JobStatus::InProgress => {}
        JobStatus::Failed => answer["StatusMessage"] = json!(job.status_message),
        JobStatus::Succeeded => {
            let offset = match &get.next_token {
                None => 0,
                Some(token) => results::read_token(&job.job_id, token)
                    .ok_or_else(|| TextractError::invalid_parameter("Invalid NextToken"))?,
            };
            let (blocks, next) = results::page(&job.job_id, &job.blocks, offset, get.max_results);
            answer["DocumentMetadata"] = json!({ "Pages": job.pages });
            answer["Blocks"] = json!(blocks);
            if let Some(next) = next {
                answer["NextToken"] = json!(next);
            }
        }
    }
    Ok(answer)
}

async fn list_jobs(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(json!({ "jobs": state.jobs.list() })).into_response()
}
