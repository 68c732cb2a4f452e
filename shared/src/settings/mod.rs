//! Runtime settings: read from the `settings` table first, then the environment, through a
//! 5-minute cache refreshed ahead of expiry ([`Kept`]); secret values are AES-256-GCM
//! encrypted at rest under a data key from Secrets Manager and leave this module only as
//! [`SecretString`].
//!
//! Build one [`Settings`] per process (at cold start) and clone it: clones share the cache,
//! and a write through any clone invalidates it. Other processes see a write within the TTL.

mod admin;
pub mod catalogue;
mod crypto;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use crate::ports::keys::{DataKey, DataKeys};
pub use admin::{NewSetting, Rotation, SettingView};

use crate::cache::{Clock, Kept};
use crate::data_api::{DataApi, Params};
use crate::error::AppError;

/// How long a read of the settings table is reused.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// The settings store; cheap to clone (clones share one cache).
#[derive(Clone)]
pub struct Settings {
    inner: Arc<Inner>,
}

struct Inner {
    db: DataApi,
    keys: Arc<dyn DataKeys>,
    env: Box<EnvLookup>,
    /// The whole table, by key.
    table: Kept<HashMap<String, Row>>,
    /// Data key versions already fetched, by id.
    key_versions: Mutex<HashMap<String, DataKey>>,
}

/// A `settings` row as stored (ciphertext, never plaintext, for secrets).
#[derive(Clone, Deserialize)]
pub(crate) struct Row {
    pub key: String,
    pub value: Option<String>,
    pub is_secret: bool,
    pub ciphertext: Option<Vec<u8>>,
    pub nonce: Option<Vec<u8>>,
    pub encryption_key_id: Option<String>,
    pub description: Option<String>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const ROWS: &str =
    "SELECT key, value, is_secret, ciphertext, nonce, encryption_key_id, description, updated_at
    FROM settings ORDER BY key";

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("ttl", &self.inner.table.ttl())
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// A store over `db` with keys from `keys`, the process environment as fallback and a
    /// 5-minute cache (`SETTINGS_CACHE_SECS` overrides it: the test stack uses 1 s).
    pub fn new(db: DataApi, keys: Arc<dyn DataKeys>) -> Self {
        let ttl = std::env::var("SETTINGS_CACHE_SECS")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .map_or(DEFAULT_TTL, Duration::from_secs);
        Self::with_options(
            db,
            keys,
            Box::new(|name| std::env::var(name).ok()),
            Box::new(Instant::now),
            ttl,
        )
    }

    /// A store with its own environment lookup, clock and cache lifetime (tests).
    pub fn with_options(
        db: DataApi,
        keys: Arc<dyn DataKeys>,
        env: Box<EnvLookup>,
        clock: Box<Clock>,
        ttl: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                keys,
                env,
                table: Kept::with_clock(ttl, Arc::from(clock)),
                key_versions: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A setting's value: the table's (decrypted if secret), else the environment's.
    pub async fn get(&self, key: &str) -> Result<Option<SecretString>, AppError> {
        let rows = self.rows().await?;
        match rows.get(key) {
            Some(row) => self.reveal(row).await,
            None => Ok(self.env(key).map(SecretString::from)),
        }
    }

    /// A non-secret setting as text (a secret one is revealed too: keep it out of logs).
    pub async fn text(&self, key: &str) -> Result<Option<String>, AppError> {
        Ok(self
            .get(key)
            .await?
            .map(|v| v.expose_secret().to_owned())
            .filter(|v| !v.trim().is_empty()))
    }

    /// A setting parsed as `T`, `default` when unset; a value that does not parse is
    /// reported and the default used, so one bad setting cannot stop the studio.
    pub async fn parsed<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, AppError> {
        Ok(match self.text(key).await? {
            None => default,
            Some(text) => text.trim().parse().unwrap_or_else(|_| {
                tracing::warn!(key, "Setting does not parse; using the default");
                default
            }),
        })
    }

    /// Forgets the cached table, so the next read goes to the database.
    pub fn invalidate(&self) {
        self.inner.table.invalidate();
    }

    pub(crate) fn db(&self) -> &DataApi {
        &self.inner.db
    }

    pub(crate) fn keys(&self) -> &dyn DataKeys {
        self.inner.keys.as_ref()
    }

    pub(crate) fn env(&self, key: &str) -> Option<String> {
        (self.inner.env)(&catalogue::env_name(key)).filter(|v| !v.trim().is_empty())
    }

    /// The whole table, as kept.
    pub(crate) async fn rows(&self) -> Result<Arc<HashMap<String, Row>>, AppError> {
        let db = self.inner.db.clone();
        self.inner
            .table
            .get(|| async move {
                let rows: Vec<Row> = db.query(ROWS, Params::new()).await?;
                Ok::<_, AppError>(rows.into_iter().map(|row| (row.key.clone(), row)).collect())
            })
            .await
    }

    pub(crate) async fn reveal(&self, row: &Row) -> Result<Option<SecretString>, AppError> {
        if !row.is_secret {
            return Ok(row.value.clone().map(SecretString::from));
        }
        let (Some(ciphertext), Some(nonce), Some(key_id)) =
            (&row.ciphertext, &row.nonce, &row.encryption_key_id)
        else {
            return Err(AppError::internal(format!(
                "The secret setting {} has no key version",
                row.key
            )));
        };
        let key = self.key_version(key_id).await?;
        crypto::open(&key, &row.key, ciphertext, nonce).map(Some)
    }

    pub(crate) async fn key_version(&self, id: &str) -> Result<DataKey, AppError> {
        if let Some(key) = self
            .inner
            .key_versions
            .lock()
            .ok()
            .and_then(|versions| versions.get(id).cloned())
        {
            return Ok(key);
        }
        let key = self.inner.keys.version(id).await?;
        self.remember(&key);
        Ok(key)
    }

    pub(crate) fn remember(&self, key: &DataKey) {
        if let Ok(mut versions) = self.inner.key_versions.lock() {
            versions.insert(key.id.clone(), key.clone());
        }
    }
}
