//! Turns an API Gateway request into a caller and a route, and the outcome into an
//! ActionState response with the request id.

use lambda_http::{Body, Request, RequestExt, Response};
use shared::auth;
use shared::http;

use crate::deps::Deps;
use crate::extract::Call;
use crate::routes;

pub async fn handle(request: Request, deps: &Deps) -> Result<Response<Body>, lambda_http::Error> {
    let request_id = http::request_id(&request);
    let raw_path = request.raw_http_path().to_owned();
    let path: Vec<&str> = raw_path.split('/').filter(|s| !s.is_empty()).collect();
    let outcome = match http::claims(&request) {
        Ok(claims) => match auth::resolve(&deps.db, &claims).await {
            Ok(caller) => {
                let call = Call {
                    request: &request,
                    caller: &caller,
                    deps,
                    request_id: &request_id,
                    path: &path,
                };
                routes::dispatch(&call).await
            }
            Err(error) => Err(error),
        },
        Err(error) => Err(error),
    };
    match &outcome {
        // A failure of ours or of a service we call: its cause is for the operator's log.
        Err(error) if error.http_status() >= 500 => {
            tracing::warn!(code = %error.code, method = %request.method(), path = request.uri().path(), error = %error.chain(), "Request failed");
        }
        Err(error) => {
            tracing::info!(code = %error.code, method = %request.method(), path = request.uri().path(), "Request refused");
        }
        Ok(_) => {}
    }
    http::respond(outcome, &request_id)
}
