//! The library every AI studio function uses: errors and outcomes, configuration,
//! telemetry, the RDS Data API layer, SQL text handling and the migration runner.

pub mod action_state;
pub mod adapters;
pub mod auth;
pub mod config;
pub mod data_api;
pub mod embed;
pub mod error;
pub mod fetch;
pub mod ingest;
pub mod knowledge;
pub mod migrate;
pub mod ports;
pub mod search;
pub mod sql;
pub mod sqs;
pub mod telemetry;

pub use action_state::ActionState;
pub use error::{AppError, ErrorCode};
