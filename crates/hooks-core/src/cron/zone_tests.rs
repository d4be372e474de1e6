//! Schedules read in a time zone, through the clock changes of 2026 (docs/schedules.md). Every time is UTC;
//! the comments give the wall time in the zone.

use super::*;
use chrono::{NaiveDateTime, TimeDelta};

fn utc(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .unwrap_or_else(|e| panic!("bad test time {text}: {e}"))
        .and_utc()
}

fn zoned(zone: &str, patterns: &[&str]) -> Schedule {
    let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
    let zone = ScheduleZone::parse(zone).unwrap_or_else(|e| panic!("{zone}: {e}"));
    Schedule::parse(&patterns).unwrap().in_zone(Some(zone))
}

/// The next `expected.len()` slots after `after`.
fn assert_slots(zone: &str, pattern: &str, after: &str, expected: &[&str]) {
    let schedule = zoned(zone, &[pattern]);
    let mut got = Vec::new();
    let mut cursor = utc(after);
    for _ in expected {
        let Some(next) = schedule.next_after(cursor) else { break };
        got.push(next);
        cursor = next;
    }
    let expected: Vec<_> = expected.iter().map(|t| utc(t)).collect();
    assert_eq!(got, expected, "{pattern:?} in {zone} after {after}");
}

/// How many slots fall in [from, to).
fn count_slots(schedule: &Schedule, from: DateTime<Utc>, to: DateTime<Utc>) -> usize {
    let mut count = 0;
    let mut cursor = from - TimeDelta::seconds(1);
    while let Some(next) = schedule.next_after(cursor).filter(|n| *n < to) {
        assert!(next > cursor);
        count += 1;
        cursor = next;
    }
    count
}

#[test]
fn berlin_spring_forward_fires_a_skipped_time_once_after_the_gap() {
    // 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC). 02:30 does not exist that day.
    assert_slots(
        "Europe/Berlin",
        "0 30 2 * * *",
        "2026-03-28 12:00",
        &[
            "2026-03-29 01:00", // 03:00 CEST, the first instant after the gap
            "2026-03-30 00:30", // 02:30 CEST
            "2026-03-31 00:30",
        ],
    );
    // Hourly: 02:00 is skipped and fires as 03:00, which it coincides with: once.
    assert_slots(
        "Europe/Berlin",
        "0 0 * * * *",
        "2026-03-28 23:30",
        &[
            "2026-03-29 00:00", // 01:00 CET
            "2026-03-29 01:00", // 03:00 CEST
            "2026-03-29 02:00", // 04:00 CEST
        ],
    );
    assert_slots(
        "Europe/Berlin",
        "0 */15 * * * *",
        "2026-03-29 00:30",
        &[
            "2026-03-29 00:45", // 01:45 CET
            "2026-03-29 01:00", // 03:00 CEST: fifteen minutes of real time later
            "2026-03-29 01:15",
        ],
    );
}

#[test]
fn berlin_fall_back_fires_a_repeated_time_once_at_its_first_occurrence() {
    // 25 October 2026: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:00-02:59 happen twice.
    assert_slots(
        "Europe/Berlin",
        "0 30 2 * * *",
        "2026-10-24 12:00",
        &[
            "2026-10-25 00:30", // 02:30 CEST, the first occurrence
            "2026-10-26 01:30", // 02:30 CET
            "2026-10-27 01:30",
        ],
    );
    // Hourly is not more often than hourly: 02:00 fires once, in CEST.
    assert_slots(
        "Europe/Berlin",
        "0 0 * * * *",
        "2026-10-24 23:30",
        &[
            "2026-10-25 00:00", // 02:00 CEST
            "2026-10-25 02:00", // 03:00 CET
            "2026-10-25 03:00",
        ],
    );
    // Several hours a day, one minute and second: once per wall time, too.
    assert_slots(
        "Europe/Berlin",
        "0 30 2,14 * * *",
        "2026-10-24 13:00",
        &[
            "2026-10-25 00:30", // 02:30 CEST
            "2026-10-25 13:30", // 14:30 CET
            "2026-10-26 01:30",
        ],
    );
}

#[test]
fn berlin_fall_back_patterns_firing_more_often_than_hourly_follow_the_instants() {
    assert_slots(
        "Europe/Berlin",
        "0 */15 * * * *",
        "2026-10-24 23:50",
        &[
            "2026-10-25 00:00", // 02:00 CEST
            "2026-10-25 00:15",
            "2026-10-25 00:30",
            "2026-10-25 00:45",
            "2026-10-25 01:00", // 02:00 CET, the second pass
            "2026-10-25 01:15",
        ],
    );
}

#[test]
fn a_search_starting_in_the_second_pass_does_not_fire_a_time_again() {
    // 02:10 CET, the second pass: 02:30 fired at its first occurrence (00:30 UTC) already.
    assert_slots("Europe/Berlin", "0 30 2 * * *", "2026-10-25 01:10", &["2026-10-26 01:30"]);
    assert_slots("Europe/Berlin", "0 0 * * * *", "2026-10-25 01:10", &["2026-10-25 02:00"]);
    // Every 15 minutes carries on through the second pass.
    assert_slots("Europe/Berlin", "0 */15 * * * *", "2026-10-25 01:10", &["2026-10-25 01:15", "2026-10-25 01:30"]);
}

#[test]
fn new_york_changes_its_clocks_at_two_in_the_morning() {
    // 8 March 2026: 02:00 EST becomes 03:00 EDT (07:00 UTC).
    assert_slots(
        "America/New_York",
        "0 30 2 * * *",
        "2026-03-07 12:00",
        &[
            "2026-03-08 07:00", // 03:00 EDT
            "2026-03-09 06:30", // 02:30 EDT
            "2026-03-10 06:30",
        ],
    );
    assert_slots(
        "America/New_York",
        "0 */15 * * * *",
        "2026-03-08 06:40",
        &[
            "2026-03-08 06:45", // 01:45 EST
            "2026-03-08 07:00", // 03:00 EDT
            "2026-03-08 07:15",
        ],
    );
    // 1 November 2026: 02:00 EDT becomes 01:00 EST (06:00 UTC).
    assert_slots(
        "America/New_York",
        "0 30 1 * * *",
        "2026-10-31 12:00",
        &[
            "2026-11-01 05:30", // 01:30 EDT
            "2026-11-02 06:30", // 01:30 EST
            "2026-11-03 06:30",
        ],
    );
    assert_slots(
        "America/New_York",
        "0 */15 * * * *",
        "2026-11-01 05:40",
        &[
            "2026-11-01 05:45", // 01:45 EDT
            "2026-11-01 06:00", // 01:00 EST
            "2026-11-01 06:15",
            "2026-11-01 06:30",
            "2026-11-01 06:45",
            "2026-11-01 07:00", // 02:00 EST
        ],
    );
}

#[test]
fn lord_howe_shifts_by_half_an_hour() {
    // 4 October 2026: 02:00 (+10:30) becomes 02:30 (+11), at 15:30 UTC on the 3rd.
    assert_slots(
        "Australia/Lord_Howe",
        "0 15 2 * * *",
        "2026-10-03 00:00",
        &[
            "2026-10-03 15:30", // 02:30 (+11), the first instant after the gap
            "2026-10-04 15:15", // 02:15 (+11)
            "2026-10-05 15:15",
        ],
    );
    assert_slots(
        "Australia/Lord_Howe",
        "0 */15 * * * *",
        "2026-10-03 15:10",
        &[
            "2026-10-03 15:15", // 01:45 (+10:30)
            "2026-10-03 15:30", // 02:30 (+11)
            "2026-10-03 15:45",
        ],
    );
    // A skipped 02:10 fires at the gap's end; 02:40 exists.
    assert_slots(
        "Australia/Lord_Howe",
        "0 10,40 * * * *",
        "2026-10-03 15:10",
        &["2026-10-03 15:30", "2026-10-03 15:40", "2026-10-03 16:10"],
    );
    // 5 April 2026: 02:00 (+11) becomes 01:30 (+10:30), at 15:00 UTC on the 4th; 01:30-01:59 happen twice.
    assert_slots(
        "Australia/Lord_Howe",
        "0 45 1 * * *",
        "2026-04-04 00:00",
        &[
            "2026-04-04 14:45", // 01:45 (+11)
            "2026-04-05 15:15", // 01:45 (+10:30)
            "2026-04-06 15:15",
        ],
    );
    assert_slots(
        "Australia/Lord_Howe",
        "0 */15 * * * *",
        "2026-04-04 14:40",
        &[
            "2026-04-04 14:45", // 01:45 (+11)
            "2026-04-04 15:00", // 01:30 (+10:30), the second pass
            "2026-04-04 15:15",
            "2026-04-04 15:30", // 02:00 (+10:30)
        ],
    );
}

#[test]
fn tokyo_has_no_clock_changes_and_its_weekdays_are_local() {
    assert_slots(
        "Asia/Tokyo",
        "0 0 9 * * *",
        "2026-11-24 10:17",
        &["2026-11-25 00:00", "2026-11-26 00:00", "2026-11-27 00:00"],
    );
    // Monday 08:30 in Tokyo is Sunday 23:30 UTC.
    assert_slots("Asia/Tokyo", "0 30 8 * * 1", "2026-11-24 10:17", &["2026-11-29 23:30", "2026-12-06 23:30"]);
    let year = (utc("2025-12-31 15:00"), utc("2026-12-31 15:00"));
    assert_eq!(count_slots(&zoned("Asia/Tokyo", &["0 0 * * * *"]), year.0, year.1), 365 * 24);
}

#[test]
fn a_whole_skipped_day_fires_once_when_the_clocks_resume() {
    // Samoa skipped 30 December 2011: 23:59:59 on the 29th (-10:00) was followed by 00:00 on the 31st (+14:00).
    assert_slots(
        "Pacific/Apia",
        "0 0 12 * * *",
        "2011-12-29 00:00",
        &[
            "2011-12-29 22:00", // 12:00 on the 29th (-10:00)
            "2011-12-30 10:00", // 00:00 on the 31st: the 30th's noon never happened
            "2011-12-30 22:00", // 12:00 on the 31st (+14:00)
        ],
    );
}

#[test]
fn a_year_in_berlin_counts_each_wall_time_once_and_each_quarter_hour_of_real_time() {
    // 2026 from local midnight to local midnight, both in CET: exactly 365 days of real time.
    let (from, to) = (utc("2025-12-31 23:00"), utc("2026-12-31 23:00"));
    assert_eq!(count_slots(&zoned("Europe/Berlin", &["0 30 2 * * *"]), from, to), 365);
    // 23 hours in March's short day, 24 (not 25) in October's long one.
    assert_eq!(count_slots(&zoned("Europe/Berlin", &["0 0 * * * *"]), from, to), 365 * 24 - 1);
    assert_eq!(count_slots(&zoned("Europe/Berlin", &["0 */15 * * * *"]), from, to), 365 * 24 * 4);
}

/// The slots of `pattern` (second 0) in `tz` among the whole minutes of [from, to), straight from the rules: a
/// minute whose wall time matches, at its first occurrence unless the pattern fires more often than hourly; and the
/// first minute after a gap, when a skipped wall time matches.
fn slots_by_the_rules(
    pattern: &CronPattern,
    tz: chrono_tz::Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    use chrono::TimeZone as _;
    let cron = &pattern.cron;
    let matches = |wall: NaiveDateTime| cron.0.is_time_matching(&wall).unwrap();
    let wall_of = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
    let mut slots = Vec::new();
    let mut t = from;
    while t < to {
        let wall = wall_of(t);
        let first = tz.from_local_datetime(&wall).earliest().is_some_and(|e| e == t);
        let fires_here = matches(wall) && (first || cron.fires_more_than_hourly());
        let before = wall_of(t - TimeDelta::minutes(1));
        let mut skipped = (1..).map(|m| before + TimeDelta::minutes(m)).take_while(|w| *w < wall);
        if fires_here || skipped.any(matches) {
            slots.push(t);
        }
        t += TimeDelta::minutes(1);
    }
    slots
}

#[test]
fn around_every_clock_change_of_2026_the_search_agrees_with_the_rules() {
    let changes = [
        ("Europe/Berlin", "2026-03-29 01:00"),
        ("Europe/Berlin", "2026-10-25 01:00"),
        ("America/New_York", "2026-03-08 07:00"),
        ("America/New_York", "2026-11-01 06:00"),
        ("Australia/Lord_Howe", "2026-04-04 15:00"),
        ("Australia/Lord_Howe", "2026-10-03 15:30"),
    ];
    let patterns = [
        "0 * * * * *",
        "0 */7 * * * *",
        "0 0,30 * * * *",
        "0 15,45 1-3 * * *",
        "0 0 * * * *",
        "0 30 1,2 * * *",
        "0 10 2 * * *",
        "0 59 1 * * *",
        "0 0 3 * * *",
        "0 45 1 * * *",
    ];
    for (zone, change) in changes {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let change = utc(change);
        let (from, to) = (change - TimeDelta::hours(4), change + TimeDelta::hours(28));
        for text in patterns {
            let pattern = CronPattern::parse(text).unwrap();
            let expected = slots_by_the_rules(&pattern, tz, from, to);
            let schedule = zoned(zone, &[text]);
            // Every start from four hours before the change to four after, each minute and half minute.
            let mut start = from;
            while start < change + TimeDelta::hours(4) {
                let want = expected.iter().copied().find(|s| *s > start);
                assert_eq!(schedule.next_after(start), want, "{text:?} in {zone} after {start}");
                start += TimeDelta::seconds(30);
            }
        }
    }
}

#[test]
fn utc_by_name_fires_as_no_zone_does() {
    let after = utc("2026-11-24 10:17");
    for pattern in ["0 0 1 * * *", "0 0 9,21 * * 1-5", "*/7 * * * * *", "0 0 0 L * *", "@weekly", "0 0 0 * * 5#2"] {
        let plain = Schedule::parse(&[pattern.to_owned()]).unwrap();
        let named = plain.clone().in_zone(Some(ScheduleZone::parse("UTC").unwrap()));
        let (mut a, mut b) = (after, after);
        for _ in 0..5 {
            a = plain.next_after(a).unwrap();
            b = named.next_after(b).unwrap();
            assert_eq!(a, b, "{pattern}");
        }
    }
}

#[test]
fn slots_are_whole_seconds_strictly_after_the_given_time() {
    let schedule = zoned("America/New_York", &["*/20 * * * * *"]);
    let after: DateTime<Utc> = "2026-11-01T05:59:59.700Z".parse().unwrap();
    assert_eq!(schedule.next_after(after), Some("2026-11-01T06:00:00Z".parse().unwrap()));
    assert_eq!(schedule.next_after(utc("2026-11-01 06:00")), Some("2026-11-01T06:00:20Z".parse().unwrap()));
}

#[test]
fn zone_names_are_the_iana_names() {
    assert_eq!(ScheduleZone::parse("Europe/Berlin").unwrap().name(), "Europe/Berlin");
    assert_eq!(ScheduleZone::parse("US/Eastern").unwrap().name(), "US/Eastern");
    assert_eq!(
        ScheduleZone::parse("Europe/Berln").unwrap_err().to_string(),
        r#"unknown time zone "Europe/Berln": expected an IANA name such as "Europe/Berlin" or "America/New_York""#
    );
    assert_eq!(ScheduleZone::parse("europe/berlin"), Err(UnknownZone("europe/berlin".to_owned())));
    assert!(ScheduleZone::parse("").is_err());
}
