//! The REST API's resources and methods, as the template declares them, and which one a
//! request reaches: the most specific resource whose path matches (literal segments before
//! `{param}`, before a greedy `{proxy+}`), then its method or `ANY`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Invoke;

/// One method of one resource, integrated with a function.
#[derive(Clone)]
pub struct Route {
    /// `GET`, `POST`... or `ANY`.
    pub method: String,
    /// The resource path: `/chat`, `/executions/{id}/events`, `/{proxy+}`.
    pub path: String,
    pub function: Arc<dyn Invoke>,
}

#[derive(Clone, Default)]
pub struct Routes {
    routes: Vec<Route>,
}

/// A request matched to a route: the resource path and the path parameters it binds.
pub struct Matched<'a> {
    pub route: &'a Route,
    pub parameters: BTreeMap<String, String>,
}

/// Why no function serves a request: API Gateway's answer for a resource or method the
/// API does not have.
#[derive(Debug, PartialEq, Eq)]
pub struct MissingAuthenticationToken;

impl Routes {
    pub fn new(routes: Vec<Route>) -> Self {
        Self { routes }
    }

    /// Every request to one function (`ANY /{proxy+}`).
    pub fn only(function: Arc<dyn Invoke>) -> Self {
        Self::new(vec![Route {
            method: "ANY".to_owned(),
            path: "/{proxy+}".to_owned(),
            function,
        }])
    }

    pub fn find(
        &self,
        method: &str,
        path: &str,
    ) -> Result<Matched<'_>, MissingAuthenticationToken> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        // The most specific resource that matches the path is the one API Gateway picks.
        let best = self
            .routes
            .iter()
            .filter_map(|route| bind(&route.path, &segments).map(|p| (specificity(&route.path), p)))
            .max_by_key(|(rank, _)| *rank)
            .ok_or(MissingAuthenticationToken)?;
        let resource = self.routes.iter().filter(|route| {
            specificity(&route.path) == best.0 && bind(&route.path, &segments).is_some()
        });
        let mut any = None;
        for route in resource {
            if route.method.eq_ignore_ascii_case(method) {
                return Ok(Matched {
                    route,
                    parameters: best.1,
                });
            }
            if route.method == "ANY" {
                any = Some(route);
            }
        }
        any.map(|route| Matched {
            route,
            parameters: best.1,
        })
        .ok_or(MissingAuthenticationToken)
    }
}

/// Literal segments count most, then parameters; a greedy `{proxy+}` least.
fn specificity(pattern: &str) -> (usize, usize, bool) {
    let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let literal = parts.iter().filter(|p| !p.starts_with('{')).count();
    let greedy = parts.last().is_some_and(|p| p.ends_with("+}"));
    (literal, parts.len(), !greedy)
}

/// The path parameters `pattern` binds for `segments`, if it matches them.
fn bind(pattern: &str, segments: &[&str]) -> Option<BTreeMap<String, String>> {
    let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let mut parameters = BTreeMap::new();
    for (i, part) in parts.iter().enumerate() {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            if i >= segments.len() {
                return None;
            }
            parameters.insert(name.to_owned(), segments[i..].join("/"));
            return Some(parameters);
        }
        let segment = segments.get(i)?;
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => {
                parameters.insert(name.to_owned(), (*segment).to_owned());
            }
            None if part == segment => {}
            None => return None,
        }
    }
    (parts.len() == segments.len()).then_some(parameters)
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use serde_json::Value;

    use super::*;
    use crate::front_door::Reply;
    use crate::lambda::LambdaError;

    struct Named;

    #[async_trait]
    impl Invoke for Named {
        async fn invoke(&self, _: &Value) -> Result<Reply, LambdaError> {
            Err(LambdaError::Closed)
        }
    }

    fn routes() -> Routes {
        let route = |method: &str, path: &str| Route {
            method: method.to_owned(),
            path: path.to_owned(),
            function: Arc::new(Named),
        };
        Routes::new(vec![
            route("ANY", "/{proxy+}"),
            route("POST", "/chat"),
            route("POST", "/v1/chat/completions"),
            route("GET", "/executions/{id}/events"),
        ])
    }

    #[test]
    fn the_most_specific_resource_serves_a_request() {
        let routes = routes();
        let path = |method: &str, path: &str| {
            routes
                .find(method, path)
                .map(|m| (m.route.path.clone(), m.parameters))
        };
        assert_eq!(path("POST", "/chat").unwrap().0, "/chat");
        assert_eq!(path("POST", "/chatter").unwrap().0, "/{proxy+}");
        let (resource, parameters) = path("GET", "/executions/abc/events").unwrap();
        assert_eq!(resource, "/executions/{id}/events");
        assert_eq!(parameters["id"], "abc");
        let (resource, parameters) = path("GET", "/executions/abc").unwrap();
        assert_eq!(resource, "/{proxy+}");
        assert_eq!(parameters["proxy"], "executions/abc");
        assert_eq!(path("GET", "/v1/models").unwrap().0, "/{proxy+}");
    }

    #[test]
    fn a_resource_without_the_method_is_refused_as_api_gateway_refuses_it() {
        let routes = routes();
        assert!(routes.find("GET", "/chat").is_err());
        assert!(Routes::default().find("GET", "/anything").is_err());
        assert!(
            routes.find("GET", "/").is_err(),
            "{{proxy+}} needs a segment"
        );
    }
}
