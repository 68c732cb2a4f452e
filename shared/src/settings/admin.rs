//! What administrators do with settings: list (never a secret's value), set, delete, and
//! rotate the data key (every secret re-encrypted in one transaction).

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{ROWS, Row, Settings, catalogue, crypto};
use crate::auth::Caller;
use crate::data_api::Params;
use crate::error::AppError;

/// Longest value a setting takes (a system prompt fits; a Data API row is capped at 64 KB).
const MAX_VALUE_BYTES: usize = 32 * 1024;

/// A setting as administrators see it: a secret's value is never included.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingView {
    pub key: String,
    pub is_secret: bool,
    pub has_value: bool,
    /// `database`, `environment`, or absent when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// The value of a non-secret setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub description: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The body of `PUT /settings/{key}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSetting {
    pub value: String,
    /// Defaults to whether the key names a credential.
    pub is_secret: Option<bool>,
    pub description: Option<String>,
}

impl std::fmt::Debug for NewSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSetting")
            .field("value", &"<redacted>")
            .field("is_secret", &self.is_secret)
            .finish_non_exhaustive()
    }
}

/// What a key rotation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    pub key_id: String,
    pub reencrypted: usize,
}

fn require_admin(caller: &Caller) -> Result<(), AppError> {
    if caller.is_administrator() {
        Ok(())
    } else {
        Err(AppError::forbidden("Only administrators manage settings"))
    }
}

impl Settings {
    /// Every known or stored setting, without secret values.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<SettingView>, AppError> {
        require_admin(caller)?;
        self.invalidate();
        let rows = self.rows().await?;
        let known: Vec<catalogue::Known> = catalogue::known().collect();
        let mut keys: Vec<&str> = known.iter().map(|k| k.key.as_ref()).collect();
        keys.extend(rows.keys().map(String::as_str));
        keys.sort_unstable();
        keys.dedup();
        Ok(keys
            .into_iter()
            .map(|key| match rows.get(key) {
                Some(row) => SettingView {
                    key: key.to_owned(),
                    is_secret: row.is_secret,
                    has_value: row.is_secret || row.value.is_some(),
                    source: Some("database"),
                    value: (!row.is_secret).then(|| row.value.clone()).flatten(),
                    description: row
                        .description
                        .clone()
                        .or_else(|| catalogue::description(key).map(str::to_owned)),
                    updated_at: Some(row.updated_at),
                },
                None => {
                    let secret = catalogue::must_be_secret(key);
                    let env = self.env(key);
                    SettingView {
                        key: key.to_owned(),
                        is_secret: secret,
                        has_value: env.is_some(),
                        source: env.is_some().then_some("environment"),
                        value: if secret { None } else { env },
                        description: catalogue::description(key).map(str::to_owned),
                        updated_at: None,
                    }
                }
            })
            .collect())
    }

    /// Stores a value (encrypted when secret) and returns how it now looks.
    pub async fn set(
        &self,
        caller: &Caller,
        key: &str,
        new: &NewSetting,
    ) -> Result<SettingView, AppError> {
        require_admin(caller)?;
        if !catalogue::is_valid_key(key) {
            return Err(AppError::validation(format!(
                "{key:?} is not a setting key: a letter, then letters, digits, '_', '.' or '-'"
            )));
        }
        if new.value.len() > MAX_VALUE_BYTES {
            return Err(AppError::validation(format!(
                "The value is over {MAX_VALUE_BYTES} bytes"
            )));
        }
        let must = catalogue::must_be_secret(key);
        let is_secret = new.is_secret.unwrap_or(must);
        if must && !is_secret {
            return Err(AppError::validation(format!(
                "{key} holds a credential and must be stored as a secret"
            )));
        }
        let params = Params::new()
            .bind("key", key)
            .bind("is_secret", is_secret)
            .bind("description", new.description.as_deref())
            .bind("user", caller.user_id);
        let params = if is_secret {
            let data_key = self.keys().current().await?;
            self.remember(&data_key);
            let sealed = crypto::seal(&data_key, key, &new.value)?;
            params
                .bind("value", None::<String>)
                .bind("ciphertext", Some(sealed.ciphertext))
                .bind("nonce", Some(sealed.nonce))
                .bind("key_id", Some(data_key.id))
        } else {
            params
                .bind("value", new.value.as_str())
                .bind("ciphertext", None::<Vec<u8>>)
                .bind("nonce", None::<Vec<u8>>)
                .bind("key_id", None::<String>)
        };
        let row: Row = self
            .db()
            .query_one(
                "INSERT INTO settings (key, value, is_secret, ciphertext, nonce, encryption_key_id, description, updated_by)
                 VALUES (:key, :value, :is_secret, :ciphertext, :nonce, :key_id, :description, :user)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, is_secret = EXCLUDED.is_secret,
                     ciphertext = EXCLUDED.ciphertext, nonce = EXCLUDED.nonce,
                     encryption_key_id = EXCLUDED.encryption_key_id,
                     description = coalesce(EXCLUDED.description, settings.description),
                     updated_by = EXCLUDED.updated_by
                 RETURNING key, value, is_secret, ciphertext, nonce, encryption_key_id, description, updated_at",
                params,
            )
            .await?;
        self.invalidate();
        tracing::info!(key, is_secret, user_id = %caller.user_id, "Setting stored");
        Ok(SettingView {
            key: row.key,
            is_secret: row.is_secret,
            has_value: true,
            source: Some("database"),
            value: if row.is_secret { None } else { row.value },
            description: row
                .description
                .or_else(|| catalogue::description(key).map(str::to_owned)),
            updated_at: Some(row.updated_at),
        })
    }

    /// Removes the table's value; the environment's (if any) applies again.
    pub async fn delete(&self, caller: &Caller, key: &str) -> Result<(), AppError> {
        require_admin(caller)?;
        let deleted = self
            .db()
            .execute(
                "DELETE FROM settings WHERE key = :key",
                Params::new().bind("key", key),
            )
            .await?;
        self.invalidate();
        if deleted.rows_updated == 0 {
            return Err(AppError::not_found(format!("No setting {key} is stored")));
        }
        tracing::info!(key, user_id = %caller.user_id, "Setting deleted");
        Ok(())
    }

    /// Makes a new data key version current and re-encrypts every secret under it in one
    /// transaction. Values under older versions decrypt until then, so a failed rotation
    /// leaves every secret readable.
    pub async fn rotate_key(&self, caller: &Caller) -> Result<Rotation, AppError> {
        require_admin(caller)?;
        let new_key = self.keys().rotate().await?;
        self.remember(&new_key);
        let reencrypted = self
            .db()
            .transaction(async |tx| {
                let rows: Vec<Row> = tx
                    .query(&format!("{ROWS} FOR UPDATE"), Params::new())
                    .await?;
                let mut sets = Vec::new();
                for row in rows.iter().filter(|r| r.is_secret) {
                    let Some(plain) = self.reveal(row).await? else {
                        continue;
                    };
                    let sealed = crypto::seal(&new_key, &row.key, plain.expose_secret())?;
                    sets.push(
                        Params::new()
                            .bind("key", row.key.as_str())
                            .bind("ciphertext", sealed.ciphertext)
                            .bind("nonce", sealed.nonce)
                            .bind("key_id", new_key.id.as_str()),
                    );
                }
                tx.batch_execute(
                    "UPDATE settings SET ciphertext = :ciphertext, nonce = :nonce, encryption_key_id = :key_id
                     WHERE key = :key",
                    &sets,
                )
                .await?;
                Ok::<_, AppError>(sets.len())
            })
            .await?;
        self.invalidate();
        tracing::info!(key_id = %new_key.id, reencrypted, user_id = %caller.user_id, "Settings data key rotated");
        Ok(Rotation {
            key_id: new_key.id,
            reencrypted,
        })
    }
}
