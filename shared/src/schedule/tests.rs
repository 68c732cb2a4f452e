//! Table-driven checks of next-run computation and of timing validation.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Timing;

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn timing(value: Value) -> Timing {
    serde_json::from_value(value).unwrap()
}

fn daily(time: &str, tz: &str) -> Value {
    json!({"frequency": "daily", "time": time, "timezone": tz})
}

fn weekly(time: &str, days: Value, tz: &str) -> Value {
    json!({"frequency": "weekly", "time": time, "daysOfWeek": days, "timezone": tz})
}

fn monthly(time: &str, day: i64, tz: &str) -> Value {
    json!({"frequency": "monthly", "time": time, "dayOfMonth": day, "timezone": tz})
}

fn custom(cron: &str, tz: &str) -> Value {
    json!({"frequency": "custom", "cron": cron, "timezone": tz})
}

#[test]
fn next_runs_follow_the_local_calendar_across_dst() {
    let la = "America/Los_Angeles";
    let berlin = "Europe/Berlin";
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        // Los Angeles springs forward 2025-03-09 02:00 PST -> 03:00 PDT: 02:30 runs at 03:30 PDT, once.
        ("LA 02:30 on spring-forward day moves to 03:30 PDT", daily("02:30", la), "2025-03-08T11:00:00Z", "2025-03-09T10:30:00Z"),
        ("LA 02:30 the day after is 02:30 PDT", daily("02:30", la), "2025-03-09T10:30:00Z", "2025-03-10T09:30:00Z"),
        ("LA 03:30 on spring-forward day is not doubled", daily("03:30", la), "2025-03-09T10:30:00Z", "2025-03-10T10:30:00Z"),
        // Los Angeles falls back 2025-11-02 02:00 PDT -> 01:00 PST: 01:30 runs at the first one only.
        ("LA 01:30 on fall-back day runs at the first 01:30 (PDT)", daily("01:30", la), "2025-11-01T09:00:00Z", "2025-11-02T08:30:00Z"),
        ("LA 01:30 after the first skips the repeated one", daily("01:30", la), "2025-11-02T08:30:00Z", "2025-11-03T09:30:00Z"),
        // Berlin springs forward 2025-03-30 02:00 CET -> 03:00 CEST, falls back 2025-10-26 03:00 -> 02:00.
        ("Berlin 02:30 on spring-forward day moves to 03:30 CEST", daily("02:30", berlin), "2025-03-29T12:00:00Z", "2025-03-30T01:30:00Z"),
        ("Berlin 02:30 the day after", daily("02:30", berlin), "2025-03-30T01:30:00Z", "2025-03-31T00:30:00Z"),
        ("Berlin 02:30 on fall-back day runs at the first (CEST)", daily("02:30", berlin), "2025-10-25T12:00:00Z", "2025-10-26T00:30:00Z"),
        ("Berlin 02:30 after the first skips the repeated one", daily("02:30", berlin), "2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"),
        ("Berlin 09:00 in summer", daily("09:00", berlin), "2025-06-01T00:00:00Z", "2025-06-01T07:00:00Z"),
        ("Berlin 09:00 in winter", daily("09:00", berlin), "2025-12-01T00:00:00Z", "2025-12-01T08:00:00Z"),
        ("exactly at the run time means the next day", daily("09:00", "UTC"), "2025-06-01T09:00:00Z", "2025-06-02T09:00:00Z"),
        // Weekly: 0 = Sunday, 1 = Monday. 2025-06-01 is a Sunday, 2025-06-02 a Monday.
        ("weekly 1 is Monday", weekly("09:00", json!([1]), "UTC"), "2025-06-01T10:00:00Z", "2025-06-02T09:00:00Z"),
        ("weekly MON is Monday", weekly("09:00", json!(["MON"]), "UTC"), "2025-06-01T10:00:00Z", "2025-06-02T09:00:00Z"),
        ("weekly 0 is Sunday", weekly("09:00", json!([0]), "UTC"), "2025-06-02T10:00:00Z", "2025-06-08T09:00:00Z"),
        ("weekly 6 is Saturday", weekly("09:00", json!([6]), "UTC"), "2025-06-02T10:00:00Z", "2025-06-07T09:00:00Z"),
        ("weekly names in any case", weekly("09:00", json!(["friday", "Sun"]), "UTC"), "2025-06-02T10:00:00Z", "2025-06-06T09:00:00Z"),
        ("weekly Monday evening in LA is Tuesday in UTC", weekly("20:00", json!([1]), la), "2025-06-02T00:00:00Z", "2025-06-03T03:00:00Z"),
        ("weekly Monday morning in Tokyo is Sunday in UTC", weekly("08:00", json!(["MON"]), "Asia/Tokyo"), "2025-06-01T00:00:00Z", "2025-06-01T23:00:00Z"),
        ("weekly later the same day", weekly("18:00", json!([1, 3]), "UTC"), "2025-06-02T10:00:00Z", "2025-06-02T18:00:00Z"),
        // Monthly on the 31st runs on the last day of shorter months.
        ("monthly 31 in April is the 30th", monthly("09:00", 31, "UTC"), "2025-04-01T00:00:00Z", "2025-04-30T09:00:00Z"),
        ("monthly 31 in May is the 31st", monthly("09:00", 31, "UTC"), "2025-04-30T09:00:00Z", "2025-05-31T09:00:00Z"),
        ("monthly 31 in February is the 28th", monthly("09:00", 31, "UTC"), "2025-02-01T00:00:00Z", "2025-02-28T09:00:00Z"),
        ("monthly 30 in a leap February is the 29th", monthly("09:00", 30, "UTC"), "2024-02-01T00:00:00Z", "2024-02-29T09:00:00Z"),
        ("monthly 15 past this month's runs next month", monthly("09:00", 15, berlin), "2025-01-15T08:00:00Z", "2025-02-15T08:00:00Z"),
        ("monthly on the spring-forward day", monthly("02:30", 30, berlin), "2025-03-01T00:00:00Z", "2025-03-30T01:30:00Z"),
        // Custom, POSIX form: weekdays 0-6 from Sunday.
        ("POSIX weekdays in Berlin", custom("30 9 * * 1-5", berlin), "2025-06-07T12:00:00Z", "2025-06-09T07:30:00Z"),
        ("POSIX 1 is Monday", custom("0 9 * * 1", "UTC"), "2025-06-01T00:00:00Z", "2025-06-02T09:00:00Z"),
        ("POSIX 2 is Tuesday", custom("0 9 * * 2", "UTC"), "2025-06-01T00:00:00Z", "2025-06-03T09:00:00Z"),
        ("POSIX last day of month", custom("0 12 L * *", "UTC"), "2025-06-01T00:00:00Z", "2025-06-30T12:00:00Z"),
        ("POSIX every 15 minutes", custom("*/15 * * * *", "UTC"), "2025-06-01T10:07:00Z", "2025-06-01T10:15:00Z"),
        ("POSIX 02:30 on LA spring-forward day moves to 03:30 PDT", custom("30 2 * * *", la), "2025-03-08T11:00:00Z", "2025-03-09T10:30:00Z"),
        ("POSIX 01:30 on LA fall-back day runs once", custom("30 1 * * *", la), "2025-11-02T08:30:00Z", "2025-11-03T09:30:00Z"),
        // Custom, AWS form: weekdays 1-7 from Sunday, a year field, ? in one day field.
        ("AWS MON-FRI", custom("cron(0 9 ? * MON-FRI *)", "UTC"), "2025-06-07T12:00:00Z", "2025-06-09T09:00:00Z"),
        ("AWS 2 is Monday", custom("cron(0 9 ? * 2 *)", "UTC"), "2025-06-01T00:00:00Z", "2025-06-02T09:00:00Z"),
        ("AWS without the cron() wrapper", custom("0 9 ? * 2 *", "UTC"), "2025-06-01T00:00:00Z", "2025-06-02T09:00:00Z"),
        ("AWS last day of month", custom("cron(0 12 L * ? *)", "UTC"), "2025-06-01T00:00:00Z", "2025-06-30T12:00:00Z"),
        ("AWS last Friday", custom("cron(0 10 ? * 6L *)", "UTC"), "2025-06-01T00:00:00Z", "2025-06-27T10:00:00Z"),
        ("AWS first Monday", custom("cron(0 10 ? * 2#1 *)", "UTC"), "2025-06-03T00:00:00Z", "2025-07-07T10:00:00Z"),
        ("AWS a given year", custom("cron(0 9 1 1 ? 2030)", "UTC"), "2025-06-01T00:00:00Z", "2030-01-01T09:00:00Z"),
        ("AWS step from zero", custom("cron(0/20 * * * ? *)", "UTC"), "2025-06-01T10:07:00Z", "2025-06-01T10:20:00Z"),
    ];
    let mut failures = Vec::new();
    for (name, value, after, expected) in cases {
        let recurrence = match timing(value).parse() {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{name}: refused: {}", e.message));
                continue;
            }
        };
        let next = recurrence.next_run_after(utc(after));
        if next != Some(utc(expected)) {
            failures.push(format!("{name}: expected {expected}, got {next:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn after_downtime_the_next_run_is_the_next_future_one() {
    let recurrence = timing(daily("09:00", "UTC")).parse().unwrap();
    let now = utc("2025-06-10T12:00:00Z");
    assert_eq!(
        recurrence.next_run_after(now),
        Some(utc("2025-06-11T09:00:00Z"))
    );
}

#[test]
fn invalid_timings_are_refused_with_readable_messages() {
    #[rustfmt::skip]
    let cases: Vec<(Value, &str)> = vec![
        (json!({"time": "09:00", "timezone": "UTC"}), "frequency is required"),
        (daily("09:00", "Mars/Olympus_Mons"), "\"Mars/Olympus_Mons\" is not an IANA time zone"),
        (daily("25:00", "UTC"), "time \"25:00\" is not a time of day HH:MM"),
        (daily("9am", "UTC"), "is not a time of day"),
        (json!({"frequency": "daily", "timezone": "UTC"}), "A daily schedule needs a time"),
        (weekly("09:00", json!([]), "UTC"), "A weekly schedule needs at least one day"),
        (weekly("09:00", json!([7]), "UTC"), "day 7 is not 0-6 (0 = Sunday, 1 = Monday"),
        (weekly("09:00", json!(["Funday"]), "UTC"), "\"Funday\" is not a day of the week"),
        (monthly("09:00", 0, "UTC"), "dayOfMonth 0 is not between 1 and 31"),
        (monthly("09:00", 32, "UTC"), "dayOfMonth 32 is not between 1 and 31"),
        (json!({"frequency": "monthly", "time": "09:00"}), "needs dayOfMonth"),
        (json!({"frequency": "custom"}), "needs a cron expression"),
        (custom("0 9 30 2 *", "UTC"), "never fires"),
        (custom("cron(0 9 1 1 ? 2001)", "UTC"), "never fires"),
        (custom("cron(0 9 * * MON *)", "UTC"), "exactly one of day-of-month and day-of-week must be ?"),
        (custom("* * *", "UTC"), "this one has 3"),
        (custom("cron(0 9 * *)", "UTC"), "this one has 4"),
        (custom("61 * * * *", "UTC"), "cron \"61 * * * *\""),
        (custom("rate(5 minutes)", "UTC"), "rate() expressions are not supported"),
    ];
    let mut failures = Vec::new();
    for (value, expected) in cases {
        match timing(value.clone()).parse() {
            Ok(_) => failures.push(format!("{value}: accepted")),
            Err(e) if !e.message.contains(expected) => {
                failures.push(format!("{value}: {:?} lacks {expected:?}", e.message));
            }
            Err(e) => assert_eq!(e.code, crate::ErrorCode::Validation),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
