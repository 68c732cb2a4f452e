//! The CloudFormation custom-resource protocol: the request event, and the response that
//! must be PUT to the pre-signed `ResponseURL` whatever happens.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The physical id db-init reports when CloudFormation has not given one yet.
pub const PHYSICAL_ID: &str = "studio-schema-migrations";

/// CloudFormation's request to a custom resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    pub request_type: String,
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub resource_properties: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

impl Request {
    pub fn request_type(&self) -> Result<RequestType, String> {
        match self.request_type.as_str() {
            "Create" => Ok(RequestType::Create),
            "Update" => Ok(RequestType::Update),
            "Delete" => Ok(RequestType::Delete),
            other => Err(format!(
                "unknown RequestType {other:?}; expected Create, Update or Delete"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Success,
    Failed,
}

/// The body PUT to the `ResponseURL`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    pub status: Status,
    pub reason: String,
    pub physical_resource_id: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub no_echo: bool,
    pub data: Value,
}

/// CloudFormation rejects responses over 4096 bytes; reasons are cut (in bytes) well below that.
const MAX_REASON: usize = 2000;

impl Response {
    pub fn new(request: &Request, status: Status, reason: &str, data: Value) -> Self {
        let reason = if reason.len() <= MAX_REASON {
            reason.to_owned()
        } else {
            let cut = (0..=MAX_REASON)
                .rev()
                .find(|&i| reason.is_char_boundary(i))
                .unwrap_or(0);
            format!("{}...", &reason[..cut])
        };
        Self {
            status,
            reason,
            physical_resource_id: request
                .physical_resource_id
                .clone()
                .unwrap_or_else(|| PHYSICAL_ID.to_owned()),
            stack_id: request.stack_id.clone(),
            request_id: request.request_id.clone(),
            logical_resource_id: request.logical_resource_id.clone(),
            no_echo: false,
            data,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not deliver the custom-resource response to CloudFormation: {0}")]
pub struct DeliveryError(String);

/// PUTs the response, retrying briefly: if it never arrives the stack hangs for an hour.
pub async fn send(
    http: &reqwest::Client,
    url: &str,
    response: &Response,
) -> Result<(), DeliveryError> {
    let body = serde_json::to_vec(response).map_err(|e| DeliveryError(e.to_string()))?;
    let mut last_error = String::new();
    for attempt in 0..4u32 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 * 2u64.pow(attempt))).await;
        }
        // The pre-signed URL is signed without a content type, so none is sent.
        let result = http
            .put(url)
            .header("content-type", "")
            .body(body.clone())
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await;
        match result {
            Ok(reply) if reply.status().is_success() => return Ok(()),
            Ok(reply) => last_error = format!("HTTP {}", reply.status()),
            Err(error) => last_error = error.to_string(),
        }
        tracing::warn!(attempt, error = %last_error, "Custom-resource response not accepted");
    }
    Err(DeliveryError(last_error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: &str) -> Request {
        serde_json::from_str(&format!(
            r#"{{"RequestType":"{kind}","ResponseURL":"http://x","StackId":"s","RequestId":"r","LogicalResourceId":"L","ResourceType":"Custom::DbInit"}}"#
        ))
        .unwrap()
    }

    #[test]
    fn responses_echo_the_request_and_keep_the_physical_id() {
        let mut update = request("Update");
        update.physical_resource_id = Some("existing".into());
        let response = Response::new(&update, Status::Success, "ok", Value::Null);
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["Status"], "SUCCESS");
        assert_eq!(json["PhysicalResourceId"], "existing");
        assert_eq!(json["StackId"], "s");
        assert_eq!(json["LogicalResourceId"], "L");
        let created = Response::new(&request("Create"), Status::Failed, "x", Value::Null);
        assert_eq!(created.physical_resource_id, PHYSICAL_ID);
    }

    #[test]
    fn long_reasons_are_cut_to_fit_cloudformations_limit() {
        let response = Response::new(
            &request("Create"),
            Status::Failed,
            &"é".repeat(5000),
            Value::Null,
        );
        assert!(serde_json::to_vec(&response).unwrap().len() < 4096);
        assert!(response.reason.ends_with("..."));
    }

    #[test]
    fn unknown_request_types_are_named_in_the_error() {
        assert_eq!(request("Create").request_type(), Ok(RequestType::Create));
        let error = request("Explode").request_type().unwrap_err();
        assert!(error.contains("\"Explode\""));
    }
}
