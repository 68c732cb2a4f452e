//! Local wall-clock times in a time zone, resolved to instants across DST changes.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant a local wall-clock time means in `tz`: the first of two when the clocks
/// repeat it, and moved forward by the gap when they skip it.
pub fn resolve(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.to_utc()),
        LocalResult::Ambiguous(first, _) => Some(first.to_utc()),
        LocalResult::None => {
            // The offset in force a day earlier is the one before the gap.
            let before = tz
                .offset_from_utc_datetime(&(local.checked_sub_signed(TimeDelta::days(1))?))
                .fix()
                .local_minus_utc();
            Some(
                local
                    .checked_sub_signed(TimeDelta::seconds(i64::from(before)))?
                    .and_utc(),
            )
        }
    }
}
