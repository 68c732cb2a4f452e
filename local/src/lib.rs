//! The local stack: a real PostgreSQL with pgvector, a local RDS Data API server in front of
//! it, and moto for S3, SQS, Secrets Manager and EventBridge, so every function runs here
//! with the real AWS SDK clients pointed at local endpoints.

pub mod account;
pub mod authorize;
pub mod bedrock;
pub mod cli;
pub mod data_api;
pub mod embeddings;
pub mod front_door;
pub mod iam;
pub mod lambda;
pub mod mailbox;
pub mod mock_providers;
pub mod mock_search;
pub mod net;
pub mod runtime_api;
pub mod stack;
pub mod template;
pub mod textract;
pub mod venv;
