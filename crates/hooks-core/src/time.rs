//! Time as Taskcluster writes it: ISO-8601 UTC with milliseconds and `Z`, like JavaScript's `Date.toJSON()`.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// Formats `t` as `2026-11-24T10:17:03.000Z`.
pub fn to_json(t: DateTime<Utc>) -> String {
    // Not `format`: that parses its pattern on every call, and this runs several times per fire.
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Drops everything below the millisecond, so a time survives a round trip through JSON unchanged.
pub fn truncate_to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

/// The current time, to the millisecond.
pub fn now_millis() -> DateTime<Utc> {
    truncate_to_millis(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_like_javascript_to_json() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 10, 17, 3).unwrap() + TimeDelta::microseconds(45_678);
        assert_eq!(to_json(t), "2026-11-24T10:17:03.045Z");
        assert_eq!(to_json(truncate_to_millis(t)), "2026-11-24T10:17:03.045Z");
        assert_eq!(truncate_to_millis(t).timestamp_subsec_micros(), 45_000);
    }
}
