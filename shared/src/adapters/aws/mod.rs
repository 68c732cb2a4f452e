//! AWS adapters, built from the ambient SDK configuration (`AWS_ENDPOINT_URL_*` locally).

mod data_keys;
mod mailer;
mod object_store;
mod ocr;
mod queue;

pub use data_keys::SecretsManagerDataKeys;
pub use mailer::SesMailer;
pub use object_store::S3ObjectStore;
pub use ocr::TextractOcr;
pub use queue::SqsQueue;

/// The shared SDK configuration, loaded once at cold start.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
