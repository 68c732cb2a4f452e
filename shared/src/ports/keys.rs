//! Data keys for settings encryption: versioned 256-bit keys held outside the database.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretBox};

use crate::error::AppError;

/// One version of the data key. `id` is what `settings.encryption_key_id` stores.
#[derive(Clone)]
pub struct DataKey {
    pub id: String,
    bytes: Arc<SecretBox<[u8; 32]>>,
}

impl DataKey {
    pub fn new(id: impl Into<String>, bytes: [u8; 32]) -> Self {
        Self {
            id: id.into(),
            bytes: Arc::new(SecretBox::new(Box::new(bytes))),
        }
    }

    /// Reads the secret's text form: 64 hex characters.
    pub fn from_hex(id: impl Into<String>, text: &str) -> Result<Self, AppError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| {
            AppError::internal("The settings data key is not 64 hexadecimal characters")
        })?;
        Ok(Self::new(id, bytes))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        self.bytes.expose_secret()
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .field("bytes", &"<redacted>")
            .finish()
    }
}

/// Where the data key lives (Secrets Manager on AWS and in moto). Versions stay readable
/// after a rotation, so values encrypted under an older version still decrypt.
#[async_trait]
pub trait DataKeys: Send + Sync {
    /// The version new values are encrypted with.
    async fn current(&self) -> Result<DataKey, AppError>;
    /// A version by id, current or older.
    async fn version(&self, id: &str) -> Result<DataKey, AppError>;
    /// Makes a fresh random key the current version and returns it.
    async fn rotate(&self) -> Result<DataKey, AppError>;
}

/// A fresh random 256-bit key (OS randomness).
pub fn random_key_hex() -> String {
    use aes_gcm::aead::{KeyInit, OsRng};
    hex::encode(aes_gcm::Aes256Gcm::generate_key(&mut OsRng))
}
