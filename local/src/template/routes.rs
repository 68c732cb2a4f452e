//! API routes from the transformed REST APIs' OpenAPI bodies: which function each
//! integration invokes, whether it streams, and the routes API Gateway answers itself.

use serde_json::Value;

use super::Template;
use super::intrinsics::scalar;
use super::intrinsics::u32_of;
use super::model::{ApiRoute, MockRoute};
use super::physical::IdMap;

/// (integration URI, route) for each Lambda route, and the routes API Gateway answers itself.
pub(super) type Routes = (Vec<(String, ApiRoute)>, Vec<MockRoute>);

const METHODS: &[&str] = &[
    "get",
    "put",
    "post",
    "delete",
    "options",
    "head",
    "patch",
    "any",
    "x-amazon-apigateway-any-method",
];

/// (integration URI, route) for each Lambda route of each REST API, and the mock routes.
pub(super) fn routes(template: &Template, ids: &IdMap) -> anyhow::Result<Routes> {
    let (mut routes, mut mocks) = (Vec::new(), Vec::new());
    for (logical_id, _) in template.of_kind("AWS::ApiGateway::RestApi") {
        let properties = template.properties(logical_id, ids)?;
        let paths = properties.pointer("/Body/paths").and_then(Value::as_object);
        for (path, item) in paths.into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let method = method.to_lowercase();
                if !METHODS.contains(&method.as_str()) {
                    continue;
                }
                let method = if method.contains("any") {
                    "ANY".to_owned()
                } else {
                    method.to_uppercase()
                };
                let Some(integration) = operation.get("x-amazon-apigateway-integration") else {
                    continue;
                };
                let kind = integration.get("type").and_then(scalar).unwrap_or_default();
                if kind.eq_ignore_ascii_case("mock") {
                    let response = integration.pointer("/responses/default");
                    mocks.push(MockRoute {
                        method,
                        path: path.clone(),
                        status: response
                            .and_then(|r| u32_of(r.get("statusCode")))
                            .and_then(|s| u16::try_from(s).ok())
                            .unwrap_or(200),
                        body: response
                            .and_then(|r| r.pointer("/responseTemplates/application~1json"))
                            .and_then(scalar)
                            .unwrap_or_default(),
                    });
                    continue;
                }
                let uri = integration.get("uri").and_then(scalar).unwrap_or_default();
                let streaming = integration
                    .get("responseTransferMode")
                    .and_then(scalar)
                    .is_some_and(|m| m == "STREAM")
                    || uri.contains("response-streaming-invocations");
                routes.push((
                    uri,
                    ApiRoute {
                        method,
                        path: path.clone(),
                        streaming,
                    },
                ));
            }
        }
    }
    Ok((routes, mocks))
}
