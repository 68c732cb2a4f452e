//! Custom cron expressions, in the 5-field POSIX form (`30 9 * * 1-5`, weekdays 0-6 from
//! Sunday) or the 6-field AWS form (`cron(0 9 ? * MON-FRI *)`, with a year field and
//! weekdays 1-7 from Sunday), parsed by croner. `L`, `W` and `#` work in both.

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::wall_clock::resolve;
use crate::error::AppError;

/// Which syntax the expression was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronForm {
    Posix,
    Aws,
}

/// A parsed custom cron expression.
#[derive(Debug, Clone)]
pub struct CustomCron {
    /// As the caller wrote it, trimmed; stored and returned unchanged.
    pub source: String,
    pub form: CronForm,
    cron: Cron,
}

/// How far a run can move: the longest DST gap is an hour; two leave room.
const WINDOW: TimeDelta = TimeDelta::hours(2);

impl CustomCron {
    pub fn parse(text: &str) -> Result<Self, AppError> {
        let source = text.trim();
        if source.starts_with("rate(") {
            return Err(AppError::validation(
                "rate() expressions are not supported; write a cron expression or use daily, weekly or monthly",
            ));
        }
        let (inner, wrapped) = match source
            .strip_prefix("cron(")
            .and_then(|s| s.strip_suffix(')'))
        {
            Some(inner) => (inner, true),
            None => (source, false),
        };
        let fields: Vec<&str> = inner.split_whitespace().collect();
        let invalid = |why: String| AppError::validation(format!("cron {source:?}: {why}"));
        let (form, parsed) = match fields.len() {
            5 if !wrapped => {
                let parser = CronParser::builder()
                    .seconds(Seconds::Disallowed)
                    .year(Year::Disallowed)
                    .build();
                (CronForm::Posix, parser.parse(inner))
            }
            6 => {
                let (dom, dow) = (fields[2], fields[4]);
                if (dom == "?") == (dow == "?") {
                    return Err(invalid(
                        "in the AWS form exactly one of day-of-month and day-of-week must be ?, e.g. cron(0 9 ? * MON-FRI *)".into(),
                    ));
                }
                let parser = CronParser::builder()
                    .seconds(Seconds::Required)
                    .year(Year::Required)
                    .alternative_weekdays(true)
                    .sloppy_ranges(true)
                    .build();
                (
                    CronForm::Aws,
                    parser.parse(&format!("0 {}", fields.join(" "))),
                )
            }
            n => {
                return Err(invalid(format!(
                    "a cron expression has 5 fields (minute hour day-of-month month day-of-week) or, in the AWS form, 6 (minute hour day-of-month month day-of-week year, e.g. cron(0 9 ? * MON-FRI *)); this one has {n}"
                )));
            }
        };
        let cron = parsed.map_err(|e| invalid(e.to_string()))?;
        Ok(Self {
            source: source.to_owned(),
            form,
            cron,
        })
    }

    /// The first run strictly after `after` (`local` is `after` on the zone's wall clock):
    /// matches are found on the wall clock, then resolved to instants by the module's DST
    /// rules; the earliest instant wins.
    pub(super) fn next_after(
        &self,
        tz: Tz,
        local: NaiveDateTime,
        after: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut cursor = local.checked_sub_signed(WINDOW)?;
        let mut best: Option<(NaiveDateTime, DateTime<Utc>)> = None;
        for _ in 0..1000 {
            // An error means no further match (or none within croner's search limit).
            let Ok(naive) = self.cron.find_next_occurrence(&cursor, false) else {
                break;
            };
            if let Some((first, _)) = best
                && naive > first.checked_add_signed(WINDOW)?
            {
                break;
            }
            if let Some(at) = resolve(tz, naive).filter(|t| *t > after)
                && best.is_none_or(|(_, b)| at < b)
            {
                best = Some((best.map_or(naive, |(first, _)| first), at));
            }
            cursor = naive;
        }
        best.map(|(_, at)| at)
    }
}

impl FromStr for CustomCron {
    type Err = AppError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}
