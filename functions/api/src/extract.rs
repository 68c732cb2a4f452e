//! One request as every route sees it ([`Call`]): its method and path, the caller, the
//! dependencies, and typed readers for the body, ids and the query string.

use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::AppError;
use shared::auth::Caller;
use shared::data_api::DataApi;
use uuid::Uuid;

use crate::deps::Deps;

pub struct Call<'a> {
    pub request: &'a Request,
    pub caller: &'a Caller,
    pub deps: &'a Deps,
    /// API Gateway's request id, recorded with what the request starts.
    pub request_id: &'a str,
    /// The resource path's segments, without the stage prefix API Gateway adds to the URI.
    pub path: &'a [&'a str],
}

/// What a router answers: `None` when the route is not one of its own.
pub type Routed = Result<Option<Value>, AppError>;

impl Call<'_> {
    pub fn method(&self) -> &str {
        self.request.method().as_str()
    }

    pub fn db(&self) -> &DataApi {
        &self.deps.db
    }

    /// The JSON body as `T`; a readable validation error when it is missing or malformed.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, AppError> {
        let bytes = self.request.body().as_ref();
        if bytes.is_empty() {
            return Err(AppError::validation("The request needs a JSON body"));
        }
        serde_json::from_slice(bytes).map_err(invalid_body)
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.request
            .query_string_parameters_ref()
            .and_then(|q| q.first(name))
    }

    /// Whether the query string sets `name=true`.
    pub fn flag(&self, name: &str) -> bool {
        self.query(name) == Some("true")
    }

    pub fn query_int(&self, name: &str, default: i64) -> Result<i64, AppError> {
        match self.query(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| AppError::validation(format!("{name} must be a whole number"))),
        }
    }
}

/// A path segment as an id.
pub fn id(text: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(text).map_err(|_| AppError::validation(format!("{text:?} is not an id")))
}

/// A route's answer as JSON.
pub fn json<T: serde::Serialize>(value: T) -> Result<Option<Value>, AppError> {
    serde_json::to_value(value)
        .map(Some)
        .map_err(|e| AppError::internal("The answer could not be written as JSON").caused_by(e))
}

/// A part of the body as `T`.
pub fn parsed<T: DeserializeOwned>(value: Value) -> Result<T, AppError> {
    serde_json::from_value(value).map_err(invalid_body)
}

fn invalid_body(error: serde_json::Error) -> AppError {
    AppError::validation(format!("The request body is not valid: {error}"))
}
