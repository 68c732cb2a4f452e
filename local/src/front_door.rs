//! The local API Gateway: HTTP requests become REST API proxy events for a function, after
//! a bearer JWT is verified the way API Gateway's Cognito authorizer does; its claims go in
//! `requestContext.authorizer.claims`, the only identity functions trust.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::StreamExt;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::runtime_api::ByteStream;

/// The issuer of locally minted tokens.
pub const ISSUER: &str = "studio-local";

/// What a function returned for a proxy event: its proxy result, or a streamed HTTP
/// response (a JSON prelude with status and headers, 8 NUL bytes, then the body).
pub enum Reply {
    Json(Value),
    Stream(ByteStream),
}

/// Something that runs a function with an event and returns its result.
#[async_trait]
pub trait Invoke: Send + Sync {
    async fn invoke(&self, payload: &Value) -> Result<Reply, String>;
}

/// Which function serves a request: the first route whose path prefix matches, else the
/// default (the `api` function), as the REST API's resources do.
#[derive(Clone)]
pub struct Routes {
    pub default: Arc<dyn Invoke>,
    pub prefixes: Vec<(&'static str, Arc<dyn Invoke>)>,
}

impl Routes {
    pub fn only(function: Arc<dyn Invoke>) -> Self {
        Self {
            default: function,
            prefixes: Vec::new(),
        }
    }

    /// The function for `path`: the first route whose segments begin it (`*` matches any
    /// one segment, so `/executions/*/events` is a route).
    fn for_path(&self, path: &str) -> &Arc<dyn Invoke> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.prefixes
            .iter()
            .find(|(route, _)| {
                let route: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
                route.len() <= segments.len()
                    && route
                        .iter()
                        .zip(&segments)
                        .all(|(want, got)| *want == "*" || want == got)
            })
            .map_or(&self.default, |(_, function)| function)
    }
}

/// The claims a local token carries (a Cognito ID token's essentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub sub: String,
    pub email: String,
    pub name: Option<String>,
    pub iss: String,
    pub exp: u64,
    pub token_use: String,
}

/// Signs and verifies local tokens with the stack's development key (HS256).
#[derive(Clone)]
pub struct DevKey(Vec<u8>);

impl std::fmt::Debug for DevKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevKey(<redacted>)")
    }
}

impl DevKey {
    /// The key kept in `path`, created (32 random bytes) on first use.
    pub fn load_or_create(path: &std::path::Path) -> std::io::Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(bytes) = hex::decode(text.trim())
            && bytes.len() >= 32
        {
            return Ok(Self(bytes));
        }
        let bytes: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
        std::fs::write(path, hex::encode(&bytes))?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// A token for `sub`/`email`, valid for `hours`.
    pub fn mint(
        &self,
        sub: &str,
        email: &str,
        name: Option<&str>,
        hours: u64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = TokenClaims {
            sub: sub.to_owned(),
            email: email.to_owned(),
            name: name.map(str::to_owned),
            iss: ISSUER.to_owned(),
            exp: now + hours * 3600,
            token_use: "id".to_owned(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.0),
        )
    }

    /// The claims of a valid, unexpired token from this key.
    pub fn verify(&self, token: &str) -> Option<TokenClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<TokenClaims>(token, &DecodingKey::from_secret(&self.0), &validation)
            .ok()
            .map(|data| data.claims)
    }
}

struct Door {
    key: DevKey,
    routes: Routes,
}

/// The front door's HTTP service.
pub fn router(key: DevKey, routes: Routes) -> Router {
    Router::new()
        .fallback(proxy)
        .with_state(Arc::new(Door { key, routes }))
}

/// Binds `addr` and serves in the background; returns the bound address.
pub async fn start(
    addr: SocketAddr,
    key: DevKey,
    routes: Routes,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(key, routes);
    let task = tokio::spawn(async move {
        if let Err(error) = crate::net::serve(listener, app).await {
            tracing::error!(%error, "Front door stopped");
        }
    });
    Ok((bound, task))
}

async fn proxy(
    State(door): State<Arc<Door>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let claims = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| door.key.verify(token.trim()));
    // As API Gateway: no valid token, no call to the function.
    let Some(claims) = claims else {
        return (
            StatusCode::UNAUTHORIZED,
            [("content-type", "application/json")],
            r#"{"message":"Unauthorized"}"#,
        )
            .into_response();
    };
    let event = proxy_event(&method, &uri, &headers, &body, &claims);
    match door.routes.for_path(uri.path()).invoke(&event).await {
        Ok(Reply::Json(result)) => proxy_response(&result),
        Ok(Reply::Stream(stream)) => streamed_response(stream).await,
        Err(error) => {
            tracing::error!(%error, "Function invocation failed");
            (
                StatusCode::BAD_GATEWAY,
                [("content-type", "application/json")],
                r#"{"message":"Internal server error"}"#,
            )
                .into_response()
        }
    }
}

/// The REST API (v1) proxy event API Gateway would send for this request.
pub fn proxy_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    claims: &TokenClaims,
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
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method.as_str(),
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "multiValueQueryStringParameters": if multi_query.is_empty() { Value::Null } else { json!(multi_query) },
        "pathParameters": { "proxy": path.trim_start_matches('/') },
        "stageVariables": null,
        "requestContext": {
            "resourcePath": "/{proxy+}",
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
fn proxy_response(result: &Value) -> Response {
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
async fn streamed_response(mut stream: ByteStream) -> Response {
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

    struct Named;

    #[async_trait]
    impl Invoke for Named {
        async fn invoke(&self, _: &Value) -> Result<Reply, String> {
            Ok(Reply::Json(json!("named")))
        }
    }

    struct Default;

    #[async_trait]
    impl Invoke for Default {
        async fn invoke(&self, _: &Value) -> Result<Reply, String> {
            Ok(Reply::Json(json!("default")))
        }
    }

    #[tokio::test]
    async fn routes_match_whole_segments_and_wildcards() {
        let routes = Routes {
            default: Arc::new(Default),
            prefixes: vec![
                ("/chat", Arc::new(Named)),
                ("/executions/*/events", Arc::new(Named)),
            ],
        };
        let target = async |path: &str| match routes.for_path(path).invoke(&Value::Null).await {
            Ok(Reply::Json(v)) => v,
            _ => Value::Null,
        };
        assert_eq!(target("/chat").await, "named");
        assert_eq!(target("/chatter").await, "default");
        assert_eq!(target("/executions/abc/events").await, "named");
        assert_eq!(target("/executions/abc").await, "default");
        assert_eq!(target("/repositories").await, "default");
    }

    #[test]
    fn tokens_verify_only_with_their_key_and_issuer() {
        let key = DevKey::from_bytes(vec![7; 32]);
        let token = key
            .mint("local-staff", "staff@example.com", Some("Sam"), 1)
            .unwrap();
        let claims = key.verify(&token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.email.as_str()),
            ("local-staff", "staff@example.com")
        );
        assert!(
            DevKey::from_bytes(vec![8; 32]).verify(&token).is_none(),
            "another key"
        );
        assert!(key.verify("not.a.token").is_none());
        let old = TokenClaims {
            sub: "a".into(),
            email: "a@b.c".into(),
            name: None,
            iss: ISSUER.into(),
            exp: 1_000,
            token_use: "id".into(),
        };
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &old,
            &EncodingKey::from_secret(&[7; 32]),
        )
        .unwrap();
        assert!(key.verify(&expired).is_none(), "expired");
        let foreign = TokenClaims {
            iss: "someone-else".into(),
            exp: u64::MAX / 2,
            ..old
        };
        let foreign = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &foreign,
            &EncodingKey::from_secret(&[7; 32]),
        )
        .unwrap();
        assert!(key.verify(&foreign).is_none(), "another issuer");
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
        let event = proxy_event(&Method::GET, &uri, &headers, &Bytes::new(), &claims);
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
