//! The library every AI studio function uses: errors and outcomes, configuration,
//! telemetry, the RDS Data API layer, SQL text handling, the migration runner, and
//! document text extraction and chunking.

pub mod action_state;
pub mod chunk;
pub mod config;
pub mod data_api;
pub mod error;
pub mod extract;
pub mod migrate;
pub mod sql;
pub mod telemetry;

pub use action_state::ActionState;
pub use error::{AppError, ErrorCode};
