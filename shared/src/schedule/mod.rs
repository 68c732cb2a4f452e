//! Schedules: when an assistant runs on its own (daily, weekly, monthly, custom cron, in an
//! IANA time zone, DST-correct), who may schedule it, and how executors claim due runs.

pub mod cron;
pub mod recurrence;
#[cfg(test)]
mod tests;

pub use cron::{CronForm, CustomCron};
pub use recurrence::{DayInput, Frequency, Recurrence, Rule, Timing};
