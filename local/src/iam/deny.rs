//! Refusals in each service's own error shape, so the SDKs decode the code they would on AWS.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::classify::Protocol;
use super::evaluate::Decision;

/// AWS's wording: `User: ARN is not authorized to perform: ACTION on resource: RESOURCE
/// because no identity-based policy allows the ACTION action` (or `with an explicit deny
/// in an identity-based policy`).
pub fn denial_message(
    principal_arn: &str,
    action: &str,
    resource: &str,
    decision: &Decision,
) -> String {
    let why = match decision {
        Decision::ExplicitDeny { .. } => {
            "with an explicit deny in an identity-based policy".to_owned()
        }
        _ => format!("because no identity-based policy allows the {action} action"),
    };
    format!(
        "User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {why}"
    )
}

/// The refusal of an action the caller's policies do not allow.
pub fn deny_response(
    service: &str,
    protocol: Protocol,
    principal_arn: &str,
    action: &str,
    resource: &str,
    decision: &Decision,
) -> Response {
    let message = denial_message(principal_arn, action, resource, decision);
    let code = match (service, protocol) {
        ("s3", _) => "AccessDenied",
        ("sns", _) => "AuthorizationError",
        ("sqs", _) => "AccessDenied",
        _ => "AccessDeniedException",
    };
    refusal(service, protocol, code, &message)
}

/// An access key id no role was issued: `InvalidAccessKeyId` (S3), `InvalidClientTokenId`
/// (SQS, SNS) or `UnrecognizedClientException`.
pub fn unrecognized_client_response(service: &str, protocol: Protocol) -> Response {
    match service {
        "s3" => refusal(
            service,
            protocol,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        ),
        "sqs" | "sns" => refusal(
            service,
            protocol,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ),
        _ => refusal(
            service,
            protocol,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
    }
}

/// A request with no SigV4 credential at all.
pub fn missing_authentication_response(service: &str, protocol: Protocol) -> Response {
    match service {
        "s3" => refusal(service, protocol, "AccessDenied", "Access Denied"),
        "sqs" | "sns" => refusal(
            service,
            protocol,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ),
        _ => refusal(
            service,
            protocol,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ),
    }
}

fn refusal(service: &str, protocol: Protocol, code: &str, message: &str) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    match protocol {
        Protocol::RestXml => xml(
            StatusCode::FORBIDDEN,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message><RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>",
                escape(message)
            ),
            &request_id,
        ),
        Protocol::Query => {
            let namespace = if service == "sns" {
                "http://sns.amazonaws.com/doc/2010-03-31/"
            } else {
                "http://queue.amazonaws.com/doc/2012-11-05/"
            };
            xml(
                StatusCode::FORBIDDEN,
                format!(
                    "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{namespace}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message><Detail/></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                    escape(message)
                ),
                &request_id,
            )
        }
        // SQS's JSON protocol is "query compatible": the SDKs take the code from
        // `x-amzn-query-error` (`AccessDenied;Sender`), as they did from the XML.
        Protocol::AwsJson if service == "sqs" => (
            StatusCode::FORBIDDEN,
            [
                ("content-type", "application/x-amz-json-1.0".to_owned()),
                ("x-amzn-query-error", format!("{code};Sender")),
                ("x-amzn-requestid", request_id),
            ],
            json!({"__type": format!("com.amazon.coral.service#{code}"), "message": message})
                .to_string(),
        )
            .into_response(),
        Protocol::AwsJson => (
            StatusCode::BAD_REQUEST,
            [
                ("content-type", "application/x-amz-json-1.1".to_owned()),
                ("x-amzn-requestid", request_id),
            ],
            json!({"__type": code, "Message": message}).to_string(),
        )
            .into_response(),
        Protocol::RestJson => (
            StatusCode::FORBIDDEN,
            [
                ("content-type", "application/json".to_owned()),
                ("x-amzn-ErrorType", code.to_owned()),
                ("x-amzn-requestid", request_id),
            ],
            json!({"message": message}).to_string(),
        )
            .into_response(),
    }
}

fn xml(status: StatusCode, body: String, request_id: &str) -> Response {
    (
        status,
        [
            ("content-type", "application/xml".to_owned()),
            ("x-amz-request-id", request_id.to_owned()),
        ],
        body,
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_worded_as_aws_words_it() {
        let arn = "arn:aws:sts::123456789012:assumed-role/api-role/api";
        assert_eq!(
            denial_message(
                arn,
                "s3:GetObject",
                "arn:aws:s3:::b/k",
                &Decision::ImplicitDeny
            ),
            "User: arn:aws:sts::123456789012:assumed-role/api-role/api is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k because no identity-based policy allows the s3:GetObject action"
        );
        assert!(
            denial_message(
                arn,
                "s3:GetObject",
                "r",
                &Decision::ExplicitDeny { sid: None }
            )
            .ends_with("on resource: r with an explicit deny in an identity-based policy")
        );
    }

    #[test]
    fn json_services_answer_400_with_access_denied_exception() {
        let response = deny_response(
            "secretsmanager",
            Protocol::AwsJson,
            "p",
            "a",
            "r",
            &Decision::ImplicitDeny,
        );
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response = deny_response(
            "bedrock",
            Protocol::RestJson,
            "p",
            "a",
            "r",
            &Decision::ImplicitDeny,
        );
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()["x-amzn-ErrorType"],
            "AccessDeniedException"
        );
    }
}
