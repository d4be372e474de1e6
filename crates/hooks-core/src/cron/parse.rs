//! Parsing a whole pattern with cron-parser 5.6.2's rules: nicknames, the number of fields, `L` and `#` in
//! day-of-month and day-of-week, and the checks across fields; then writing it out in the canonical form that
//! `eval` hands to croner.

use std::collections::BTreeSet;

use super::error::{CronError, FieldProblem};
use super::field::{CronField, join_numbers};
use super::list::{expand_entry, insert_distinct, list_entries, normalize, parse_plain, parse_value};

/// cron-parser's predefined patterns, with the six-field patterns they stand for.
const NICKNAMES: [(&str, &str); 10] = [
    ("@yearly", "0 0 0 1 1 *"),
    ("@annually", "0 0 0 1 1 *"),
    ("@monthly", "0 0 0 1 * *"),
    ("@weekly", "0 0 0 * * 0"),
    ("@daily", "0 0 0 * * *"),
    ("@hourly", "0 0 * * * *"),
    ("@minutely", "0 * * * * *"),
    ("@secondly", "* * * * * *"),
    ("@weekdays", "0 0 0 * * 1-5"),
    ("@weekends", "0 0 0 * * 0,6"),
];

/// The most days each month can have; February counts 29 because leap years have a 29th.
const MAX_DAYS_IN_MONTH: [u8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// The six fields of a parsed pattern, as sets of allowed values.
#[derive(Debug)]
pub(super) struct Fields {
    second: BTreeSet<u8>,
    minute: BTreeSet<u8>,
    hour: BTreeSet<u8>,
    day_of_month: DayOfMonth,
    month: BTreeSet<u8>,
    day_of_week: DayOfWeek,
}

/// The day-of-month field; `wildcard` is cron-parser's notion (written exactly `*` or `?`),
/// which decides whether day-of-month and day-of-week are ORed.
#[derive(Debug)]
struct DayOfMonth {
    wildcard: bool,
    days: BTreeSet<u8>,
    last: bool,
}

/// The day-of-week field with weekdays 0-6 (Sunday 0); `wildcard` as for [`DayOfMonth`].
#[derive(Debug)]
struct DayOfWeek {
    wildcard: bool,
    every: BTreeSet<u8>,
    last: BTreeSet<u8>,
    nth: Option<Nth>,
}

/// `weekday#n`: the nth occurrence in the month of each of `weekdays`.
#[derive(Debug)]
struct Nth {
    weekdays: BTreeSet<u8>,
    n: u8,
}

impl Fields {
    /// Parses and checks a pattern (see the module docs of `cron`).
    pub(super) fn parse(pattern: &str) -> Result<Self, CronError> {
        let [second, minute, hour, dom, month, dow] = split_fields(pattern)?;
        // Fields are checked in cron-parser's order, so the first error reported is the same.
        let second = parse_plain(CronField::Second, second)?;
        let minute = parse_plain(CronField::Minute, minute)?;
        let hour = parse_plain(CronField::Hour, hour)?;
        let month = parse_plain(CronField::Month, month)?;
        let mut day_of_month = parse_day_of_month(dom)?;
        let day_of_week = parse_day_of_week(dow)?;
        check_day_reachable(&day_of_month, &day_of_week, &month)?;
        narrow_to_nth_week(&mut day_of_month, &day_of_week, dow)?;
        Ok(Self { second, minute, hour, day_of_month, month, day_of_week })
    }

    /// The pattern as six plain lists, which croner evaluates the way cron-parser does.
    pub(super) fn canonical(&self) -> String {
        [
            join_numbers(self.second.iter().copied()),
            join_numbers(self.minute.iter().copied()),
            join_numbers(self.hour.iter().copied()),
            self.day_of_month.canonical(),
            join_numbers(self.month.iter().copied()),
            self.day_of_week.canonical(),
        ]
        .join(" ")
    }
}

impl DayOfMonth {
    fn canonical(&self) -> String {
        // croner ORs day-of-month with day-of-week unless the field is exactly `*`, which is
        // cron-parser's rule too; an emptied field (see `narrow_to_nth_week`) must read `*`.
        if self.wildcard || (self.days.is_empty() && !self.last) {
            return "*".to_owned();
        }
        let mut entries: Vec<String> = self.days.iter().map(u8::to_string).collect();
        if self.last {
            entries.push("L".to_owned());
        }
        entries.join(",")
    }
}

impl DayOfWeek {
    fn canonical(&self) -> String {
        if self.wildcard {
            return "*".to_owned();
        }
        let every = self.every.iter().map(u8::to_string);
        let last = self.last.iter().map(|d| format!("{d}L"));
        let nth = self.nth.iter().flat_map(|nth| nth.weekdays.iter().map(move |d| format!("{d}#{}", nth.n)));
        every.chain(last).chain(nth).collect::<Vec<_>>().join(",")
    }
}

/// Splits a pattern into six field texts, expanding nicknames and prepending seconds to five.
fn split_fields(pattern: &str) -> Result<[&str; 6], CronError> {
    let trimmed = pattern.trim();
    if trimmed.is_empty() {
        return Err(CronError::Empty);
    }
    let expanded = expand_nickname(trimmed)?;
    let parts: Vec<&str> = expanded.split_whitespace().collect();
    match parts.as_slice() {
        [min, hour, dom, month, dow] => Ok(["0", min, hour, dom, month, dow]),
        [sec, min, hour, dom, month, dow] => Ok([sec, min, hour, dom, month, dow]),
        _ if parts.len() < 5 => Err(CronError::TooFewFields { count: parts.len() }),
        _ => Err(CronError::TooManyFields { count: parts.len() }),
    }
}

/// Replaces a nickname with its pattern; cron-parser matches nicknames case-sensitively.
fn expand_nickname(pattern: &str) -> Result<&str, CronError> {
    if !pattern.starts_with('@') {
        return Ok(pattern);
    }
    NICKNAMES
        .iter()
        .find(|(name, _)| *name == pattern)
        .map(|(_, expansion)| *expansion)
        .ok_or_else(|| CronError::UnknownNickname { nickname: pattern.to_owned() })
}

/// Whether a field is cron-parser's wildcard: exactly `*` or `?`.
fn is_wildcard(text: &str) -> bool {
    text == "*" || text == "?"
}

fn parse_day_of_month(text: &str) -> Result<DayOfMonth, CronError> {
    let field = CronField::DayOfMonth;
    let normalized = normalize(field, text)?;
    let mut days = BTreeSet::new();
    let mut last = false;
    for entry in list_entries(field, text, &normalized)? {
        if entry == "L" {
            if last {
                return Err(FieldProblem::Duplicate.in_field(field, "L"));
            }
            last = true;
        } else if entry.contains('L') {
            return Err(CronError::MisplacedLastDay { value: entry.to_owned() });
        } else {
            insert_distinct(field, &mut days, expand_entry(field, entry)?)?;
        }
    }
    Ok(DayOfMonth { wildcard: is_wildcard(text), days, last })
}

fn parse_day_of_week(text: &str) -> Result<DayOfWeek, CronError> {
    let field = CronField::DayOfWeek;
    let normalized = normalize(field, text)?;
    let mut day_of_week =
        DayOfWeek { wildcard: is_wildcard(text), every: BTreeSet::new(), last: BTreeSet::new(), nth: None };
    if normalized.contains('#') {
        day_of_week.nth = Some(parse_nth(text, &normalized)?);
        return Ok(day_of_week);
    }
    for entry in list_entries(field, text, &normalized)? {
        match entry.strip_suffix('L') {
            Some(weekday) => {
                let day = parse_last_weekday(entry, weekday)?;
                if !day_of_week.last.insert(day) {
                    return Err(FieldProblem::Duplicate.in_field(field, entry));
                }
            }
            None if entry.contains('L') => {
                return Err(CronError::InvalidLastWeekday { value: entry.to_owned() });
            }
            None => insert_distinct(field, &mut day_of_week.every, expand_entry(field, entry)?)?,
        }
    }
    Ok(day_of_week)
}

/// Parses the weekday of `weekdayL`; cron-parser takes it modulo 7, so 7L is the last Sunday.
fn parse_last_weekday(entry: &str, weekday: &str) -> Result<u8, CronError> {
    let invalid = || CronError::InvalidLastWeekday { value: entry.to_owned() };
    if weekday.is_empty() || !weekday.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let day = parse_value(CronField::DayOfWeek, weekday)?;
    Ok(day % 7)
}

/// Parses `weekday#n`, which cron-parser allows only as the whole day-of-week field.
fn parse_nth(text: &str, normalized: &str) -> Result<Nth, CronError> {
    let invalid = || CronError::InvalidNthWeekday { value: text.to_owned() };
    let Some((weekday, n)) = normalized.split_once('#') else {
        return Err(invalid());
    };
    if weekday.is_empty() || n.is_empty() || weekday.contains([',', '-', '/', 'L']) {
        return Err(invalid());
    }
    let n = match n.parse::<u8>() {
        Ok(n @ 1..=5) => n,
        _ => return Err(invalid()),
    };
    let weekdays = if weekday == "*" {
        (0..7).collect()
    } else {
        BTreeSet::from([parse_value(CronField::DayOfWeek, weekday)? % 7])
    };
    Ok(Nth { weekdays, n })
}

/// Rejects a day of month that no allowed month has, when day-of-week cannot rescue it.
///
/// cron-parser rejects this only for a single month (`Invalid explicit day of month
/// definition`); we check every allowed month, since such a pattern never fires.
fn check_day_reachable(
    day_of_month: &DayOfMonth,
    day_of_week: &DayOfWeek,
    months: &BTreeSet<u8>,
) -> Result<(), CronError> {
    if day_of_month.wildcard || day_of_month.last || !day_of_week.wildcard {
        return Ok(());
    }
    let longest = months
        .iter()
        .filter_map(|m| MAX_DAYS_IN_MONTH.get(usize::from(*m).wrapping_sub(1)))
        .copied()
        .max()
        .unwrap_or(31);
    match day_of_month.days.first() {
        Some(&day) if day > longest => {
            Err(CronError::ImpossibleDayOfMonth { day, months: months.iter().copied().collect() })
        }
        _ => Ok(()),
    }
}

/// Reproduces cron-parser's `#`: it is checked after the day-of-month/day-of-week OR, so only
/// days of month in the nth week (days 7n-6 to 7n) still fire.
fn narrow_to_nth_week(day_of_month: &mut DayOfMonth, day_of_week: &DayOfWeek, dow_text: &str) -> Result<(), CronError> {
    let Some(nth) = &day_of_week.nth else {
        return Ok(());
    };
    if day_of_month.wildcard {
        return Ok(());
    }
    if day_of_month.last {
        return Err(CronError::LastDayWithNthWeekday { value: dow_text.to_owned() });
    }
    day_of_month.days.retain(|d| d.div_ceil(7) == nth.n);
    Ok(())
}
