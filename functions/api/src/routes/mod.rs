//! The route table. Each resource has one router with one signature, `route(&Call) ->
//! Routed`: it parses its input, calls one domain function in `shared` (where every access
//! decision is made) and returns data, or `None` when the route is not its own.

mod admin;
mod assistants;
mod conversations;
mod executions;
mod notifications;
mod personas;
mod repositories;
mod schedules;

use serde_json::Value;
use shared::AppError;

use crate::extract::Call;

/// Answers the request with the first router that knows its route.
pub async fn dispatch(call: &Call<'_>) -> Result<Value, AppError> {
    macro_rules! first_match {
        ($($router:ident),+) => {
            $(if let Some(value) = $router::route(call).await? {
                return Ok(value);
            })+
        };
    }
    first_match!(
        repositories,
        conversations,
        personas,
        notifications,
        assistants,
        schedules,
        executions,
        admin
    );
    Err(AppError::not_found(format!(
        "No route for {} /{}",
        call.method(),
        call.path.join("/")
    )))
}
