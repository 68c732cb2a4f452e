//! AWS adapters, built from the ambient SDK configuration (`AWS_ENDPOINT_URL_*` locally),
//! each behind the cargo feature of its SDK.

#[cfg(feature = "secrets-manager")]
mod data_keys;
#[cfg(feature = "ses")]
mod mailer;
#[cfg(feature = "s3")]
mod object_store;
#[cfg(feature = "textract")]
mod ocr;
#[cfg(feature = "sqs")]
mod queue;

#[cfg(feature = "secrets-manager")]
pub use data_keys::SecretsManagerDataKeys;
#[cfg(feature = "ses")]
pub use mailer::SesMailer;
#[cfg(feature = "s3")]
pub use object_store::S3ObjectStore;
#[cfg(feature = "textract")]
pub use ocr::TextractOcr;
#[cfg(feature = "sqs")]
pub use queue::SqsQueue;

/// The shared SDK configuration, loaded once at cold start.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
