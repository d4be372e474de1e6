//! Cron schedules: parsing hook schedule patterns and computing their next firing in UTC.
//!
//! The reference is npm `cron-parser` 5.6.2, which Taskcluster's hooks service uses
//! (`reference/dependencies.md` §4, `reference/taskcluster-hooks.md` §4.1). We parse each pattern
//! ourselves, with cron-parser's rules, into sets of values, and hand `croner` a canonical pattern
//! of plain lists (`0 0 9,21 * * 1,2,3,4,5`) to evaluate. Expanding the fields ourselves is what
//! lets us find duplicates and impossible days, and reproduce cron-parser's quirks; keeping
//! ranges, steps and names away from croner means its own parsing differences cannot matter.
//!
//! Where we deliberately differ from cron-parser 5.6.2 (all rejections of patterns that are
//! almost certainly mistakes; none changes when an accepted pattern fires):
//! - The empty pattern is rejected. cron-parser reads it as every minute, but an empty entry in
//!   a hook's schedule is a mistake, not a request to fire 1440 times a day.
//! - Fewer than five fields are rejected; cron-parser pads them with an odd set of defaults.
//! - `H` (hashed values) is rejected: cron-parser picks a new random value on every parse, so
//!   the hook would fire at a different time after each computation.
//! - Every duplicate is rejected. cron-parser's check looks only at the smallest repeated value
//!   and takes a repeated 0 for "none", so it accepts any field where 0 repeats (`0,0`, `0,7`,
//!   `*,*/15`) yet rejects `1,1`.
//! - A day of month that no allowed month has is rejected for any set of months
//!   (`0 0 0 31 4,6 *`); cron-parser only checks a single month and otherwise returns dates from
//!   its exhausted search loop.
//! - A month name in the day-of-week field or a weekday name in the month field is rejected
//!   (cron-parser accepts `* * * * * JAN` as Monday), and so are `L` not alone in day-of-month
//!   (`5L`), `L` without a weekday in day-of-week, weekdays above 7 before `L`, and `L` in
//!   day-of-month together with `#` in day-of-week.
//! - Nicknames are matched after trimming surrounding whitespace (cron-parser wants the exact
//!   string); like cron-parser they are lowercase only, and `L` is uppercase only, while month
//!   and weekday names are case-insensitive.
//!
//! Quirks of cron-parser we reproduce, because they change when a hook fires:
//! - A day-of-week range ending at 7 (or 0) always includes Sunday, even when its step skips 7:
//!   `2-7/3` is Sun, Tue, Fri and `6/2` (= `6-7/2`) is Sat, Sun.
//! - `#` (nth weekday) is ANDed with the whole day match, so with a restricted day of month only
//!   the days in the same week of the month survive: `0 0 0 1 * 1#2` fires on second Mondays only.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Timelike, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The field names in order, quoted in error messages about the number of fields.
const FIELD_ORDER: &str = "seconds minutes hours day-of-month month day-of-week";

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

const MONTH_NAMES: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const WEEKDAY_FULL_NAMES: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// The most days each month can have; February counts 29 because leap years have a 29th.
const MAX_DAYS_IN_MONTH: [u8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// One of the six fields of a cron pattern, named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronField {
    /// Seconds, 0-59.
    Second,
    /// Minutes, 0-59.
    Minute,
    /// Hours, 0-23.
    Hour,
    /// Day of the month, 1-31 or `L`.
    DayOfMonth,
    /// Month, 1-12 or JAN-DEC.
    Month,
    /// Day of the week, 0-7 (0 and 7 are Sunday) or SUN-SAT.
    DayOfWeek,
}

impl CronField {
    fn name(self) -> &'static str {
        match self {
            CronField::Second => "second",
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        }
    }

    /// The smallest and largest values cron-parser accepts in this field.
    fn bounds(self) -> (u8, u8) {
        match self {
            CronField::Second | CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 7),
        }
    }

    /// The three-letter names this field accepts, index 0 standing for its smallest value.
    fn names(self) -> &'static [&'static str] {
        match self {
            CronField::Month => &MONTH_NAMES,
            CronField::DayOfWeek => &WEEKDAY_NAMES,
            _ => &[],
        }
    }

    /// Describes a value of this field for an error message; weekdays get their name.
    fn describe(self, value: u8) -> String {
        // Weekdays are stored 0-6, so a repeated Sunday may have been written 7.
        match (self, WEEKDAY_FULL_NAMES.get(usize::from(value))) {
            (CronField::DayOfWeek, Some(_)) if value == 0 => "0 (Sunday, also written 7)".to_owned(),
            (CronField::DayOfWeek, Some(name)) => format!("{value} ({name})"),
            _ => value.to_string(),
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a cron pattern was rejected; each message names the field and the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// The pattern is empty or only whitespace.
    #[error("empty pattern: expected five or six fields ({FIELD_ORDER}) or a nickname such as @daily")]
    Empty,
    /// The pattern has fewer than five fields.
    #[error("too few fields: got {count}, expected five or six ({FIELD_ORDER})")]
    TooFewFields {
        /// How many fields the pattern has.
        count: usize,
    },
    /// The pattern has more than six fields (cron-parser has no year field).
    #[error("too many fields: got {count}, at most six ({FIELD_ORDER})")]
    TooManyFields {
        /// How many fields the pattern has.
        count: usize,
    },
    /// The pattern starts with `@` but is not one of the known nicknames.
    #[error(
        "unknown nickname {nickname:?}: expected one of @yearly, @annually, @monthly, @weekly, \
         @daily, @hourly, @minutely, @secondly, @weekdays, @weekends (lowercase)"
    )]
    UnknownNickname {
        /// The nickname as written.
        nickname: String,
    },
    /// A field holds characters it does not allow.
    #[error(
        "invalid characters {value:?} in the {field} field: use digits, '*', '?', ',', '-', '/'{}",
        extra_characters(*.field)
    )]
    InvalidCharacters {
        /// The field.
        field: CronField,
        /// The field's text as written.
        value: String,
    },
    /// A name in the month or day-of-week field is not one of that field's names.
    #[error("unknown name {name:?} in the {field} field: expected one of {}", .field.names().join(", "))]
    UnknownName {
        /// The field.
        field: CronField,
        /// The name as written.
        name: String,
    },
    /// `W` (nearest weekday), which cron-parser 5.6.2 does not support.
    #[error("'W' (nearest weekday) is not supported: {value:?} in the day-of-month field")]
    NearestWeekday {
        /// The day-of-month field as written.
        value: String,
    },
    /// `H` (hashed value): cron-parser picks a new random value on every parse.
    #[error("'H' (hashed value) is not supported: {value:?} in the {field} field; write the value itself")]
    Hashed {
        /// The field.
        field: CronField,
        /// The field's text as written.
        value: String,
    },
    /// A list has an empty entry, such as `1,,2` or a trailing comma.
    #[error("empty entry in the list {value:?} in the {field} field")]
    EmptyListEntry {
        /// The field.
        field: CronField,
        /// The field's text as written.
        value: String,
    },
    /// A step is missing, zero or malformed.
    #[error(
        "invalid step {value:?} in the {field} field: expected '*', a value or a range, then '/' \
         and a whole number of at least 1 (e.g. */15 or 5-59/15)"
    )]
    InvalidStep {
        /// The field.
        field: CronField,
        /// The list entry as written.
        value: String,
    },
    /// A list entry is not a number, a range, `*` or a step.
    #[error(
        "invalid value {value:?} in the {field} field: expected a number, a range such as 1-5, \
         '*', or a step such as */15"
    )]
    InvalidValue {
        /// The field.
        field: CronField,
        /// The value as written.
        value: String,
    },
    /// A range lacks a start or an end, or has more than two parts.
    #[error("invalid range {value:?} in the {field} field: expected start-end, e.g. 1-5")]
    InvalidRange {
        /// The field.
        field: CronField,
        /// The list entry as written.
        value: String,
    },
    /// A range starts after it ends; cron ranges do not wrap around.
    #[error(
        "range {value:?} in the {field} field runs backwards: the start must not be greater than \
         the end"
    )]
    ReversedRange {
        /// The field.
        field: CronField,
        /// The list entry as written.
        value: String,
    },
    /// A value is outside the field's range.
    #[error("value {value} out of range {min}-{max} in the {field} field")]
    OutOfRange {
        /// The field.
        field: CronField,
        /// The value as written.
        value: String,
        /// The field's smallest value.
        min: u8,
        /// The field's largest value.
        max: u8,
    },
    /// The same value appears twice in one field, directly or through overlapping ranges.
    #[error("duplicate value {value} in the {field} field")]
    Duplicate {
        /// The field.
        field: CronField,
        /// The repeated value.
        value: String,
    },
    /// `L` in day-of-month is combined with something else in the same list entry.
    #[error(
        "'L' (last day of the month) must stand alone in its list entry in the day-of-month \
         field, got {value:?}"
    )]
    MisplacedLastDay {
        /// The list entry as written.
        value: String,
    },
    /// `L` in day-of-week lacks a single weekday before it.
    #[error(
        "invalid last weekday {value:?} in the day-of-week field: write one weekday 0-7 before \
         'L', e.g. 5L for the last Friday of the month"
    )]
    InvalidLastWeekday {
        /// The list entry as written.
        value: String,
    },
    /// `#` is malformed, out of range or combined with other syntax.
    #[error(
        "invalid nth weekday {value:?} in the day-of-week field: write one weekday, '#' and n from \
         1 to 5 (e.g. 1#2 for the second Monday), without ',', '-', '/' or 'L'"
    )]
    InvalidNthWeekday {
        /// The day-of-week field as written.
        value: String,
    },
    /// `L` in day-of-month together with `#` in day-of-week.
    #[error(
        "'L' in the day-of-month field cannot be combined with '#' ({value:?}) in the day-of-week \
         field"
    )]
    LastDayWithNthWeekday {
        /// The day-of-week field as written.
        value: String,
    },
    /// No allowed day of the month occurs in any allowed month, so the pattern would never fire.
    #[error("day {day} never occurs in {}", describe_months(.months))]
    ImpossibleDayOfMonth {
        /// The smallest allowed day.
        day: u8,
        /// The allowed months.
        months: Vec<u8>,
    },
    /// croner refused the canonical pattern built from a valid one; this is a bug in this module.
    #[error("internal error: croner rejected {canonical:?}: {message}")]
    Evaluator {
        /// The canonical pattern handed to croner.
        canonical: String,
        /// croner's message.
        message: String,
    },
}

/// The characters a field allows besides the common ones, for the invalid-characters message.
fn extra_characters(field: CronField) -> &'static str {
    match field {
        CronField::DayOfMonth => ", 'L'",
        CronField::DayOfWeek => ", 'L', '#' and names SUN-SAT",
        CronField::Month => " and names JAN-DEC",
        _ => "",
    }
}

/// Renders "month 2" or "months 4,6".
fn describe_months(months: &[u8]) -> String {
    let list = join_numbers(months.iter().copied());
    if months.len() == 1 { format!("month {list}") } else { format!("months {list}") }
}

fn join_numbers(values: impl Iterator<Item = u8>) -> String {
    values.map(|v| v.to_string()).collect::<Vec<_>>().join(",")
}

/// A validated cron pattern (five or six fields, seconds first when six), evaluated in UTC.
#[derive(Debug, Clone)]
pub struct CronPattern {
    /// The pattern exactly as given; serialized and compared as is.
    source: String,
    /// croner's form of the canonical pattern.
    cron: Cron,
}

impl CronPattern {
    /// Parses and validates a pattern with cron-parser 5.6.2's rules (see the module docs).
    pub fn parse(pattern: &str) -> Result<Self, CronError> {
        let fields = Fields::parse(pattern)?;
        let canonical = fields.canonical();
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Disallowed)
            .build()
            .parse(&canonical)
            .map_err(|e| CronError::Evaluator { message: e.to_string(), canonical })?;
        Ok(Self { source: pattern.to_owned(), cron })
    }

    /// The pattern exactly as it was given.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The first firing strictly after `after` (sub-second part ignored, like cron-parser), or
    /// None if none within a bounded search.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // cron-parser drops milliseconds before searching, so 10:17:14.5 is followed by 10:17:15.
        let whole_second = after.with_nanosecond(0)?;
        // croner stops with an error at year 5000 (and after a fixed number of steps), so a
        // pattern that can never fire ends the search instead of looping.
        self.cron.find_next_occurrence(&whole_second, false).ok()
    }
}

impl PartialEq for CronPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for CronPattern {}

impl fmt::Display for CronPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for CronPattern {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CronPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for CronPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a hook's schedule was rejected, naming the entry by its index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// An entry is not a valid cron pattern.
    #[error("schedule[{index}] {pattern:?}: {source}")]
    Invalid {
        /// The entry's position in the schedule.
        index: usize,
        /// The entry as written.
        pattern: String,
        /// Why the pattern was rejected.
        source: CronError,
    },
    /// An entry repeats an earlier one (the API schema requires unique items).
    #[error("schedule[{index}] {pattern:?} repeats schedule[{first}]")]
    Duplicate {
        /// The repeating entry's position.
        index: usize,
        /// The position of the earlier, identical entry.
        first: usize,
        /// The entry as written.
        pattern: String,
    },
}

/// A hook's schedule: a list of distinct patterns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedule(Vec<CronPattern>);

impl Schedule {
    /// Parses every entry; errors name the entry index and the pattern.
    pub fn parse(patterns: &[String]) -> Result<Self, ScheduleError> {
        let mut parsed = Vec::with_capacity(patterns.len());
        for (index, pattern) in patterns.iter().enumerate() {
            // Distinct means distinct text, as JSON schema's `uniqueItems` compares strings.
            if let Some(first) = patterns[..index].iter().position(|p| p == pattern) {
                return Err(ScheduleError::Duplicate { index, first, pattern: pattern.clone() });
            }
            let cron = CronPattern::parse(pattern).map_err(|source| ScheduleError::Invalid {
                index,
                pattern: pattern.clone(),
                source,
            })?;
            parsed.push(cron);
        }
        Ok(Self(parsed))
    }

    /// The patterns in the order they were given.
    pub fn patterns(&self) -> &[CronPattern] {
        &self.0
    }

    /// Whether the schedule has no patterns, so the hook never fires on a schedule.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Earliest next firing of any pattern strictly after `after`; None for an empty schedule.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.0.iter().filter_map(|p| p.next_after(after)).min()
    }

    /// The patterns as written, for storage and API output.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|p| p.source.clone()).collect()
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let patterns = Vec::<String>::deserialize(deserializer)?;
        Self::parse(&patterns).map_err(serde::de::Error::custom)
    }
}

/// The six fields of a parsed pattern, as sets of allowed values.
#[derive(Debug)]
struct Fields {
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
    fn parse(pattern: &str) -> Result<Self, CronError> {
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
    fn canonical(&self) -> String {
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

/// Turns names into numbers and `?` into `*`, and checks the field's characters.
fn normalize(field: CronField, text: &str) -> Result<String, CronError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_alphabetic() {
            let word_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
            out.push_str(&replace_word(field, text, &rest[..word_len])?);
            rest = &rest[word_len..];
            continue;
        }
        if !allows_symbol(field, c) {
            return Err(CronError::InvalidCharacters { field, value: text.to_owned() });
        }
        out.push(if c == '?' { '*' } else { c });
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

fn allows_symbol(field: CronField, c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '?' | ',' | '-' | '/') || (c == '#' && field == CronField::DayOfWeek)
}

/// Resolves one run of letters in a field: a name, `L`, or an error naming what is wrong.
///
/// Names are case-insensitive but `L` must be uppercase, both as in cron-parser.
fn replace_word(field: CronField, text: &str, word: &str) -> Result<String, CronError> {
    let upper = word.to_ascii_uppercase();
    if let Some(index) = field.names().iter().position(|name| *name == upper) {
        let (min, _) = field.bounds();
        return Ok((usize::from(min) + index).to_string());
    }
    let last_allowed = matches!(field, CronField::DayOfMonth | CronField::DayOfWeek);
    let value = text.to_owned();
    match upper.as_str() {
        "L" if last_allowed && word == "L" => Ok(upper),
        _ if field == CronField::DayOfMonth && upper.contains('W') => Err(CronError::NearestWeekday { value }),
        "H" => Err(CronError::Hashed { field, value }),
        _ if upper.len() == 3 && !field.names().is_empty() => {
            Err(CronError::UnknownName { field, name: word.to_owned() })
        }
        _ => Err(CronError::InvalidCharacters { field, value }),
    }
}

/// Parses a field made of values, ranges and steps only (every field's core syntax).
fn parse_plain(field: CronField, text: &str) -> Result<BTreeSet<u8>, CronError> {
    let normalized = normalize(field, text)?;
    let mut seen = BTreeSet::new();
    for entry in list_entries(field, text, &normalized)? {
        if entry.contains('L') || entry.contains('#') {
            return Err(CronError::InvalidCharacters { field, value: text.to_owned() });
        }
        insert_distinct(field, &mut seen, expand_entry(field, entry)?)?;
    }
    Ok(seen)
}

fn parse_day_of_month(text: &str) -> Result<DayOfMonth, CronError> {
    let field = CronField::DayOfMonth;
    let normalized = normalize(field, text)?;
    let mut days = BTreeSet::new();
    let mut last = false;
    for entry in list_entries(field, text, &normalized)? {
        if entry == "L" {
            if last {
                return Err(duplicate(field, "L"));
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
                    return Err(duplicate(field, entry));
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

/// Splits a normalized field at commas, rejecting empty entries as cron-parser does.
fn list_entries<'a>(field: CronField, text: &str, normalized: &'a str) -> Result<Vec<&'a str>, CronError> {
    let entries: Vec<&str> = normalized.split(',').collect();
    if entries.iter().any(|e| e.is_empty()) {
        return Err(CronError::EmptyListEntry { field, value: text.to_owned() });
    }
    Ok(entries)
}

/// Adds one list entry's values to the field's set, rejecting any value already present.
fn insert_distinct(field: CronField, seen: &mut BTreeSet<u8>, values: BTreeSet<u8>) -> Result<(), CronError> {
    if let Some(&repeated) = seen.intersection(&values).next() {
        return Err(CronError::Duplicate { field, value: field.describe(repeated) });
    }
    seen.extend(values);
    Ok(())
}

fn duplicate(field: CronField, value: &str) -> CronError {
    CronError::Duplicate { field, value: value.to_owned() }
}

/// Expands `*`, a value or a range, each with an optional `/step`, into its values.
///
/// A start with a step and no end (`5/15`) runs to the field's maximum, as in cron-parser.
/// Weekdays come back as 0-6.
fn expand_entry(field: CronField, entry: &str) -> Result<BTreeSet<u8>, CronError> {
    let (base, step) = match entry.split_once('/') {
        Some(("", _)) => return Err(invalid_step(field, entry)),
        Some((base, step)) => (base, Some(parse_step(field, entry, step)?)),
        None => (entry, None),
    };
    let (min, max) = field.bounds();
    let (start, end) = match (base, base.split_once('-')) {
        ("*", _) => (min, max),
        (_, Some((start, end))) => parse_range(field, entry, start, end)?,
        (value, None) => {
            let start = parse_value(field, value)?;
            (start, if step.is_some() { max } else { start })
        }
    };
    let step = usize::from(step.unwrap_or(1));
    let mut values: BTreeSet<u8> = (start..=end).step_by(step).collect();
    if field == CronField::DayOfWeek {
        values = weekdays_of_range(values, end);
    }
    Ok(values)
}

/// Maps day-of-week values to weekdays 0-6, with cron-parser's Sunday quirk: a range ending
/// at 7 (or 0) includes Sunday even when its step skips the end (`2-7/3` is 0, 2, 5).
fn weekdays_of_range(values: BTreeSet<u8>, end: u8) -> BTreeSet<u8> {
    let mut weekdays: BTreeSet<u8> = values.into_iter().map(|d| d % 7).collect();
    if end.is_multiple_of(7) {
        weekdays.insert(0);
    }
    weekdays
}

fn invalid_step(field: CronField, entry: &str) -> CronError {
    CronError::InvalidStep { field, value: entry.to_owned() }
}

fn parse_step(field: CronField, entry: &str, step: &str) -> Result<u8, CronError> {
    if step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_step(field, entry));
    }
    // A step longer than the field just yields its start, so clamping huge steps is harmless.
    match step.parse::<u64>() {
        Ok(0) => Err(invalid_step(field, entry)),
        Ok(n) => Ok(u8::try_from(n).unwrap_or(u8::MAX)),
        Err(_) => Ok(u8::MAX),
    }
}

fn parse_range(field: CronField, entry: &str, start: &str, end: &str) -> Result<(u8, u8), CronError> {
    let is_number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !is_number(start) || !is_number(end) {
        return Err(CronError::InvalidRange { field, value: entry.to_owned() });
    }
    let (start, end) = (parse_value(field, start)?, parse_value(field, end)?);
    if start > end {
        return Err(CronError::ReversedRange { field, value: entry.to_owned() });
    }
    Ok((start, end))
}

/// Parses one number and checks it against the field's bounds.
fn parse_value(field: CronField, text: &str) -> Result<u8, CronError> {
    let (min, max) = field.bounds();
    let out_of_range = || CronError::OutOfRange { field, value: text.to_owned(), min, max };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CronError::InvalidValue { field, value: text.to_owned() });
    }
    match text.parse::<u8>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(out_of_range()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

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
        assert_fires(
            "0 0 9,21 * * 1-5",
            "2026-11-27 10:00",
            ["2026-11-27 21:00", "2026-11-30 09:00", "2026-11-30 21:00"],
        );
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
        let never = CronPattern { source: "0 0 0 31 2 *".to_owned(), cron };
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
}
