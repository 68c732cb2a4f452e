//! S3 as the object store.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use crate::error::{AppError, ErrorCode};
use crate::ports::ObjectStore;

#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ObjectStore {
    /// Path-style addressing when an endpoint override is set (moto, MinIO), as they need.
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(
                std::env::var_os("AWS_ENDPOINT_URL_S3").is_some() || sdk.endpoint_url().is_some(),
            )
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: bucket.to_owned(),
        }
    }
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> AppError {
    AppError::new(ErrorCode::Unavailable, format!("S3 {what} failed: {error}"))
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn presign_put(
        &self,
        key: &str,
        content_type: Option<&str>,
        expires: Duration,
    ) -> Result<String, AppError> {
        let config = PresigningConfig::expires_in(expires).map_err(|e| {
            AppError::internal("The upload URL could not be presigned").caused_by(e)
        })?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .set_content_type(content_type.map(str::to_owned))
            .presigned(config)
            .await
            .map_err(|e| unavailable("presign", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(request.uri().to_owned())
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), AppError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| unavailable("PutObject", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, AppError> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(service) if service.is_no_such_key() => {
                    AppError::not_found("The uploaded file is not in storage")
                }
                // Archived by a lifecycle rule (Glacier, Deep Archive): readable again once a
                // restore finishes, so retried, and the item says why if it never does.
                Some(service) if service.is_invalid_object_state() => AppError::new(
                    ErrorCode::Unavailable,
                    "The file is archived in S3 (Glacier storage class) and cannot be read until it is restored",
                ),
                _ => unavailable("GetObject", aws_sdk_s3::error::DisplayErrorContext(e)),
            })?;
        let size = object.content_length().unwrap_or(0).max(0) as u64;
        if size > max_bytes {
            return Err(AppError::new(
                ErrorCode::TooLarge,
                format!("The file is {size} bytes; the limit is {max_bytes}"),
            ));
        }
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| unavailable("reading the object", e))?
            .into_bytes();
        if bytes.len() as u64 > max_bytes {
            return Err(AppError::new(
                ErrorCode::TooLarge,
                format!("The file is over {max_bytes} bytes"),
            ));
        }
        Ok(bytes.to_vec())
    }

    async fn delete(&self, key: &str) -> Result<(), AppError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| unavailable("DeleteObject", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}
