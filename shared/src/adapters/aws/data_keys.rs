//! Secrets Manager as the settings data-key store: the secret's value is the key (64 hex
//! characters), its `VersionId` is the key id, and a rotation puts a new value.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::error::{AppError, ErrorCode};
use crate::ports::keys::{DataKey, DataKeys, random_key_hex};

/// How long the current version is reused before asking again (another process may rotate).
const CURRENT_TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
pub struct SecretsManagerDataKeys {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    current: Mutex<Option<(Instant, DataKey)>>,
}

impl SecretsManagerDataKeys {
    /// `secret_id`: the secret's ARN or name (`SETTINGS_KEY_SECRET_ARN`).
    pub fn new(sdk: &aws_config::SdkConfig, secret_id: &str) -> Self {
        Self {
            client: aws_sdk_secretsmanager::Client::new(sdk),
            secret_id: secret_id.to_owned(),
            current: Mutex::new(None),
        }
    }

    async fn fetch(&self, version: Option<&str>) -> Result<DataKey, AppError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .set_version_id(version.map(str::to_owned))
            .send()
            .await
            .map_err(|e| failed("GetSecretValue", DisplayErrorContext(e)))?;
        let id = output
            .version_id()
            .ok_or_else(|| AppError::internal("The settings key secret has no version id"))?;
        let text = output
            .secret_string()
            .ok_or_else(|| AppError::internal("The settings key secret has no text value"))?;
        DataKey::from_hex(id, text)
    }

    fn set_current(&self, key: &DataKey) {
        if let Ok(mut current) = self.current.lock() {
            *current = Some((Instant::now(), key.clone()));
        }
    }
}

fn failed(operation: &str, error: impl std::fmt::Display) -> AppError {
    // The SDK's error names the operation and service, never the secret's value.
    AppError::new(
        ErrorCode::Unavailable,
        format!("Secrets Manager {operation} failed: {error}"),
    )
}

#[async_trait]
impl DataKeys for SecretsManagerDataKeys {
    async fn current(&self) -> Result<DataKey, AppError> {
        if let Ok(current) = self.current.lock()
            && let Some((at, key)) = current.as_ref()
            && at.elapsed() < CURRENT_TTL
        {
            return Ok(key.clone());
        }
        let key = self.fetch(None).await?;
        self.set_current(&key);
        Ok(key)
    }

    async fn version(&self, id: &str) -> Result<DataKey, AppError> {
        self.fetch(Some(id)).await
    }

    async fn rotate(&self) -> Result<DataKey, AppError> {
        let text = random_key_hex();
        let output = self
            .client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(&text)
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .map_err(|e| failed("PutSecretValue", DisplayErrorContext(e)))?;
        let id = output
            .version_id()
            .ok_or_else(|| AppError::internal("PutSecretValue returned no version id"))?;
        let key = DataKey::from_hex(id, &text)?;
        self.set_current(&key);
        Ok(key)
    }
}
