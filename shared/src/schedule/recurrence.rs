//! When a schedule runs: daily, weekly, monthly at a local time, or a custom cron, in an
//! IANA time zone, validated once into a [`Recurrence`] that computes the next run.
//!
//! Daylight-saving rules, the same for every frequency:
//! - a local time the clocks skip (spring forward) runs at the instant it would have had
//!   before the change, i.e. moved forward by the gap: 02:30 in Los Angeles on the
//!   spring-forward day runs at 03:30 PDT, once;
//! - a local time the clocks repeat (fall back) runs once, at its first occurrence.
//!
//! Days of the week are numbered 0 = Sunday ... 6 = Saturday (as in POSIX cron and the
//! `days_of_week` column); names (`MON`, `monday`) are accepted too. A day of the month
//! past the end of a shorter month means that month's last day (31 runs on 30 April and
//! 28 or 29 February).

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::cron::CustomCron;
use super::wall_clock::resolve;
use crate::error::AppError;

/// How often a schedule runs, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Custom,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Custom => "custom",
        }
    }
}

/// A day of the week as a caller writes it: 0-6 (Sunday first) or a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DayInput {
    Number(i64),
    Name(String),
}

/// The timing fields of a schedule, unchecked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timing {
    pub frequency: Option<Frequency>,
    /// Local time `HH:MM` (daily, weekly, monthly).
    pub time: Option<String>,
    #[serde(default)]
    pub days_of_week: Vec<DayInput>,
    pub day_of_month: Option<i64>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
}

/// What repeats, without the zone.
#[derive(Debug, Clone)]
pub enum Rule {
    Daily(NaiveTime),
    /// Days as 0 = Sunday ... 6 = Saturday, sorted, unique.
    Weekly(NaiveTime, Vec<u8>),
    Monthly(NaiveTime, u32),
    Custom(Box<CustomCron>),
}

/// A validated schedule timing.
#[derive(Debug, Clone)]
pub struct Recurrence {
    pub rule: Rule,
    pub timezone: Tz,
}

impl Timing {
    /// Checks every field and builds the recurrence, or says what is wrong; refuses a
    /// schedule with no future run.
    pub fn parse(&self) -> Result<Recurrence, AppError> {
        let recurrence = self.recurrence()?;
        if recurrence.next_run_after(Utc::now()).is_none() {
            return Err(AppError::validation(
                "The schedule never fires: no date matches it",
            ));
        }
        Ok(recurrence)
    }

    /// The recurrence, without asking whether it still has a future run.
    pub fn recurrence(&self) -> Result<Recurrence, AppError> {
        let timezone = parse_timezone(self.timezone.as_deref().unwrap_or("UTC"))?;
        let frequency = self.frequency.ok_or_else(|| {
            AppError::validation("frequency is required: daily, weekly, monthly or custom")
        })?;
        let time = || {
            self.time.as_deref().map(parse_time).unwrap_or_else(|| {
                Err(AppError::validation(format!(
                    "A {} schedule needs a time (HH:MM)",
                    frequency.as_str()
                )))
            })
        };
        let rule = match frequency {
            Frequency::Daily => Rule::Daily(time()?),
            Frequency::Weekly => {
                if self.days_of_week.is_empty() {
                    return Err(AppError::validation(
                        "A weekly schedule needs at least one day in daysOfWeek (0 = Sunday ... 6 = Saturday, or names such as MON)",
                    ));
                }
                let mut days = self
                    .days_of_week
                    .iter()
                    .map(parse_day)
                    .collect::<Result<Vec<_>, _>>()?;
                days.sort_unstable();
                days.dedup();
                Rule::Weekly(time()?, days)
            }
            Frequency::Monthly => {
                let day = self.day_of_month.ok_or_else(|| {
                    AppError::validation("A monthly schedule needs dayOfMonth (1-31)")
                })?;
                let day = u32::try_from(day)
                    .ok()
                    .filter(|d| (1..=31).contains(d))
                    .ok_or_else(|| {
                        AppError::validation(format!("dayOfMonth {day} is not between 1 and 31"))
                    })?;
                Rule::Monthly(time()?, day)
            }
            Frequency::Custom => {
                let cron = self.cron.as_deref().ok_or_else(|| {
                    AppError::validation("A custom schedule needs a cron expression")
                })?;
                Rule::Custom(Box::new(CustomCron::parse(cron)?))
            }
        };
        Ok(Recurrence { rule, timezone })
    }
}

pub fn parse_timezone(name: &str) -> Result<Tz, AppError> {
    name.trim().parse::<Tz>().map_err(|_| {
        AppError::validation(format!(
            "{name:?} is not an IANA time zone; use a name such as America/Chicago or Europe/Berlin"
        ))
    })
}

/// `HH:MM` (or `HH:MM:SS` with zero seconds, as the database returns it).
pub fn parse_time(text: &str) -> Result<NaiveTime, AppError> {
    let text = text.trim();
    NaiveTime::parse_from_str(text, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
        .ok()
        .filter(|t| t.format("%S").to_string() == "00")
        .ok_or_else(|| {
            AppError::validation(format!(
                "time {text:?} is not a time of day HH:MM between 00:00 and 23:59"
            ))
        })
}

/// 0 = Sunday ... 6 = Saturday; names in English, full or three letters.
fn parse_day(day: &DayInput) -> Result<u8, AppError> {
    match day {
        DayInput::Number(n) => u8::try_from(*n).ok().filter(|n| *n <= 6).ok_or_else(|| {
            AppError::validation(format!(
                "day {n} is not 0-6 (0 = Sunday, 1 = Monday ... 6 = Saturday)"
            ))
        }),
        DayInput::Name(name) => name
            .trim()
            .parse::<Weekday>()
            .map(|d| d.num_days_from_sunday() as u8)
            .map_err(|_| {
                AppError::validation(format!(
                    "{name:?} is not a day of the week (SUN, MON ... SAT, or 0-6 with 0 = Sunday)"
                ))
            }),
    }
}

impl Recurrence {
    /// The first run strictly after `after`, computed on the schedule's local calendar.
    /// `None` only for a custom cron that has no further match.
    pub fn next_run_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.timezone;
        let local = after.with_timezone(&tz).naive_local();
        // A day earlier: a time moved forward out of a gap may land after `after`.
        let start = local.date().checked_sub_days(Days::new(1))?;
        let at = |date: NaiveDate, time: NaiveTime| resolve(tz, date.and_time(time));
        match &self.rule {
            Rule::Daily(time) => days_from(start).find_map(|d| at(d, *time).filter(|t| *t > after)),
            Rule::Weekly(time, days) => days_from(start)
                .filter(|d| days.contains(&(d.weekday().num_days_from_sunday() as u8)))
                .find_map(|d| at(d, *time).filter(|t| *t > after)),
            Rule::Monthly(time, day) => months_from(start)
                .find_map(|first| at(clamp_day(first, *day), *time).filter(|t| *t > after)),
            Rule::Custom(cron) => cron.next_after(tz, local, after),
        }
    }

    pub fn frequency(&self) -> Frequency {
        match self.rule {
            Rule::Daily(_) => Frequency::Daily,
            Rule::Weekly(..) => Frequency::Weekly,
            Rule::Monthly(..) => Frequency::Monthly,
            Rule::Custom(_) => Frequency::Custom,
        }
    }

    /// The days of the week as stored (0 = Sunday), or empty.
    pub fn days_of_week(&self) -> Vec<i64> {
        match &self.rule {
            Rule::Weekly(_, days) => days.iter().map(|d| i64::from(*d)).collect(),
            _ => Vec::new(),
        }
    }

    pub fn time_of_day(&self) -> Option<NaiveTime> {
        match &self.rule {
            Rule::Daily(t) | Rule::Weekly(t, _) | Rule::Monthly(t, _) => Some(*t),
            Rule::Custom(_) => None,
        }
    }
}

/// Dates from `start` on, bounded so a bug can never loop forever.
fn days_from(start: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    start.iter_days().take(400)
}

/// First days of months from `start`'s month on, for some years.
fn months_from(start: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let first = start.with_day(1);
    (0..60u32).filter_map(move |n| first?.checked_add_months(chrono::Months::new(n)))
}

/// Day `day` of `first`'s month, or its last day when the month is shorter.
fn clamp_day(first: NaiveDate, day: u32) -> NaiveDate {
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .map_or(28, |d| d.day());
    first.with_day(day.min(last)).unwrap_or(first)
}
