//! The hook a local AWS service calls before doing anything, so the stack can enforce the
//! template's IAM policies with one evaluator: it sees the request's headers (the SigV4
//! `Authorization` names the caller's access key), the action and the resource.

use std::sync::Arc;

use axum::http::HeaderMap;

/// Allows a call (`Ok`) or refuses it with the reason the caller is shown.
/// Arguments: the request headers, the IAM action (`textract:StartDocumentTextDetection`),
/// the resource ARN (`*` where the action has no resource-level permissions).
pub type Authorizer = Arc<dyn Fn(&HeaderMap, &str, &str) -> Result<(), String> + Send + Sync>;

/// Runs `authorizer`, if any; no authorizer allows everything.
pub fn check(
    authorizer: Option<&Authorizer>,
    headers: &HeaderMap,
    action: &str,
    resource: &str,
) -> Result<(), String> {
    authorizer.map_or(Ok(()), |allow| allow(headers, action, resource))
}
