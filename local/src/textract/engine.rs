//! The OCR behind the local Textract: PDF pages rendered with `pdftoppm` (images go in as
//! they are), each page read by `tesseract` (its TSV output: lines, boxes, confidence),
//! bounded in bytes, pages and time per tool run. Debian: `tesseract-ocr`, `poppler-utils`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use shared::extract::{DocumentKind, sniff};
use tokio::process::Command;

use super::results::Line;
use super::tsv;

/// What one job may cost.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_pages: usize,
    /// Render resolution; 200 dpi reads 10 pt text well and keeps pages small.
    pub dpi: u32,
    /// For rendering every page, and for reading each page.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 50 * 1024 * 1024,
            max_pages: 200,
            dpi: 200,
            timeout: Duration::from_secs(120),
        }
    }
}

/// Why a job failed, worded as Textract's `StatusMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

const UNSUPPORTED: &str = "Request has unsupported document format";

/// The lines of every page of the document `bytes` (named `key`), page 1 first.
pub async fn read_pages(
    bytes: &[u8],
    key: &str,
    limits: &Limits,
) -> Result<Vec<Vec<Line>>, Failure> {
    let work = WorkDir::create()?;
    let dir = work.path();
    let kind = sniff(bytes, key, None).map_err(|_| Failure(UNSUPPORTED.to_owned()))?;
    let images = match kind {
        DocumentKind::Pdf => {
            let pages = lopdf::Document::load_mem(bytes)
                .map(|d| d.get_pages().len())
                .map_err(|_| Failure(UNSUPPORTED.to_owned()))?;
            if pages > limits.max_pages {
                return Err(Failure(format!(
                    "The document has {pages} pages, more than the maximum of {}",
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
        _ => return Err(Failure(UNSUPPORTED.to_owned())),
    };
    let mut pages = Vec::with_capacity(images.len());
    for image in &images {
        let tsv = run(
            "tesseract",
            Command::new("tesseract").arg(image).args(["stdout", "tsv"]),
            limits.timeout,
        )
        .await?;
        pages.push(tsv::lines_of(&tsv));
    }
    Ok(pages)
}

async fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    tokio::fs::write(path, bytes).await.map_err(|e| {
        Failure(format!(
            "Internal server error: cannot write the work file: {e}"
        ))
    })
}

/// Renders every page to `page-<n>.png`, returned in page order.
async fn render_pdf(input: &Path, dir: &Path, limits: &Limits) -> Result<Vec<PathBuf>, Failure> {
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
        .map_err(|e| Failure(format!("Internal server error: cannot list the pages: {e}")))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let stem = path.file_stem()?.to_str()?;
            let number = stem.strip_prefix("page-")?.parse().ok()?;
            (path.extension()? == "png").then_some((number, path))
        })
        .collect();
    pages.sort();
    if pages.is_empty() {
        return Err(Failure(UNSUPPORTED.to_owned()));
    }
    Ok(pages.into_iter().map(|(_, path)| path).collect())
}

/// Runs a tool with a time limit, its output captured; a missing tool says how to get it.
async fn run(tool: &str, command: &mut Command, limit: Duration) -> Result<String, Failure> {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Failure(format!(
                "Internal server error: {tool} is not installed here; the local Textract needs the Debian packages tesseract-ocr and poppler-utils"
            )),
            _ => Failure(format!("Internal server error: cannot run {tool}: {e}")),
        })?;
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| {
            Failure(format!(
                "Internal server error: {tool} took longer than {} s",
                limit.as_secs()
            ))
        })?
        .map_err(|e| Failure(format!("Internal server error: {tool} failed: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        tracing::warn!(tool, status = %output.status, stderr = last.trim(), "OCR tool failed");
        return Err(Failure(UNSUPPORTED.to_owned()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A private folder for one job, removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create() -> Result<Self, Failure> {
        let path =
            std::env::temp_dir().join(format!("studio-textract-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&path).map_err(|e| {
            Failure(format!(
                "Internal server error: cannot create a work folder: {e}"
            ))
        })?;
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
    async fn a_document_that_is_not_a_scan_fails_as_textract_says() {
        let failure = read_pages(b"plain words", "notes.txt", &Limits::default())
            .await
            .unwrap_err();
        assert_eq!(failure.0, "Request has unsupported document format");
    }
}
