//! Storage and queues: where uploaded documents live and how work reaches another function.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::AppError;

/// Where uploaded documents live.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// A URL the client PUTs the object to, valid for `expires`.
    async fn presign_put(
        &self,
        key: &str,
        content_type: Option<&str>,
        expires: Duration,
    ) -> Result<String, AppError>;
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), AppError>;
    /// The object's bytes; `too_large` without reading it when it is over `max_bytes`.
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, AppError>;
    /// Removes the object; removing one that is gone is not an error.
    async fn delete(&self, key: &str) -> Result<(), AppError>;
}

/// Work handed to another function through a queue.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends each body as one message (batched on the wire).
    async fn send(&self, bodies: Vec<String>) -> Result<(), AppError>;
}
