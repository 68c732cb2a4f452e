//! Notification routes: the caller's own notifications, and marking one read.

use lambda_http::{Request, RequestExt};
use serde_json::Value;
use shared::AppError;
use shared::auth::Caller;
use shared::data_api::DataApi;
use shared::notify;

use crate::routes::{query_int, to_value, uuid};

pub async fn dispatch(
    request: &Request,
    caller: &Caller,
    db: &DataApi,
    path: &[&str],
) -> Result<Value, AppError> {
    match (request.method().as_str(), path) {
        ("GET", []) => {
            let unread = request
                .query_string_parameters_ref()
                .and_then(|q| q.first("unread"))
                .is_some_and(|v| v == "true");
            let limit = query_int(request, "limit", notify::inbox::MAX_LIST)?;
            let offset = query_int(request, "offset", 0)?;
            to_value(notify::list(db, caller, unread, limit, offset).await?)
        }
        ("POST", [id, "read"]) => to_value(notify::mark_read(db, caller, uuid(id)?).await?),
        (method, _) => Err(AppError::not_found(format!(
            "No route for {method} /notifications/{}",
            path.join("/")
        ))),
    }
}
