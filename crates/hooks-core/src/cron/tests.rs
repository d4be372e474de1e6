//! The pattern tests, with the reference table of cron-parser 5.6.2's firings (`reference/dependencies.md` §4).

use super::error::FIELD_ORDER;
use super::*;
use chrono::NaiveDateTime;
use croner::parser::{CronParser, Seconds};

/// Parses a UTC time written `2026-11-25 01:00`, `2026-11-24 10:17:15` or with a fraction.
fn utc(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .unwrap_or_else(|e| panic!("bad test time {text}: {e}"))
        .and_utc()
}

fn parse(pattern: &str) -> CronPattern {
    CronPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern:?} rejected: {e}"))
}

fn next_three(pattern: &CronPattern, after: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut cursor = after;
    for _ in 0..3 {
        let Some(next) = pattern.next_after(cursor) else {
            break;
        };
        out.push(next);
        cursor = next;
    }
    out
}

fn assert_fires(pattern: &str, after: &str, expected: [&str; 3]) {
    let got = next_three(&parse(pattern), utc(after));
    let expected: Vec<_> = expected.iter().map(|t| utc(t)).collect();
    assert_eq!(got, expected, "next firings of {pattern:?} after {after}");
}

fn rejection(pattern: &str) -> String {
    match CronPattern::parse(pattern) {
        Ok(_) => panic!("{pattern:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

fn assert_rejected(pattern: &str, keywords: &[&str]) {
    let message = rejection(pattern);
    for keyword in keywords {
        assert!(message.contains(keyword), "rejection of {pattern:?} should mention {keyword:?}: {message}");
    }
}

/// Reference time of dependencies.md §4 (a Tuesday).
const REFERENCE: &str = "2026-11-24 10:17:03";

/// Every accepted row of dependencies.md §4 with cron-parser 5.6.2's next three firings.
#[rustfmt::skip]
const REFERENCE_TABLE: [(&str, [&str; 3]); 20] = [
    ("0 0 1 * * *",        ["2026-11-25 01:00", "2026-11-26 01:00", "2026-11-27 01:00"]),
    ("0 0 9,21 * * 1-5",   ["2026-11-24 21:00", "2026-11-25 09:00", "2026-11-25 21:00"]),
    ("0 0 12 * * 0,6",     ["2026-11-28 12:00", "2026-11-29 12:00", "2026-12-05 12:00"]),
    ("*/15 * * * * *",     ["2026-11-24 10:17:15", "2026-11-24 10:17:30", "2026-11-24 10:17:45"]),
    ("0 0 0 * * 7",        ["2026-11-29 00:00", "2026-12-06 00:00", "2026-12-13 00:00"]),
    ("0 0 0 1 * *",        ["2026-12-01 00:00", "2027-01-01 00:00", "2027-02-01 00:00"]),
    ("0 30 2 * * 0",       ["2026-11-29 02:30", "2026-12-06 02:30", "2026-12-13 02:30"]),
    ("0 0 0 ? * MON",      ["2026-11-30 00:00", "2026-12-07 00:00", "2026-12-14 00:00"]),
    ("0 0 0 L * *",        ["2026-11-30 00:00", "2026-12-31 00:00", "2027-01-31 00:00"]),
    ("0 0 0 * * 5L",       ["2026-11-27 00:00", "2026-12-25 00:00", "2027-01-29 00:00"]),
    ("0 0 0 * * 1#2",      ["2026-12-14 00:00", "2027-01-11 00:00", "2027-02-08 00:00"]),
    ("0 9 * * 1-5",        ["2026-11-25 09:00", "2026-11-26 09:00", "2026-11-27 09:00"]),
    ("0 0 0 1,15 * 1",     ["2026-11-30 00:00", "2026-12-01 00:00", "2026-12-07 00:00"]),
    ("0 0 0 * * SUN",      ["2026-11-29 00:00", "2026-12-06 00:00", "2026-12-13 00:00"]),
    ("0 0 0 * * 5-7",      ["2026-11-27 00:00", "2026-11-28 00:00", "2026-11-29 00:00"]),
    ("0 0 0 * * 0-6/2",    ["2026-11-26 00:00", "2026-11-28 00:00", "2026-11-29 00:00"]),
    ("@daily",             ["2026-11-25 00:00", "2026-11-26 00:00", "2026-11-27 00:00"]),
    ("0 0 0 * * MON-FRI",  ["2026-11-25 00:00", "2026-11-26 00:00", "2026-11-27 00:00"]),
    ("0 0 */6 * * *",      ["2026-11-24 12:00", "2026-11-24 18:00", "2026-11-25 00:00"]),
    ("0 0 0 1 JAN,JUL *",  ["2027-01-01 00:00", "2027-07-01 00:00", "2028-01-01 00:00"]),
];

#[test]
fn reference_table_matches_cron_parser() {
    for (pattern, expected) in REFERENCE_TABLE {
        assert_fires(pattern, REFERENCE, expected);
    }
    // The table's ERROR rows.
    assert_rejected("0 0 0 15W * *", &["'W'", "15W", "day-of-month"]);
    assert_rejected("0 0 0 31 2 *", &["day 31", "month 2"]);
    assert_rejected("0 0 0 * * 8", &["value 8", "0-7", "day-of-week"]);
    assert_rejected("0 0 0 * * 1-5 2027", &["too many fields", "at most six"]);
}

#[test]
fn weekday_schedule_from_friday_skips_the_weekend() {
    assert_fires("0 0 9,21 * * 1-5", "2026-11-27 10:00", ["2026-11-27 21:00", "2026-11-30 09:00", "2026-11-30 21:00"]);
}

#[test]
fn day_of_week_seven_is_sunday() {
    let sunday = parse("0 0 0 * * 0").next_after(utc(REFERENCE));
    assert_eq!(parse("0 0 0 * * 7").next_after(utc(REFERENCE)), sunday);
    assert_eq!(sunday, Some(utc("2026-11-29 00:00")));
    assert_eq!(parse("0 0 0 * * 7L").next_after(utc(REFERENCE)), Some(utc("2026-11-29 00:00")));
}

#[test]
fn five_fields_fire_at_second_zero() {
    assert_eq!(parse("*/15 * * * *").next_after(utc(REFERENCE)), Some(utc("2026-11-24 10:30")));
    assert_eq!(parse("0 3 * * *").next_after(utc(REFERENCE)), parse("0 0 3 * * *").next_after(utc(REFERENCE)));
}

#[test]
fn nicknames_expand_like_cron_parser() {
    let cases = [
        ("@yearly", "2027-01-01 00:00"),
        ("@annually", "2027-01-01 00:00"),
        ("@monthly", "2026-12-01 00:00"),
        ("@weekly", "2026-11-29 00:00"),
        ("@daily", "2026-11-25 00:00"),
        ("@hourly", "2026-11-24 11:00"),
        ("@minutely", "2026-11-24 10:18"),
        ("@secondly", "2026-11-24 10:17:04"),
        ("@weekdays", "2026-11-25 00:00"),
        ("@weekends", "2026-11-28 00:00"),
    ];
    for (nickname, first) in cases {
        assert_eq!(parse(nickname).next_after(utc(REFERENCE)), Some(utc(first)), "{nickname}");
    }
    assert_fires("@weekends", REFERENCE, ["2026-11-28 00:00", "2026-11-29 00:00", "2026-12-05 00:00"]);
}

#[test]
fn unknown_or_uppercase_nicknames_are_rejected() {
    assert_rejected("@fortnightly", &["unknown nickname", "@fortnightly", "@daily"]);
    assert_rejected("@DAILY", &["unknown nickname", "lowercase"]);
}

#[test]
fn empty_pattern_is_rejected() {
    assert_eq!(CronPattern::parse(""), Err(CronError::Empty));
    assert_eq!(CronPattern::parse("   "), Err(CronError::Empty));
    assert_rejected("", &["empty pattern"]);
}

#[test]
fn wrong_field_counts_are_rejected() {
    assert_eq!(CronPattern::parse("0 0 0 1 * * *"), Err(CronError::TooManyFields { count: 7 }));
    assert_rejected("0 0 0 1 * * *", &["too many fields", "at most six", FIELD_ORDER]);
    assert_rejected("* * *", &["too few fields", "got 3"]);
}

#[test]
fn impossible_day_of_month_is_rejected() {
    assert_rejected("0 0 0 31 2 *", &["day 31 never occurs in month 2"]);
    assert_rejected("0 0 0 30 2 *", &["day 30 never occurs in month 2"]);
    assert_rejected("0 0 0 31 4,6 *", &["day 31 never occurs in months 4,6"]);
    assert_rejected("0 0 0 30,31 FEB ?", &["day 30", "month 2"]);
}

#[test]
fn reachable_or_rescued_day_of_month_is_accepted() {
    // One reachable day is enough, as in cron-parser.
    assert_eq!(parse("0 0 0 1,31 2 *").next_after(utc(REFERENCE)), Some(utc("2027-02-01 00:00")));
    // A restricted day of week is ORed in and rescues the impossible day.
    assert_fires("0 0 0 30 2 1", REFERENCE, ["2027-02-01 00:00", "2027-02-08 00:00", "2027-02-15 00:00"]);
    assert!(CronPattern::parse("0 0 0 L 2 *").is_ok());
}

#[test]
fn leap_day_is_accepted_and_fires_in_2028() {
    assert_fires("0 0 0 29 2 *", REFERENCE, ["2028-02-29 00:00", "2032-02-29 00:00", "2036-02-29 00:00"]);
}

#[test]
fn duplicate_values_are_rejected() {
    let cases: [(&str, &[&str]); 8] = [
        ("1,1 * * * * *", &["duplicate value 1", "second"]),
        ("0,0 * * * * *", &["duplicate value 0", "second"]),
        ("0 */15,30 * * * *", &["duplicate value 30", "minute"]),
        ("0 0 5-10,8 * * *", &["duplicate value 8", "hour"]),
        ("0 0 0 L,L * *", &["duplicate value L", "day-of-month"]),
        ("0 0 0 1 JAN,1 *", &["duplicate value 1", "month"]),
        ("0 0 0 * * 1-5,3", &["duplicate value 3", "day-of-week"]),
        ("0 0 0 * * 0,7", &["duplicate value 0", "Sunday", "day-of-week"]),
    ];
    for (pattern, keywords) in cases {
        assert_rejected(pattern, keywords);
    }
    assert_rejected("0 0 0 * * 5L,5L", &["duplicate value 5L", "day-of-week"]);
    assert_rejected("0 0 0 * * 5-7,SUN", &["duplicate value 0", "day-of-week"]);
}

#[test]
fn weekday_and_its_last_occurrence_are_not_duplicates() {
    assert!(CronPattern::parse("0 0 0 * * 5,5L").is_ok());
}

#[test]
fn nearest_weekday_and_hash_are_rejected() {
    assert_rejected("0 0 0 15W * *", &["'W' (nearest weekday) is not supported", "15W"]);
    assert_rejected("0 0 0 LW * *", &["'W'"]);
    assert_rejected("0 H * * * *", &["'H'", "minute"]);
    assert_rejected("0 0 0 * * H", &["'H'", "day-of-week"]);
}

#[test]
fn out_of_range_values_are_rejected() {
    let cases: [(&str, &[&str]); 8] = [
        ("60 * * * * *", &["value 60 out of range 0-59 in the second field"]),
        ("0 60 * * * *", &["value 60 out of range 0-59 in the minute field"]),
        ("0 0 25 * * *", &["value 25 out of range 0-23 in the hour field"]),
        ("0 0 0 0 * *", &["value 0 out of range 1-31 in the day-of-month field"]),
        ("0 0 0 32 * *", &["value 32 out of range 1-31"]),
        ("0 0 0 1 13 *", &["value 13 out of range 1-12 in the month field"]),
        ("0 0 0 * * 8", &["value 8 out of range 0-7 in the day-of-week field"]),
        ("0 0 0 * * 1-9", &["value 9", "day-of-week"]),
    ];
    for (pattern, keywords) in cases {
        assert_rejected(pattern, keywords);
    }
    assert_rejected("0 0 0 * * 99999999999", &["99999999999", "out of range"]);
}

#[test]
fn malformed_fields_are_rejected() {
    let cases: [(&str, &[&str]); 22] = [
        ("0 0 b * * *", &["invalid characters", "\"b\"", "hour"]),
        ("0 0 0 * * MONDAY", &["invalid characters", "day-of-week"]),
        ("0 0 0 * * FRIL", &["invalid characters", "day-of-week"]),
        ("0 0 0 * FOO *", &["unknown name", "FOO", "month", "JAN"]),
        ("0 0 0 * * JAN", &["unknown name", "JAN", "day-of-week"]),
        ("0 0 0 * MON *", &["unknown name", "MON", "month"]),
        ("0 1,,2 * * * *", &["empty entry", "minute"]),
        ("0 1, * * * *", &["empty entry"]),
        ("0 /15 * * * *", &["invalid step", "/15", "minute"]),
        ("0 */0 * * * *", &["invalid step", "*/0"]),
        ("0 */ * * * *", &["invalid step"]),
        ("0 1/2/3 * * * *", &["invalid step"]),
        ("0 5-1 * * * *", &["runs backwards", "5-1"]),
        ("0 1-2-3 * * * *", &["invalid range", "1-2-3"]),
        ("*-5 * * * * *", &["invalid range", "second"]),
        ("0 0 5* * * *", &["invalid value", "5*", "hour"]),
        ("0 0 0 5L * *", &["'L'", "5L", "day-of-month"]),
        ("0 0 0 * * L", &["last weekday", "5L"]),
        ("0 0 0 * * 8L", &["value 8", "day-of-week"]),
        ("0 0 L * * *", &["invalid characters", "hour"]),
        ("0 0 0 l * *", &["invalid characters", "day-of-month"]),
        ("0 0 0 * * 5l", &["invalid characters", "day-of-week"]),
    ];
    for (pattern, keywords) in cases {
        assert_rejected(pattern, keywords);
    }
}

#[test]
fn malformed_nth_weekdays_are_rejected() {
    for pattern in [
        "0 0 0 * * 5#0",
        "0 0 0 * * 5#6",
        "0 0 0 * * 1#2,3",
        "0 0 0 * * 1-2#2",
        "0 0 0 * * 5L#2",
        "0 0 0 * * #2",
        "0 0 0 * * 1#",
        "0 0 0 * * 1#2#3",
    ] {
        assert_rejected(pattern, &["nth weekday", "day-of-week"]);
    }
    assert_rejected("0 0 0 L * 1#5", &["'L'", "'#'"]);
    assert_rejected("0 0 0 * * 8#2", &["value 8"]);
}

#[test]
fn accepted_syntax_table() {
    let accepted = [
        "* * * * * *",
        "? ? ? ? ? ?",
        "0 0 0 ? * ?",
        "00 05 09 01 01 *",
        "  0   0  *  *  *  ",
        "0 5/15 * * * *",
        "0 1-59/2 * * * *",
        "0 0 0 1-7,15 * *",
        "0 0 0 L,1 * *",
        "0 0 0 * jan-MAR,Dec *",
        "0 0 0 * * mon,Wed,FRI",
        "0 0 0 * * 1,5L",
        "0 0 0 * * MON#2",
        "0 0 0 ? * 7#1",
        "0 0 0 * * *#3",
        "0 0 0 * * */2",
        "0 0 0 * 2 0#5",
        "0 */100 * * * *",
    ];
    for pattern in accepted {
        assert!(CronPattern::parse(pattern).is_ok(), "{pattern:?}: {:?}", CronPattern::parse(pattern));
    }
}

#[test]
fn names_are_case_insensitive() {
    let first = |p: &str| parse(p).next_after(utc(REFERENCE));
    assert_eq!(first("0 0 0 * * mon"), first("0 0 0 * * MON"));
    assert_eq!(first("0 0 0 * * Mon"), first("0 0 0 * * 1"));
    assert_eq!(first("0 0 0 1 jul *"), first("0 0 0 1 7 *"));
}

#[test]
fn question_mark_is_a_wildcard_in_every_field() {
    assert_eq!(parse("? * * * * *").next_after(utc(REFERENCE)), Some(utc("2026-11-24 10:17:04")));
}

#[test]
fn start_with_step_runs_to_the_field_end() {
    assert_fires("0 5/15 * * * *", REFERENCE, ["2026-11-24 10:20", "2026-11-24 10:35", "2026-11-24 10:50"]);
}

#[test]
fn stepped_weekday_range_ending_at_seven_includes_sunday() {
    // cron-parser quirk: 2-7/3 is Sun, Tue, Fri although the step skips 7.
    assert_fires("0 0 0 * * 2-7/3", REFERENCE, ["2026-11-27 00:00", "2026-11-29 00:00", "2026-12-01 00:00"]);
    // 6/2 means 6-7/2: Saturday and, through the quirk, Sunday.
    assert_fires("0 0 0 * * 6/2", REFERENCE, ["2026-11-28 00:00", "2026-11-29 00:00", "2026-12-05 00:00"]);
    assert_fires("0 0 0 * * */2", REFERENCE, ["2026-11-26 00:00", "2026-11-28 00:00", "2026-11-29 00:00"]);
}

#[test]
fn nth_weekday_keeps_only_days_of_month_in_its_week() {
    // cron-parser ANDs `#` with the whole day match: day 1 is never in week 2.
    assert_fires("0 0 0 1 * 1#2", REFERENCE, ["2026-12-14 00:00", "2027-01-11 00:00", "2027-02-08 00:00"]);
    // Every weekday's third occurrence is days 15-21.
    assert_fires("0 0 0 15 * *#3", REFERENCE, ["2026-12-15 00:00", "2026-12-16 00:00", "2026-12-17 00:00"]);
    assert_fires("0 0 0 ? * 1#1", REFERENCE, ["2026-12-07 00:00", "2027-01-04 00:00", "2027-02-01 00:00"]);
}

#[test]
fn rare_fifth_weekday_is_found_decades_ahead() {
    assert_eq!(parse("0 0 0 * 2 0#5").next_after(utc(REFERENCE)), Some(utc("2032-02-29 00:00")));
}

#[test]
fn next_after_is_strictly_after() {
    let daily = parse("0 0 3 * * *");
    assert_eq!(daily.next_after(utc("2026-11-24 03:00")), Some(utc("2026-11-25 03:00")));
    assert_eq!(daily.next_after(utc("2026-11-24 02:59:59")), Some(utc("2026-11-24 03:00")));
}

#[test]
fn next_after_ignores_sub_seconds() {
    let every_second = parse("* * * * * *");
    assert_eq!(every_second.next_after(utc("2026-11-24 10:17:14.999")), Some(utc("2026-11-24 10:17:15")));
    let daily = parse("0 0 3 * * *");
    assert_eq!(daily.next_after(utc("2026-11-24 03:00:00.500")), Some(utc("2026-11-25 03:00")));
}

#[test]
fn pattern_that_never_fires_ends_the_search() {
    // Built past our validator, which rejects it: croner's bound must end the search.
    let cron = CronParser::builder().seconds(Seconds::Required).build().parse("0 0 0 31 2 *").unwrap();
    let never = CronPattern { source: "0 0 0 31 2 *".to_owned(), cron: Evaluator(std::sync::Arc::new(cron)) };
    assert_eq!(never.next_after(utc(REFERENCE)), None);
}

#[test]
fn search_near_the_end_of_time_returns_none() {
    assert_eq!(parse("0 0 0 1 1 *").next_after(utc("5000-06-01 00:00")), None);
}

#[test]
fn patterns_compare_and_serialize_as_their_text() {
    let pattern = parse("0 0 9,21 * * 1-5");
    assert_eq!(pattern.as_str(), "0 0 9,21 * * 1-5");
    assert_eq!(pattern.to_string(), "0 0 9,21 * * 1-5");
    assert_eq!(pattern, parse("0 0 9,21 * * 1-5"));
    // Same firings, different text: distinct, as the API's uniqueItems sees them.
    assert_ne!(parse("0 0 0 * * 7"), parse("0 0 0 * * 0"));
    let json = serde_json::to_string(&pattern).unwrap();
    assert_eq!(json, r#""0 0 9,21 * * 1-5""#);
    assert_eq!(serde_json::from_str::<CronPattern>(&json).unwrap(), pattern);
}

#[test]
fn deserializing_an_invalid_pattern_fails_with_the_reason() {
    let err = serde_json::from_str::<CronPattern>(r#""0 0 0 31 2 *""#).unwrap_err();
    assert!(err.to_string().contains("day 31 never occurs in month 2"), "{err}");
}

fn strings(patterns: &[&str]) -> Vec<String> {
    patterns.iter().map(|p| (*p).to_owned()).collect()
}

#[test]
fn schedule_fires_at_its_earliest_pattern() {
    let schedule = Schedule::parse(&strings(&["0 0 0 * * *", "0 30 10 * * *", "@weekly"])).unwrap();
    assert_eq!(schedule.next_after(utc(REFERENCE)), Some(utc("2026-11-24 10:30")));
    assert_eq!(schedule.next_after(utc("2026-11-24 10:30")), Some(utc("2026-11-25 00:00")));
    assert_eq!(schedule.patterns().len(), 3);
    assert!(!schedule.is_empty());
}

#[test]
fn empty_schedule_never_fires() {
    let schedule = Schedule::parse(&[]).unwrap();
    assert!(schedule.is_empty());
    assert_eq!(schedule.next_after(utc(REFERENCE)), None);
    assert_eq!(schedule, Schedule::default());
}

#[test]
fn schedule_rejects_repeated_entries_with_their_indexes() {
    let err = Schedule::parse(&strings(&["@daily", "0 0 * * *", "@daily"])).unwrap_err();
    assert_eq!(err, ScheduleError::Duplicate { index: 2, first: 0, pattern: "@daily".to_owned() });
    assert_eq!(err.to_string(), r#"schedule[2] "@daily" repeats schedule[0]"#);
}

#[test]
fn schedule_names_the_invalid_entry() {
    let err = Schedule::parse(&strings(&["@daily", "0 0 0 * * 8"])).unwrap_err();
    assert!(matches!(
        &err,
        ScheduleError::Invalid { index: 1, pattern, source: CronError::OutOfRange { .. } }
            if pattern == "0 0 0 * * 8"
    ));
    let message = err.to_string();
    assert!(message.starts_with(r#"schedule[1] "0 0 0 * * 8": value 8"#), "{message}");
}

#[test]
fn schedule_round_trips_through_strings_and_json() {
    let texts = strings(&["0 0 9,21 * * 1-5", "@monthly"]);
    let schedule = Schedule::parse(&texts).unwrap();
    assert_eq!(schedule.to_strings(), texts);
    let json = serde_json::to_string(&schedule).unwrap();
    assert_eq!(json, r#"["0 0 9,21 * * 1-5","@monthly"]"#);
    assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), schedule);
    assert!(serde_json::from_str::<Schedule>(r#"["@daily","@daily"]"#).is_err());
}

#[test]
fn next_slots_merge_the_patterns_ascending_each_second_once() {
    // Weekdays at 9 and 21, and every day at 21: the two share 21:00 on weekdays, which is one slot.
    let schedule = Schedule::parse(&strings(&["0 0 9,21 * * 1-5", "0 0 21 * * *"])).unwrap();
    let expected: Vec<_> = [
        "2026-11-24 21:00", // Tuesday, both patterns
        "2026-11-25 09:00",
        "2026-11-25 21:00",
        "2026-11-26 09:00",
        "2026-11-26 21:00",
        "2026-11-27 09:00",
        "2026-11-27 21:00",
        "2026-11-28 21:00", // Saturday and Sunday: the daily pattern only
        "2026-11-29 21:00",
        "2026-11-30 09:00",
    ]
    .iter()
    .map(|t| utc(t))
    .collect();
    assert_eq!(schedule.next_slots(utc(REFERENCE), 10), expected);
    assert_eq!(schedule.next_slots(utc(REFERENCE), 3), expected[..3]);
}

#[test]
fn next_slots_start_strictly_after_the_given_time() {
    let schedule = Schedule::parse(&strings(&["0 0 21 * * *"])).unwrap();
    let slots = schedule.next_slots(utc("2026-11-24 21:00"), 2);
    assert_eq!(slots, [utc("2026-11-25 21:00"), utc("2026-11-26 21:00")]);
}

#[test]
fn next_slots_of_an_empty_schedule_or_a_zero_count_are_none() {
    assert!(Schedule::default().next_slots(utc(REFERENCE), 10).is_empty());
    let schedule = Schedule::parse(&strings(&["@daily"])).unwrap();
    assert!(schedule.next_slots(utc(REFERENCE), 0).is_empty());
}
