//! The library every AI studio function uses: errors and outcomes, configuration,
//! telemetry, the RDS Data API layer, identity and access, the ingestion pipeline
//! (extraction, chunking, embedding, search), ports and their AWS adapters.

pub mod action_state;
pub mod adapters;
pub mod assistant;
pub mod auth;
pub mod cache;
pub mod chain;
pub mod chat;
pub mod chunk;
pub mod config;
pub mod data_api;
pub mod embed;
pub mod error;
pub mod executor;
pub mod extract;
pub mod fetch;
pub mod http;
pub mod ingest;
pub mod knowledge;
pub mod migrate;
pub mod models;
pub mod notify;
pub mod ocr;
pub mod ports;
pub mod providers;
pub mod rate_limit;
pub mod roles;
pub mod schedule;
pub mod search;
pub mod settings;
pub mod sql;
pub mod sqs;
pub mod telemetry;
pub mod tools;
pub mod usage;

pub use action_state::ActionState;
pub use error::{AppError, ErrorCode};
