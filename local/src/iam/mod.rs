//! Local IAM: each function's calls are evaluated against its role's policies from the
//! template and refused, in the service's own error shape, when not allowed.
//!
//! [`authorize`] is the one decision every enforcement point asks: the [`gateway`] in
//! front of moto, the Data API server and the Bedrock server.
//!
//! Not enforced: signatures (see [`principals`]); resource-based policies (bucket and
//! queue policies), permission boundaries, SCPs and session policies; condition keys the
//! classifiers do not fill in (only the Secrets Manager by-name marker is set, so a
//! statement conditioned on e.g. `s3:prefix` or `iam:PassedToService` applies only when
//! its operator is negated); policy variables; `iam:PassRole` (no IAM endpoint here);
//! deliveries moto makes itself (S3 notifications to SQS, SNS to SQS), which AWS governs by
//! resource policies. Operations the classifiers do not know are refused for roles.

pub mod classify;
pub mod deny;
pub mod enforce;
pub mod evaluate;
mod form;
pub mod gateway;
pub mod policy;
pub mod principals;

use axum::http::{HeaderMap, Method};
use axum::response::Response;

pub use classify::{Protocol, Unclassified, classify};
pub use enforce::{Guard, enforce};
pub use evaluate::{Decision, Request, evaluate, refused_resource};
pub use gateway::Gateway;
pub use policy::{Policy, PolicyError};
pub use principals::{
    ADMIN_ACCESS_KEY_ID, CredentialScope, Credentials, IssueError, Principal, Principals,
};

/// One HTTP request as an enforcement point sees it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// `Ok` when the caller may make this call; else the refusal to send back. `service` is
/// the service the server stands for; `None` takes it from the credential scope (the
/// gateway, which fronts several).
pub fn authorize(
    principals: &Principals,
    service: Option<&str>,
    call: Call<'_>,
) -> Result<(), Box<Response>> {
    let authorization = call
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let scope = CredentialScope::from_request(authorization, call.query);
    let service = service
        .map(str::to_owned)
        .or_else(|| scope.as_ref().map(|s| s.service.clone()))
        .unwrap_or_else(|| guess_service(call.headers));
    let protocol = Protocol::detect(&service, call.headers);
    let Some(scope) = scope else {
        tracing::warn!(service, path = call.path, "Refused by IAM: no credentials");
        return Err(Box::new(deny::missing_authentication_response(
            &service, protocol,
        )));
    };
    let Some(principal) = principals.get(&scope.access_key_id) else {
        tracing::warn!(
            service,
            access_key_id = scope.access_key_id,
            "Refused by IAM: unknown access key"
        );
        return Err(Box::new(deny::unrecognized_client_response(
            &service, protocol,
        )));
    };
    if principal.admin {
        return Ok(());
    }
    let requests = match classify(
        &service,
        call.method,
        call.path,
        call.query,
        call.headers,
        call.body,
    ) {
        Ok(requests) => requests,
        Err(unclassified) => {
            let action = format!("{service}:{}", unclassified.operation);
            tracing::warn!(
                principal = principal.arn,
                action,
                resource = "*",
                "Refused by IAM: operation unknown to the local IAM"
            );
            return Err(Box::new(deny::deny_response(
                &service,
                protocol,
                &principal.arn,
                &action,
                "*",
                &Decision::ImplicitDeny,
            )));
        }
    };
    for request in &requests {
        if let Some((resource, decision)) = refused_resource(&principal.policies, request) {
            tracing::warn!(
                principal = principal.arn,
                action = request.action,
                resource,
                ?decision,
                "Refused by IAM"
            );
            return Err(Box::new(deny::deny_response(
                &service,
                protocol,
                &principal.arn,
                &request.action,
                &resource,
                &decision,
            )));
        }
    }
    Ok(())
}

/// A request without a credential scope: the service from its `X-Amz-Target`, else S3.
fn guess_service(headers: &HeaderMap) -> String {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match target.split('.').next().unwrap_or("") {
        "AmazonSQS" => "sqs",
        "secretsmanager" => "secretsmanager",
        "AWSEvents" => "events",
        "Textract" => "textract",
        _ => "s3",
    }
    .to_owned()
}

/// The evaluator as the hook of the local services that check one action at a time
/// (Textract, SES): the caller is the access key of the request's SigV4 credential scope.
/// An `iam:PassRole` is asked as the service that takes the role (`service_principal`).
pub fn authorizer(
    principals: std::sync::Arc<Principals>,
    service_principal: &'static str,
) -> crate::authorize::Authorizer {
    std::sync::Arc::new(move |headers: &HeaderMap, action: &str, resource: &str| {
        let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
        let scope = CredentialScope::from_request(authorization, "")
            .ok_or_else(|| "Missing Authentication Token".to_owned())?;
        let principal = principals
            .get(&scope.access_key_id)
            .ok_or_else(|| "The security token included in the request is invalid.".to_owned())?;
        if principal.admin {
            return Ok(());
        }
        let mut request = Request::new(action, vec![resource.to_owned()]);
        if action.eq_ignore_ascii_case("iam:PassRole") {
            request = request.with_context("iam:PassedToService", &[service_principal]);
        }
        match evaluate(&principal.policies, &request) {
            Decision::Allow => Ok(()),
            decision => {
                tracing::warn!(principal = %principal.arn, action, resource, "Refused by IAM");
                Err(deny::denial_message(
                    &principal.arn,
                    action,
                    resource,
                    &decision,
                ))
            }
        }
    })
}
