//! tesseract as the OCR engine, in Textract's asynchronous shape: `start` puts the same
//! SNS-wrapped completion Textract would send on the OCR completion queue, and `results`
//! reads the stored object, renders PDF pages with `pdftoppm` (images go in as they are)
//! and runs `tesseract` on each page. Debian: `tesseract-ocr`, `poppler-utils`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::process::Command;
use uuid::Uuid;

use crate::error::{AppError, ErrorCode};
use crate::extract::{DocumentKind, sniff};
use crate::ocr::{Completion, DocumentLocation, JobResult, OcrEngine, OcrPage, TEXT_DETECTION_API};
use crate::ports::ObjectStore;

/// What one local OCR job may cost.
#[derive(Debug, Clone)]
pub struct TesseractLimits {
    pub max_bytes: u64,
    pub max_pages: usize,
    /// Render resolution; 200 dpi reads 10 pt text well and keeps pages small.
    pub dpi: u32,
    /// For rendering every page, and for reading each page.
    pub timeout: Duration,
}

impl Default for TesseractLimits {
    fn default() -> Self {
        Self {
            max_bytes: 50 * 1024 * 1024,
            max_pages: 200,
            dpi: 200,
            timeout: Duration::from_secs(120),
        }
    }
}

pub struct TesseractOcr {
    store: Arc<dyn ObjectStore>,
    sqs: aws_sdk_sqs::Client,
    bucket: String,
    completion_queue_url: String,
    pub limits: TesseractLimits,
}

impl TesseractOcr {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        sqs: aws_sdk_sqs::Client,
        bucket: &str,
        completion_queue_url: &str,
    ) -> Self {
        Self {
            store,
            sqs,
            bucket: bucket.to_owned(),
            completion_queue_url: completion_queue_url.to_owned(),
            limits: TesseractLimits::default(),
        }
    }
}

#[async_trait]
impl OcrEngine for TesseractOcr {
    async fn start(&self, key: &str, item_id: Uuid) -> Result<String, AppError> {
        let job_id = format!("local-{}", Uuid::new_v4().simple());
        let completion = Completion {
            job_id: job_id.clone(),
            status: "SUCCEEDED".to_owned(),
            api: TEXT_DETECTION_API.to_owned(),
            job_tag: Some(item_id.to_string()),
            timestamp: Some(chrono::Utc::now().timestamp_millis()),
            document_location: DocumentLocation {
                s3_object_name: key.to_owned(),
                s3_bucket: self.bucket.clone(),
            },
        };
        let body = completion.to_sns_message("arn:aws:sns:us-east-1:123456789012:local-ocr")?;
        // Textract takes seconds; a short delay gives the starter time to record the job.
        self.sqs
            .send_message()
            .queue_url(&self.completion_queue_url)
            .message_body(body)
            .delay_seconds(1)
            .send()
            .await
            .map_err(|e| {
                AppError::new(
                    ErrorCode::Unavailable,
                    format!(
                        "SQS SendMessage failed: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(e)
                    ),
                )
            })?;
        Ok(job_id)
    }

    async fn results(&self, completion: &Completion) -> Result<JobResult, AppError> {
        let key = &completion.document_location.s3_object_name;
        let bytes = self.store.get(key, self.limits.max_bytes).await?;
        let work = WorkDir::create()?;
        match read_pages(&bytes, key, work.path(), &self.limits).await {
            Ok(pages) => {
                let page_count = u32::try_from(pages.len()).unwrap_or(u32::MAX);
                Ok(JobResult::Text { pages, page_count })
            }
            Err(OcrFailure(reason)) => Ok(JobResult::Failed(reason)),
        }
    }
}

/// Why local OCR could not read a document, in words for its uploader (or its operator).
#[derive(Debug)]
struct OcrFailure(String);

async fn read_pages(
    bytes: &[u8],
    key: &str,
    dir: &Path,
    limits: &TesseractLimits,
) -> Result<Vec<OcrPage>, OcrFailure> {
    let kind = sniff(bytes, key, None).map_err(|e| OcrFailure(e.to_string()))?;
    let images = match kind {
        DocumentKind::Pdf => {
            let pages = lopdf::Document::load_mem(bytes)
                .map(|d| d.get_pages().len())
                .map_err(|e| OcrFailure(format!("the PDF cannot be read: {e}")))?;
            if pages > limits.max_pages {
                return Err(OcrFailure(format!(
                    "the scan has {pages} pages; local OCR reads at most {}",
                    limits.max_pages
                )));
            }
            let input = dir.join("input.pdf");
            write(&input, bytes).await?;
            render_pdf(&input, dir, limits).await?
        }
        DocumentKind::Png | DocumentKind::Jpeg | DocumentKind::Tiff => {
            let input = dir.join(format!("page-1.{}", kind.label().to_lowercase()));
            write(&input, bytes).await?;
            vec![input]
        }
        other => {
            return Err(OcrFailure(format!(
                "OCR reads PDFs and images, not {}",
                other.label()
            )));
        }
    };
    let mut pages = Vec::with_capacity(images.len());
    for (index, image) in images.iter().enumerate() {
        let text = run(
            "tesseract",
            Command::new("tesseract").arg(image).arg("stdout"),
            limits.timeout,
        )
        .await?;
        pages.push(OcrPage {
            number: u32::try_from(index + 1).unwrap_or(u32::MAX),
            lines: text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        });
    }
    Ok(pages)
}

async fn write(path: &Path, bytes: &[u8]) -> Result<(), OcrFailure> {
    tokio::fs::write(path, bytes)
        .await
        .map_err(|e| OcrFailure(format!("cannot write the OCR work file: {e}")))
}

/// Renders every page to `page-<n>.png`, returned in page order.
async fn render_pdf(
    input: &Path,
    dir: &Path,
    limits: &TesseractLimits,
) -> Result<Vec<PathBuf>, OcrFailure> {
    run(
        "pdftoppm",
        Command::new("pdftoppm")
            .args(["-r", &limits.dpi.to_string(), "-gray", "-png", "-l"])
            .arg(limits.max_pages.to_string())
            .arg(input)
            .arg(dir.join("page")),
        limits.timeout,
    )
    .await?;
    let mut pages: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| OcrFailure(format!("cannot list the rendered pages: {e}")))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let stem = path.file_stem()?.to_str()?;
            let number = stem.strip_prefix("page-")?.parse().ok()?;
            (path.extension()? == "png").then_some((number, path))
        })
        .collect();
    pages.sort();
    if pages.is_empty() {
        return Err(OcrFailure("pdftoppm rendered no pages".to_owned()));
    }
    Ok(pages.into_iter().map(|(_, path)| path).collect())
}

/// Runs a tool with a time limit, its output captured; a missing tool says how to get it.
async fn run(tool: &str, command: &mut Command, limit: Duration) -> Result<String, OcrFailure> {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => OcrFailure(format!(
                "{tool} is not installed here; local OCR needs the Debian packages tesseract-ocr and poppler-utils"
            )),
            _ => OcrFailure(format!("cannot run {tool}: {e}")),
        })?;
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| OcrFailure(format!("{tool} took longer than {} s", limit.as_secs())))?
        .map_err(|e| OcrFailure(format!("{tool} failed: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(OcrFailure(format!(
            "{tool} could not read the file ({}): {}",
            output.status,
            last.trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A private folder for one job, removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create() -> Result<Self, AppError> {
        let path = std::env::temp_dir().join(format!("studio-ocr-{}", Uuid::new_v4().simple()));
        std::fs::create_dir(&path)
            .map_err(|e| AppError::internal(format!("cannot create an OCR work folder: {e}")))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_tool_is_named_with_its_package() {
        let failure = run(
            "tesseract",
            &mut Command::new("/nonexistent/tesseract"),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert!(failure.0.contains("tesseract-ocr"), "{}", failure.0);
    }

    #[tokio::test]
    async fn a_document_that_is_not_a_scan_is_refused() {
        let dir = WorkDir::create().unwrap();
        let failure = read_pages(
            b"plain words",
            "notes.txt",
            dir.path(),
            &TesseractLimits::default(),
        )
        .await
        .unwrap_err();
        assert!(failure.0.contains("PDFs and images"), "{}", failure.0);
    }
}
