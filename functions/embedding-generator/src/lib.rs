//! embedding-generator: SQS messages of chunk ids in, vectors and completed items out.

pub mod config;
pub mod handler;
