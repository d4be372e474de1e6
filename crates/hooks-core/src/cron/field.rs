//! The six fields of a cron pattern: their names, bounds and the month and weekday names they accept.

use std::fmt;

const MONTH_NAMES: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const WEEKDAY_FULL_NAMES: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

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
    pub(super) fn bounds(self) -> (u8, u8) {
        match self {
            CronField::Second | CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 7),
        }
    }

    /// The three-letter names this field accepts, index 0 standing for its smallest value.
    pub(super) fn names(self) -> &'static [&'static str] {
        match self {
            CronField::Month => &MONTH_NAMES,
            CronField::DayOfWeek => &WEEKDAY_NAMES,
            _ => &[],
        }
    }

    /// Describes a value of this field for an error message; weekdays get their name.
    pub(super) fn describe(self, value: u8) -> String {
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

/// Writes values as a comma-separated list, as in a canonical pattern or an error message.
pub(super) fn join_numbers(values: impl Iterator<Item = u8>) -> String {
    values.map(|v| v.to_string()).collect::<Vec<_>>().join(",")
}
