//! End-to-end tests against the local stack's PostgreSQL through the local Data API server.

mod api;
mod bedrock_chat;
mod bedrock_embeddings;
mod chat_providers;
mod data_api_faults;
mod data_api_types;
mod data_api_wire;
mod dependency_policy;
mod embedding_generator;
mod every_format;
mod executor;
mod fetch;
mod file_processor;
mod hostile;
mod ingest;
mod knowledge;
mod migrations;
mod nothing_lost;
mod ocr;
mod rate_limit;
mod runtime_api;
mod settings;
mod textract;
mod through_the_stack;
mod usage;
