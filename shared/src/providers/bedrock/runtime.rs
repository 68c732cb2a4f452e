//! What the Bedrock adapters (embeddings, chat) share: the runtime client built for our
//! retry policy, and how a failed call is classified from Bedrock's error codes.

use std::time::Duration;

use aws_sdk_bedrockruntime::config::http::HttpResponse;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

/// The ambient AWS configuration (the function's role on Lambda) in the region `settings`
/// name, else the function's own.
pub async fn sdk_config(settings: &crate::ports::chat::ProviderSettings) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &settings.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    loader.load().await
}

/// A Bedrock Runtime client without SDK retries (the embedding generator backs off on
/// throttling, chat falls back to another model), `endpoint` overriding the SDK's.
pub fn runtime_client(
    sdk: &aws_config::SdkConfig,
    endpoint: Option<&str>,
    timeouts: aws_config::timeout::TimeoutConfig,
) -> aws_sdk_bedrockruntime::Client {
    let mut config = aws_sdk_bedrockruntime::config::Builder::from(sdk)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .timeout_config(timeouts);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_bedrockruntime::Client::from_conf(config.build())
}

/// What a failed Bedrock call means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// ThrottlingException, ServiceQuotaExceededException, HTTP 429.
    Throttled,
    /// 5xx, ServiceUnavailable, InternalServer, ModelNotReady, ModelTimeout, ModelError,
    /// or no answer at all (connection refused or cut).
    Unavailable,
    /// The SDK gave up waiting (its timeout configuration).
    TimedOut,
    /// AccessDenied or a refused signature.
    Unauthorized,
    /// ValidationException, ResourceNotFound and other 4xx: no retry can fix it.
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Classified {
    pub failure: Failure,
    /// The HTTP status, when an HTTP response arrived.
    pub status: Option<u16>,
    /// Bedrock's error code and message (never the request, which holds user text).
    pub message: String,
}

/// Classifies a failed operation call by Bedrock's error code, then by HTTP status.
pub(crate) fn classify<E>(error: &SdkError<E, HttpResponse>) -> Classified
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    let code = error.code().unwrap_or_default();
    let message = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => DisplayErrorContext(error).to_string(),
    };
    let failure = match (error, code) {
        (SdkError::TimeoutError(_), _) => Failure::TimedOut,
        (SdkError::DispatchFailure(_) | SdkError::ResponseError(_), _) => Failure::Unavailable,
        (
            _,
            "ThrottlingException" | "ServiceQuotaExceededException" | "TooManyRequestsException",
        ) => Failure::Throttled,
        (
            _,
            "ServiceUnavailableException"
            | "InternalServerException"
            | "ModelNotReadyException"
            | "ModelTimeoutException"
            | "ModelErrorException"
            | "ModelStreamErrorException",
        ) => Failure::Unavailable,
        (
            _,
            "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException",
        ) => Failure::Unauthorized,
        (_, "ValidationException" | "ResourceNotFoundException") => Failure::Rejected,
        _ => match status {
            Some(429) => Failure::Throttled,
            Some(401 | 403) => Failure::Unauthorized,
            Some(s) if s >= 500 => Failure::Unavailable,
            Some(_) => Failure::Rejected,
            None => Failure::Unavailable,
        },
    };
    Classified {
        failure,
        status,
        message,
    }
}

/// The SDK's default connect timeout is 3.1 s; Lambda to Bedrock needs far less, but a
/// cold NAT path can be slow, so allow a little more.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
