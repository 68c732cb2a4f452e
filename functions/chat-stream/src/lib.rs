//! chat-stream: the streaming chat endpoints behind API Gateway's response streaming.

pub mod config;
pub mod handler;
pub mod sse;
