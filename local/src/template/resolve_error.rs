//! Why an intrinsic function or a condition of the template could not be resolved.

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{0} is not supported by the local stack")]
    Unsupported(String),
    #[error("{function}: {name} is neither a parameter nor a resource of the template")]
    Unknown {
        function: &'static str,
        name: String,
    },
    #[error("{function}: {reason}")]
    Invalid {
        function: &'static str,
        reason: String,
    },
    #[error("condition {0} is not defined (or refers to itself)")]
    UnknownCondition(String),
}

pub(super) fn invalid(function: &'static str, reason: impl Into<String>) -> ResolveError {
    ResolveError::Invalid {
        function,
        reason: reason.into(),
    }
}
