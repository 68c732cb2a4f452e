//! End-to-end tests against the local stack's PostgreSQL through the local Data API server.

mod api;
mod data_api_faults;
mod data_api_types;
mod data_api_wire;
mod dependency_policy;
mod embedding_generator;
mod fetch;
mod file_processor;
mod ingest;
mod knowledge;
mod migrations;
mod notifications;
mod runtime_api;
mod ses_mailer;
mod through_the_stack;
mod tools;
