//! REST API (v1) proxy events in, proxy results and streamed responses out.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::TokenClaims;
use super::routes::Matched;
use crate::runtime_api::ByteStream;

/// The REST API (v1) proxy event API Gateway would send for this request.
pub fn proxy_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    claims: &TokenClaims,
    matched: &Matched<'_>,
) -> Value {
    let mut single = serde_json::Map::new();
    let mut multi: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in headers {
        if name == "authorization" {
            continue;
        }
        let value = value.to_str().unwrap_or_default().to_owned();
        single.insert(name.to_string(), json!(value));
        multi.entry(name.to_string()).or_default().push(value);
    }
    let mut query = serde_json::Map::new();
    let mut multi_query: HashMap<String, Vec<String>> = HashMap::new();
    for pair in uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        // As API Gateway: form-decoded, and left as sent when it does not decode.
        let decode = |s: &str| shared::knowledge::form_decode(s).unwrap_or_else(|_| s.to_owned());
        let (key, value) = (decode(key), decode(value));
        query.insert(key.clone(), json!(value));
        multi_query.entry(key).or_default().push(value);
    }
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (json!(text), false),
        Err(_) => (json!(BASE64.encode(body)), true),
    };
    let path = uri.path();
    json!({
        "resource": matched.route.path,
        "path": path,
        "httpMethod": method.as_str(),
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "multiValueQueryStringParameters": if multi_query.is_empty() { Value::Null } else { json!(multi_query) },
        "pathParameters": if matched.parameters.is_empty() { Value::Null } else { json!(matched.parameters) },
        "stageVariables": null,
        "requestContext": {
            "resourcePath": matched.route.path,
            "httpMethod": method.as_str(),
            "path": format!("/local{path}"),
            "stage": "local",
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "requestId": uuid::Uuid::new_v4().to_string(),
            "requestTimeEpoch": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default(),
            "identity": { "sourceIp": "127.0.0.1" },
            "authorizer": { "claims": {
                "sub": claims.sub, "email": claims.email, "name": claims.name, "iss": claims.iss, "token_use": claims.token_use,
            }},
        },
        "body": if body == json!("") { Value::Null } else { body },
        "isBase64Encoded": is_base64,
    })
}

/// The HTTP response for a function's proxy result.
pub(super) fn proxy_response(result: &Value) -> Response {
    let status = result["statusCode"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let body = result["body"].as_str().unwrap_or_default();
    let bytes = if result["isBase64Encoded"].as_bool().unwrap_or(false) {
        BASE64.decode(body).unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    let mut response = Response::builder().status(status);
    if let Some(headers) = result["headers"].as_object() {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                response = response.header(name, value);
            }
        }
    }
    if let Some(headers) = result["multiValueHeaders"].as_object() {
        for (name, values) in headers {
            for value in values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                response = response.header(name, value);
            }
        }
    }
    response
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

/// The HTTP response for a streamed answer: status and headers from the prelude, then
/// the body passed through chunk by chunk as the function writes it.
pub(super) async fn streamed_response(mut stream: ByteStream) -> Response {
    const DELIMITER: &[u8] = &[0; 8];
    let mut head = Vec::new();
    let (prelude, rest) = loop {
        if let Some(at) = head.windows(DELIMITER.len()).position(|w| w == DELIMITER) {
            let rest = Bytes::copy_from_slice(&head[at + DELIMITER.len()..]);
            head.truncate(at);
            break (head, rest);
        }
        match stream.next().await {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => {
                tracing::error!("A streamed response ended before its prelude");
                return StatusCode::BAD_GATEWAY.into_response();
            }
        }
    };
    let prelude: Value = serde_json::from_slice(&prelude).unwrap_or(Value::Null);
    let status = prelude["statusCode"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = Response::builder().status(status);
    for (name, value) in prelude["headers"].as_object().into_iter().flatten() {
        if let Some(value) = value.as_str() {
            response = response.header(name, value);
        }
    }
    for cookie in prelude["cookies"].as_array().into_iter().flatten() {
        if let Some(cookie) = cookie.as_str() {
            response = response.header("set-cookie", cookie);
        }
    }
    let body = futures_util::stream::once(async move { rest })
        .chain(stream)
        .filter(|chunk| std::future::ready(!chunk.is_empty()))
        .map(Ok::<Bytes, std::convert::Infallible>);
    response
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front_door::{ISSUER, Invoke, Reply, Routes};
    use crate::lambda::LambdaError;

    struct Nothing;

    #[async_trait::async_trait]
    impl Invoke for Nothing {
        async fn invoke(&self, _: &Value) -> Result<Reply, LambdaError> {
            Err(LambdaError::Closed)
        }
    }

    #[test]
    fn requests_become_rest_proxy_events_with_claims_and_no_authorization_header() {
        let claims = TokenClaims {
            sub: "s".into(),
            email: "e@x".into(),
            name: None,
            iss: ISSUER.into(),
            exp: 0,
            token_use: "id".into(),
        };
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer abc".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        let uri: Uri = "/repositories/r1/search?q=solar+panel%21&mode=hybrid"
            .parse()
            .unwrap();
        let routes = Routes::only(std::sync::Arc::new(Nothing));
        let matched = routes.find("GET", uri.path()).unwrap();
        let event = proxy_event(
            &Method::GET,
            &uri,
            &headers,
            &Bytes::new(),
            &claims,
            &matched,
        );
        assert_eq!(event["resource"], "/{proxy+}");
        assert_eq!(event["pathParameters"]["proxy"], "repositories/r1/search");
        assert_eq!(event["path"], "/repositories/r1/search");
        assert_eq!(event["queryStringParameters"]["q"], "solar panel!");
        assert_eq!(event["requestContext"]["authorizer"]["claims"]["sub"], "s");
        assert!(
            event["headers"].get("authorization").is_none(),
            "functions never see the raw token"
        );
        assert_eq!(event["body"], Value::Null);
    }
}
