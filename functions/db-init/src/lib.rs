//! db-init: applies the schema migrations through the Data API, as a CloudFormation custom
//! resource on every deploy or when invoked directly with `{"action": "migrate" | "status"}`.

pub mod custom_resource;
pub mod handler;
