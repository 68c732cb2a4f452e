//! End-to-end tests against the local stack's PostgreSQL through the local Data API server.

mod api;
mod data_api_faults;
mod data_api_types;
mod data_api_wire;
mod dependency_policy;
mod embedding_generator;
mod every_format;
mod fetch;
mod file_processor;
mod hostile;
mod ingest;
mod knowledge;
mod migrations;
mod nothing_lost;
mod runtime_api;
mod through_the_stack;
