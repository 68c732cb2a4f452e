//! Routes a streaming request: checks come first and fail as ActionState JSON; once they
//! pass, the answer streams.

use std::sync::Arc;
use std::time::Instant;

use lambda_http::{Request, RequestExt, Response};
use lambda_runtime::streaming::Body;
use shared::chat::request::ChatBody;
use shared::chat::service::{self, Ledger, Models};
use shared::chat::{compare, openai_compat};
use shared::data_api::DataApi;
use shared::ports::embed::Embedder;
use shared::rate_limit;
use shared::settings::Settings;
use shared::{AppError, http};
use tokio::sync::mpsc;

use crate::sse;

/// One stored run event as an SSE frame (`event: <type>`, `data: <json>`).
fn event_frame(event: shared::chain::store::Event) -> Option<String> {
    let data = serde_json::json!({"seq": event.seq, "type": event.event_type, "data": event.data, "at": event.created_at});
    Some(format!(
        "id: {}\nevent: {}\ndata: {data}\n\n",
        event.seq, event.event_type
    ))
}

/// A streamed body that is one buffer.
fn whole(bytes: Vec<u8>) -> Body {
    let (mut sender, body) = lambda_runtime::streaming::channel();
    tokio::spawn(async move {
        let _ = sender.send_data(bytes.into()).await;
    });
    body
}

fn json_response(
    status: u16,
    value: &serde_json::Value,
    request_id: &str,
) -> Result<Response<Body>, AppError> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-request-id", request_id)
        .body(whole(value.to_string().into_bytes()))
        .map_err(|e| AppError::internal("The response could not be built").caused_by(e))
}

/// Starts the task that calls the model and lets it run up to its first wait before the
/// response goes back to the runtime: on this one-thread runtime the provider request then
/// leaves first, and building and sending the response prelude (not on the path to the
/// first token) happens while the provider works.
async fn start(answer: impl Future<Output = ()> + Send + 'static) {
    tokio::spawn(answer);
    tokio::task::yield_now().await;
}

pub struct Deps {
    pub db: DataApi,
    pub settings: Settings,
    pub embedder: Box<dyn Embedder>,
    pub models: Box<dyn Models>,
    pub ledger: Box<dyn Ledger>,
}

pub async fn handle(
    request: Request,
    deps: Arc<Deps>,
) -> Result<Response<Body>, lambda_http::Error> {
    let request_id = http::request_id(&request);
    match route(&request, &deps, &request_id).await {
        Ok(response) => Ok(response),
        Err(error) => {
            tracing::info!(code = %error.code, path = request.raw_http_path(), "Request refused");
            if request.raw_http_path().starts_with("/v1/") {
                // OpenAI SDKs read errors in OpenAI's shape.
                let body = serde_json::json!({"error": {"message": error.message, "type": error.code.as_str(), "code": error.code.as_str()}});
                return json_response(error.http_status(), &body, &request_id)
                    .or_else(|e| Ok(Response::new(whole(e.message.into_bytes()))));
            }
            let response = http::respond::<()>(Err(error), &request_id)?;
            let (parts, body) = response.into_parts();
            Ok(Response::from_parts(parts, whole(body.to_vec())))
        }
    }
}

async fn route(
    request: &Request,
    deps: &Arc<Deps>,
    request_id: &str,
) -> Result<Response<Body>, AppError> {
    // Every route here is a prompt: counted against the caller's hourly limit as the caller
    // signs in (one round trip).
    let started = Instant::now();
    let (caller, _) =
        rate_limit::sign_in_for_prompt(&deps.db, &deps.settings, &http::claims(request)?).await?;
    let signed_in = started.elapsed();
    // `Server-Timing`: what the checks before the stream cost (browsers' dev tools show it).
    let timing = || {
        let total = started.elapsed();
        (
            "server-timing",
            format!(
                "signin;dur={:.2}, prepare;dur={:.2}",
                signed_in.as_secs_f64() * 1e3,
                (total - signed_in).as_secs_f64() * 1e3
            ),
        )
    };
    match (
        request.method().as_str(),
        request.raw_http_path().trim_end_matches('/'),
    ) {
        ("POST", "/chat") => {
            let turn = ChatBody::parse(request.body().as_ref())?;
            let is_new = turn.body.conversation_id.is_none() && !turn.body.temporary;
            let chat = service::prepare(
                &deps.db,
                deps.models.as_ref(),
                deps.embedder.as_ref(),
                caller,
                turn,
                request_id.to_owned(),
            )
            .await?;
            let mut headers = vec![
                sse::protocol_header(),
                ("x-request-id", request_id.to_owned()),
                timing(),
            ];
            if is_new {
                headers.push(("x-conversation-id", chat.conversation_id.to_string()));
            }
            let (out, chunks) = mpsc::channel(256);
            let deps = Arc::clone(deps);
            start(async move { service::run(&deps.db, deps.ledger.as_ref(), chat, out).await })
                .await;
            sse::response(&headers, chunks, sse::ui_message_stream(), sse::UI_DONE)
                .map_err(|e| AppError::internal("The response could not be built").caused_by(e))
        }
        ("POST", "/compare") => {
            let compare = compare::prepare(
                &deps.db,
                deps.models.as_ref(),
                caller,
                request.body().as_ref(),
                request_id.to_owned(),
            )
            .await?;
            let (out, chunks) = mpsc::channel(256);
            let deps = Arc::clone(deps);
            start(async move { compare::run(deps.ledger.as_ref(), compare, out).await }).await;
            let headers = [
                sse::protocol_header(),
                ("x-request-id", request_id.to_owned()),
                timing(),
            ];
            sse::response(&headers, chunks, sse::ui_message_stream(), sse::UI_DONE)
                .map_err(|e| AppError::internal("The response could not be built").caused_by(e))
        }
        ("POST", "/v1/chat/completions") => {
            let completion = openai_compat::prepare(
                &deps.db,
                deps.models.as_ref(),
                deps.embedder.as_ref(),
                caller,
                request.body().as_ref(),
                request_id.to_owned(),
            )
            .await?;
            let (model, stream, include_usage) = (
                completion.speaker.model_name.clone(),
                completion.stream,
                completion.include_usage,
            );
            let (out, chunks) = mpsc::channel(256);
            let deps = Arc::clone(deps);
            start(async move { openai_compat::run(deps.ledger.as_ref(), completion, out).await })
                .await;
            if stream {
                let mut encoder = openai_compat::ChunkEncoder::new(&model, include_usage);
                let headers = [("x-request-id", request_id.to_owned()), timing()];
                sse::response(
                    &headers,
                    chunks,
                    Box::new(move |c| encoder.encode(c)),
                    sse::UI_DONE,
                )
                .map_err(|e| AppError::internal("The response could not be built").caused_by(e))
            } else {
                let completion = openai_compat::collect(&model, chunks).await?;
                json_response(200, &completion, request_id)
            }
        }
        ("GET", path) if path.starts_with("/executions/") && path.ends_with("/events") => {
            let id = path
                .trim_start_matches("/executions/")
                .trim_end_matches("/events");
            let id = uuid::Uuid::parse_str(id)
                .map_err(|_| AppError::validation(format!("{id:?} is not an id")))?;
            let execution = shared::chain::store::get(&deps.db, &caller, id).await?;
            let (out, events) = mpsc::channel(64);
            let db = deps.db.clone();
            tokio::spawn(async move {
                if let Err(error) = shared::chain::store::follow(&db, execution.id, 0, out).await {
                    tracing::warn!(error = %error.chain(), "Could not read execution events");
                }
            });
            let headers = [("x-request-id", request_id.to_owned())];
            sse::response(
                &headers,
                events,
                Box::new(event_frame),
                "event: end\ndata: {}\n\n",
            )
            .map_err(|e| AppError::internal("The response could not be built").caused_by(e))
        }
        (method, path) => Err(AppError::not_found(format!("No route for {method} {path}"))),
    }
}
