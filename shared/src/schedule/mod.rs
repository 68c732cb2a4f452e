//! Schedules: when an assistant runs on its own (daily, weekly, monthly, custom cron, in an
//! IANA time zone, DST-correct), who may schedule it, and how executors claim due runs.

pub mod claim;
pub mod cron;
pub mod recurrence;
pub mod schedules;
#[cfg(test)]
mod tests;
mod wall_clock;

pub use claim::{Claimed, OutcomeRecorded, claim_due, record_outcome};
pub use cron::{CronForm, CustomCron};
pub use recurrence::{DayInput, Frequency, Recurrence, Rule, Timing};
pub use schedules::{NewSchedule, Schedule, SchedulePatch, create, delete, get, list, update};
