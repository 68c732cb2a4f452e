//! scheduled-executor: runs assistant chains for the minute tick (due schedules, claimed
//! atomically), for a direct `{"scheduledExecutionId"}` event, and for executions queued
//! by the API on the assistant-runs queue.

pub mod config;
pub mod handler;
