//! Cron schedules: parsing hook schedule patterns and computing their next firing, in UTC or in the hook's time
//! zone (`zone.rs`).
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

mod error;
mod eval;
mod field;
mod list;
mod parse;
mod schedule;
#[cfg(test)]
mod tests;
mod zone;
#[cfg(test)]
mod zone_tests;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use error::{CronError, FieldProblem, ScheduleError};
pub use field::CronField;
pub use schedule::Schedule;
pub use zone::{ScheduleZone, UnknownZone};

use eval::Evaluator;
use parse::Fields;

/// A validated cron pattern (five or six fields, seconds first when six), evaluated in UTC.
#[derive(Debug, Clone)]
pub struct CronPattern {
    /// The pattern exactly as given; serialized and compared as is.
    source: String,
    /// croner's form of the canonical pattern.
    cron: Evaluator,
}

impl CronPattern {
    /// Parses and validates a pattern with cron-parser 5.6.2's rules (see the module docs).
    pub fn parse(pattern: &str) -> Result<Self, CronError> {
        let cron = Evaluator::new(Fields::parse(pattern)?.canonical())?;
        Ok(Self { source: pattern.to_owned(), cron })
    }

    /// The pattern exactly as it was given.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The first firing strictly after `after` (sub-second part ignored, like cron-parser), or
    /// None if none within a bounded search.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.next_after(after)
    }

    /// Like [`CronPattern::next_after`], with the pattern read on `zone`'s clock (UTC when `None`).
    pub fn next_after_in(&self, zone: Option<ScheduleZone>, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match zone {
            None => self.cron.next_after(after),
            Some(zone) => zone.next_after(&self.cron, after),
        }
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
