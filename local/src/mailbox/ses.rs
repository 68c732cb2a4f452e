//! A local Amazon SES v2 for sending: `POST /v2/email/outbound-emails` (SendEmail with raw
//! MIME content, the REST-JSON the real `aws-sdk-sesv2` client speaks) accepts a message
//! from a verified identity (an address, or its domain) and writes it, bytes unchanged, as
//! an `.eml` file in the mailbox folder; any other sender is refused with SES's
//! `MessageRejected`. `POST /v2/email/identities` (CreateEmailIdentity) verifies one more.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mail_parser::MessageParser;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

use super::ses_error::SesError;
use crate::account::{ACCOUNT_ID, REGION};
use crate::authorize::{self, Authorizer};

/// SES v2's largest message, attachments and all.
const MAX_MESSAGE_BYTES: usize = 40 * 1024 * 1024;

struct AppState {
    dir: PathBuf,
    /// Verified identities, lower case: addresses and domains.
    verified: RwLock<Vec<String>>,
    authorizer: RwLock<Option<Authorizer>>,
}

/// A running server; it stops when this is dropped.
pub struct SesServer {
    pub addr: SocketAddr,
    state: Arc<AppState>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for SesServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SesServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl SesServer {
    /// Serves on `addr` (port 0 picks one), writing into `mailbox_dir` (created on the first
    /// message), accepting senders whose address or domain is in `verified`.
    pub async fn start(
        addr: SocketAddr,
        mailbox_dir: impl Into<PathBuf>,
        verified: Vec<String>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(AppState {
            dir: mailbox_dir.into(),
            verified: RwLock::new(verified.iter().map(|v| v.trim().to_lowercase()).collect()),
            authorizer: RwLock::default(),
        });
        let app = Router::new()
            .route("/v2/email/outbound-emails", post(send_email))
            .route("/v2/email/identities", post(create_identity))
            .route("/_local/health", get(|| async { "ok" }))
            .fallback(|| async {
                SesError::new(
                    StatusCode::NOT_FOUND,
                    "NotFoundException",
                    "Unknown operation",
                )
                .into_response()
            })
            .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES / 3 * 4 + 64 * 1024))
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            if let Err(error) = crate::net::serve(listener, app).await {
                tracing::error!(%error, "SES server stopped");
            }
        });
        Ok(Self { addr, state, task })
    }

    /// For `AWS_ENDPOINT_URL_SESV2`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where accepted messages are written.
    pub fn mailbox_dir(&self) -> &Path {
        &self.state.dir
    }

    /// Asked before each call: (headers, `ses:SendEmail`, the identity's ARN).
    pub fn set_authorizer(&self, authorizer: Option<Authorizer>) {
        *self
            .state
            .authorizer
            .write()
            .unwrap_or_else(PoisonError::into_inner) = authorizer;
    }
}

impl Drop for SesServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendBody {
    from_email_address: Option<String>,
    content: Option<ContentBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContentBody {
    raw: Option<RawBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawBody {
    data: Option<String>,
}

/// The address in `Name <address>` or a bare address, lower case.
fn address_of(text: &str) -> String {
    let text = text.trim();
    let inner = match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => &text[open + 1..close],
        _ => text,
    };
    inner.trim().to_lowercase()
}

/// The verified identity `address` sends as: the address itself, or its domain.
fn identity_for<'a>(verified: &'a [String], address: &str) -> Option<&'a String> {
    let domain = address.rsplit_once('@').map(|(_, d)| d);
    verified
        .iter()
        .find(|v| **v == address)
        .or_else(|| verified.iter().find(|v| Some(v.as_str()) == domain))
}

fn identity_arn(identity: &str) -> String {
    format!("arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/{identity}")
}

fn allow(
    state: &AppState,
    headers: &HeaderMap,
    action: &str,
    resource: &str,
) -> Result<(), SesError> {
    let authorizer = state
        .authorizer
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    authorize::check(authorizer.as_ref(), headers, action, resource)
        .map_err(|reason| SesError::new(StatusCode::FORBIDDEN, "AccessDeniedException", reason))
}

async fn send_email(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match send(&state, &headers, &body).await {
        Ok(message_id) => axum::Json(json!({ "MessageId": message_id })).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn send(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<String, SesError> {
    let body: SendBody = serde_json::from_slice(body)
        .map_err(|e| SesError::bad_request(format!("Cannot read the request: {e}")))?;
    let data = body
        .content
        .and_then(|c| c.raw)
        .and_then(|r| r.data)
        .ok_or_else(|| {
            SesError::bad_request("The local SES sends raw content only (Content.Raw.Data)")
        })?;
    let raw = STANDARD
        .decode(data.trim())
        .map_err(|_| SesError::bad_request("Content.Raw.Data is not base64"))?;
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(SesError::rejected(format!(
            "Message length is more than {MAX_MESSAGE_BYTES} bytes long"
        )));
    }
    let parsed = MessageParser::default()
        .parse_headers(&raw)
        .ok_or_else(|| SesError::rejected("The message is not a MIME message"))?;
    let from = match body.from_email_address {
        Some(from) => address_of(&from),
        None => parsed
            .from()
            .and_then(|f| f.first())
            .and_then(|a| a.address())
            .map(address_of)
            .ok_or_else(|| SesError::rejected("Missing required header 'From'."))?,
    };
    let verified = state
        .verified
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let identity = identity_for(&verified, &from).cloned();
    allow(
        state,
        headers,
        "ses:SendEmail",
        &identity_arn(identity.as_deref().unwrap_or(&from)),
    )?;
    if identity.is_none() {
        return Err(SesError::rejected(format!(
            "Email address is not verified. The following identities failed the check in region {}: {from}",
            REGION.to_uppercase()
        )));
    }
    let message_id = format!(
        "0100{:012x}-{}-000000",
        chrono::Utc::now().timestamp_millis(),
        uuid::Uuid::new_v4()
    );
    let file = write_eml(&state.dir, &message_id, &raw)
        .await
        .map_err(|e| {
            SesError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                format!("cannot write to {}: {e}", state.dir.display()),
            )
        })?;
    tracing::info!(message_id, file = %file.display(), "E-mail written to the local mailbox");
    Ok(message_id)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdentityBody {
    email_identity: String,
}

async fn create_identity(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<IdentityBody>(&body) else {
        return SesError::bad_request("EmailIdentity is required").into_response();
    };
    let identity = address_of(&body.email_identity);
    if let Err(error) = allow(
        &state,
        &headers,
        "ses:CreateEmailIdentity",
        &identity_arn(&identity),
    ) {
        return error.into_response();
    }
    let mut verified = state
        .verified
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    if verified.contains(&identity) {
        return SesError::new(
            StatusCode::CONFLICT,
            "AlreadyExistsException",
            format!("Email identity {identity} already exists."),
        )
        .into_response();
    }
    let kind = if identity.contains('@') {
        "EMAIL_ADDRESS"
    } else {
        "DOMAIN"
    };
    verified.push(identity);
    // Locally an identity is verified at once (no link to click).
    axum::Json(json!({ "IdentityType": kind, "VerifiedForSendingStatus": true })).into_response()
}

/// Writes one message into `dir` (created when missing) as `<time>-<message id>.eml`;
/// written aside, then renamed, so a reader never sees half a message.
pub async fn write_eml(dir: &Path, message_id: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let name = format!(
        "{}-{}.eml",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
        message_id.replace(['/', '\\'], "_")
    );
    tokio::fs::create_dir_all(dir).await?;
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, bytes).await?;
    let file = dir.join(&name);
    tokio::fs::rename(&partial, &file).await?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_is_verified_by_its_address_or_its_domain() {
        let verified = vec![
            "notifications@studio.local".to_owned(),
            "example.org".to_owned(),
        ];
        assert_eq!(
            identity_for(
                &verified,
                &address_of("AI Studio <Notifications@studio.local>")
            ),
            Some(&verified[0])
        );
        assert_eq!(
            identity_for(&verified, "ada@example.org"),
            Some(&verified[1])
        );
        assert_eq!(identity_for(&verified, "other@studio.local"), None);
        assert_eq!(identity_for(&verified, "ada@sub.example.org"), None);
    }
}
