//! The schema migration runner: applies `NNN_name.sql` files in order, each once, each in
//! one Data API transaction, and refuses to go on when an applied file has changed.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data_api::{DataApi, DbError, Params};
use crate::sql::split_statements;

/// One migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The file name, e.g. `001_core.sql`; the order of names is the order of application.
    pub name: String,
    pub sql: String,
}

impl Migration {
    pub fn new(name: impl Into<String>, sql: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            sql: sql.into(),
        }
    }

    /// SHA-256 of the file's bytes, hex.
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("invalid migration file name {0:?}: expected NNN_name.sql")]
    BadName(String),
    #[error("two migrations share the number {0}")]
    DuplicateNumber(String),
    #[error(
        "migration {name} changed after it was applied (checksum {applied} recorded, {current} now); restore the file and put the change in a new migration"
    )]
    ChecksumMismatch {
        name: String,
        applied: String,
        current: String,
    },
    #[error(
        "migration {name} failed at statement {statement} ({preview}): {source}; nothing of it was applied"
    )]
    Failed {
        name: String,
        statement: usize,
        preview: String,
        source: DbError,
    },
    #[error("migration bookkeeping failed: {0}")]
    Db(#[from] DbError),
}

/// A row of `migration_log` (read by column name, reported in camelCase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct AppliedMigration {
    pub name: String,
    pub checksum: String,
    pub duration_ms: i64,
    pub applied_at: String,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationReport {
    pub applied: Vec<String>,
    pub already_applied: usize,
}

/// Where the database stands against the migrations of this build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationStatus {
    pub applied: Vec<AppliedMigration>,
    pub pending: Vec<String>,
    /// Applied files whose content differs from this build's.
    pub changed: Vec<String>,
}

const CREATE_LOG: &str = "CREATE TABLE IF NOT EXISTS migration_log (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    duration_ms bigint NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// One lock id for every migration runner, so concurrent deploys apply each file once.
const LOCK_KEY: i64 = 0x5354_5544_494f; // "STUDIO"

fn lock_key() -> Params {
    Params::new().bind("key", LOCK_KEY)
}

/// The `schema/*.sql` files this build carries, in order: what a deploy applies.
#[cfg(feature = "embedded-migrations")]
pub fn embedded() -> Result<Vec<Migration>, MigrationError> {
    const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
    ordered(
        FILES
            .iter()
            .map(|(name, sql)| Migration::new(*name, *sql))
            .collect(),
    )
}

/// Sorts migrations by name after checking each is `NNN_name.sql` with a unique number.
pub fn ordered(mut migrations: Vec<Migration>) -> Result<Vec<Migration>, MigrationError> {
    for m in &migrations {
        let (number, rest) = m.name.split_once('_').unwrap_or(("", ""));
        let valid = number.len() >= 3
            && number.bytes().all(|b| b.is_ascii_digit())
            && rest.len() > ".sql".len()
            && rest.ends_with(".sql");
        if !valid {
            return Err(MigrationError::BadName(m.name.clone()));
        }
    }
    migrations.sort_by(|a, b| a.name.cmp(&b.name));
    for pair in migrations.windows(2) {
        let number = |m: &Migration| m.name.split('_').next().unwrap_or_default().to_owned();
        if number(&pair[0]) == number(&pair[1]) {
            return Err(MigrationError::DuplicateNumber(number(&pair[0])));
        }
    }
    Ok(migrations)
}

async fn applied(db: &DataApi) -> Result<Vec<AppliedMigration>, DbError> {
    // Under the lock: two runners creating the table at once would collide in pg_type.
    db.transaction(async |tx| {
        tx.execute("SELECT pg_advisory_xact_lock(:key)", lock_key())
            .await?;
        tx.execute(CREATE_LOG, Params::new()).await
    })
    .await?;
    db.query(
        "SELECT name, checksum, duration_ms, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS applied_at
         FROM migration_log ORDER BY name",
        Params::new(),
    )
    .await
}

fn changed(migrations: &[Migration], applied: &[AppliedMigration]) -> Vec<MigrationError> {
    applied
        .iter()
        .filter_map(|a| {
            let current = migrations.iter().find(|m| m.name == a.name)?.checksum();
            (current != a.checksum).then(|| MigrationError::ChecksumMismatch {
                name: a.name.clone(),
                applied: a.checksum.clone(),
                current,
            })
        })
        .collect()
}

/// Reports applied, pending and changed migrations without touching the schema.
pub async fn status(
    db: &DataApi,
    migrations: &[Migration],
) -> Result<MigrationStatus, MigrationError> {
    let applied = applied(db).await?;
    let pending = migrations
        .iter()
        .filter(|m| !applied.iter().any(|a| a.name == m.name))
        .map(|m| m.name.clone())
        .collect();
    let changed = changed(migrations, &applied)
        .into_iter()
        .filter_map(|e| match e {
            MigrationError::ChecksumMismatch { name, .. } => Some(name),
            _ => None,
        })
        .collect();
    Ok(MigrationStatus {
        applied,
        pending,
        changed,
    })
}

/// Applies every pending migration in order. Each file runs in its own transaction under an
/// advisory lock, so a failing file leaves nothing behind and concurrent runners wait.
pub async fn migrate(
    db: &DataApi,
    migrations: &[Migration],
) -> Result<MigrationReport, MigrationError> {
    let applied = applied(db).await?;
    if let Some(error) = changed(migrations, &applied).into_iter().next() {
        return Err(error);
    }
    let mut report = MigrationReport {
        applied: Vec::new(),
        already_applied: applied.len(),
    };
    for migration in migrations
        .iter()
        .filter(|m| !applied.iter().any(|a| a.name == m.name))
    {
        if Box::pin(apply(db, migration)).await? {
            tracing::info!(migration = %migration.name, "Migration applied");
            report.applied.push(migration.name.clone());
        } else {
            report.already_applied += 1;
        }
    }
    Ok(report)
}

/// Applies one file; `false` when another runner applied it first.
async fn apply(db: &DataApi, migration: &Migration) -> Result<bool, MigrationError> {
    let checksum = migration.checksum();
    db.transaction(async |tx| {
        tx.execute("SELECT pg_advisory_xact_lock(:key)", lock_key()).await?;
        let recorded: Option<AppliedMigration> = tx
            .query_opt(
                "SELECT name, checksum, duration_ms, '' AS applied_at FROM migration_log WHERE name = :name",
                Params::new().bind("name", &migration.name),
            )
            .await?;
        if let Some(recorded) = recorded {
            return if recorded.checksum == checksum {
                Ok(false)
            } else {
                Err(MigrationError::ChecksumMismatch {
                    name: migration.name.clone(),
                    applied: recorded.checksum,
                    current: checksum.clone(),
                })
            };
        }
        let started = Instant::now();
        for (index, statement) in split_statements(&migration.sql).iter().enumerate() {
            tx.execute(statement, Params::new())
                .await
                .map_err(|source| MigrationError::Failed {
                    name: migration.name.clone(),
                    statement: index + 1,
                    preview: preview(statement),
                    source,
                })?;
        }
        tx.execute(
            "INSERT INTO migration_log (name, checksum, duration_ms) VALUES (:name, :checksum, :duration_ms)",
            Params::new()
                .bind("name", &migration.name)
                .bind("checksum", &checksum)
                .bind("duration_ms", started.elapsed().as_millis() as i64),
        )
        .await?;
        Ok(true)
    })
    .await
}

/// The start of a statement, on one line, for error messages.
fn preview(statement: &str) -> String {
    let line: String = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_sort_by_name_and_reject_bad_names() {
        let sorted = ordered(vec![
            Migration::new("002_more.sql", "SELECT 2"),
            Migration::new("001_core.sql", "SELECT 1"),
        ])
        .unwrap();
        assert_eq!(sorted[0].name, "001_core.sql");
        for bad in [
            "core.sql",
            "01_core.sql",
            "001_.sql",
            "001_core.txt",
            "abc_core.sql",
        ] {
            let error = ordered(vec![Migration::new(bad, "")]).unwrap_err();
            assert!(matches!(error, MigrationError::BadName(_)), "{bad}");
        }
        let error = ordered(vec![
            Migration::new("001_a.sql", ""),
            Migration::new("001_b.sql", ""),
        ])
        .unwrap_err();
        assert_eq!(error.to_string(), "two migrations share the number 001");
    }

    #[test]
    fn the_checksum_changes_with_any_byte() {
        let a = Migration::new("001_a.sql", "SELECT 1;");
        let b = Migration::new("001_a.sql", "SELECT 1; ");
        assert_eq!(a.checksum().len(), 64);
        assert_ne!(a.checksum(), b.checksum());
    }

    #[test]
    fn previews_are_one_short_line() {
        assert_eq!(
            preview("CREATE TABLE x (\n  id int\n)"),
            "CREATE TABLE x ( id int )"
        );
        assert!(preview(&"x ".repeat(100)).ends_with("..."));
    }
}
