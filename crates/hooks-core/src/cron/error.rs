//! Why a pattern or a schedule was rejected. Each message names the field and the offending text; the texts
//! are part of the API (tests and clients read them), so they change only on purpose.

use super::field::{CronField, join_numbers};

/// The field names in order, quoted in error messages about the number of fields.
pub(super) const FIELD_ORDER: &str = "seconds minutes hours day-of-month month day-of-week";

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
    /// Some text in a field has the problem `problem` (bad characters, a bad step, range or value, an empty list
    /// entry, a hashed value or a duplicate).
    #[error("{}", .problem.message(*.field, .value))]
    Field {
        /// The field.
        field: CronField,
        /// What is wrong with `value`.
        problem: FieldProblem,
        /// The text the problem is about, as written: the whole field, one list entry or one value (for a
        /// duplicate, the repeated value).
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

/// What is wrong with some text in a field, for [`CronError::Field`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    /// The field holds characters it does not allow.
    InvalidCharacters,
    /// `H` (hashed value): cron-parser picks a new random value on every parse.
    Hashed,
    /// A list has an empty entry, such as `1,,2` or a trailing comma.
    EmptyListEntry,
    /// A step is missing, zero or malformed.
    InvalidStep,
    /// A list entry is not a number, a range, `*` or a step.
    InvalidValue,
    /// A range lacks a start or an end, or has more than two parts.
    InvalidRange,
    /// A range starts after it ends; cron ranges do not wrap around.
    ReversedRange,
    /// The same value appears twice in one field, directly or through overlapping ranges.
    Duplicate,
}

impl FieldProblem {
    /// This problem with `value` in `field`, as an error.
    pub(super) fn in_field(self, field: CronField, value: &str) -> CronError {
        CronError::Field { field, problem: self, value: value.to_owned() }
    }

    /// The message for this problem with `value` in `field`.
    fn message(self, field: CronField, value: &str) -> String {
        match self {
            Self::InvalidCharacters => format!(
                "invalid characters {value:?} in the {field} field: use digits, '*', '?', ',', '-', '/'{}",
                extra_characters(field)
            ),
            Self::Hashed => {
                format!("'H' (hashed value) is not supported: {value:?} in the {field} field; write the value itself")
            }
            Self::EmptyListEntry => format!("empty entry in the list {value:?} in the {field} field"),
            Self::InvalidStep => format!(
                "invalid step {value:?} in the {field} field: expected '*', a value or a range, then '/' \
                 and a whole number of at least 1 (e.g. */15 or 5-59/15)"
            ),
            Self::InvalidValue => format!(
                "invalid value {value:?} in the {field} field: expected a number, a range such as 1-5, \
                 '*', or a step such as */15"
            ),
            Self::InvalidRange => format!("invalid range {value:?} in the {field} field: expected start-end, e.g. 1-5"),
            Self::ReversedRange => format!(
                "range {value:?} in the {field} field runs backwards: the start must not be greater than \
                 the end"
            ),
            Self::Duplicate => format!("duplicate value {value} in the {field} field"),
        }
    }
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
