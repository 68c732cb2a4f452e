//! Turns an API Gateway request into a caller and a route, and the outcome into an
//! ActionState response with the request id.

use lambda_http::{Body, Request, Response};
use shared::auth;
use shared::data_api::DataApi;
use shared::http;
use shared::ports::embed::Embedder;
use shared::ports::{ObjectStore, Queue};
use shared::settings::Settings;

use crate::routes;

pub struct Deps {
    pub db: DataApi,
    pub store: Box<dyn ObjectStore>,
    /// The file-processing queue, for reprocessing and URL items.
    pub processing: Box<dyn Queue>,
    /// The assistant-runs queue the scheduled-executor consumes.
    pub assistant_runs: Box<dyn Queue>,
    pub embedder: Box<dyn Embedder>,
    /// Runtime settings (one per process: clones share the cache).
    pub settings: Settings,
}

pub async fn handle(request: Request, deps: &Deps) -> Result<Response<Body>, lambda_http::Error> {
    let request_id = http::request_id(&request);
    let outcome = match http::claims(&request) {
        Ok(claims) => match auth::resolve(&deps.db, &claims).await {
            Ok(caller) => routes::dispatch(&request, &caller, deps, &request_id).await,
            Err(error) => Err(error),
        },
        Err(error) => Err(error),
    };
    match &outcome {
        // A failure of ours or of a service we call: its cause is for the operator's log.
        Err(error) if error.http_status() >= 500 => {
            tracing::warn!(code = %error.code, method = %request.method(), path = request.uri().path(), message = %error.message, "Request failed");
        }
        Err(error) => {
            tracing::info!(code = %error.code, method = %request.method(), path = request.uri().path(), "Request refused");
        }
        Ok(_) => {}
    }
    http::respond(outcome, &request_id)
}
