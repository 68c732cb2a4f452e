//! db-init: applies the schema migrations through the Data API, as a CloudFormation custom
//! resource on every deploy or when invoked directly with `{"action": "migrate" | "status"}`.

pub mod custom_resource;
pub mod handler;

use shared::migrate::{Migration, MigrationError, ordered};

/// The `schema/*.sql` files this build carries, in order.
pub fn embedded_migrations() -> Result<Vec<Migration>, MigrationError> {
    const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
    ordered(
        FILES
            .iter()
            .map(|(name, sql)| Migration::new(*name, *sql))
            .collect(),
    )
}
