//! Finding a pattern's next firing: croner evaluates the canonical pattern `parse` writes, which holds only
//! plain lists, so croner's own parsing of ranges, steps and names never comes into play.

use chrono::{DateTime, Timelike, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::error::CronError;

/// croner's form of a canonical pattern.
#[derive(Debug, Clone)]
pub(super) struct Evaluator(pub(super) Cron);

impl Evaluator {
    /// Hands a canonical pattern (six plain lists, seconds first) to croner.
    pub(super) fn new(canonical: String) -> Result<Self, CronError> {
        CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Disallowed)
            .build()
            .parse(&canonical)
            .map(Self)
            .map_err(|e| CronError::Evaluator { message: e.to_string(), canonical })
    }

    /// The first firing strictly after `after` (sub-second part ignored, like cron-parser), or
    /// None if none within a bounded search.
    pub(super) fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // cron-parser drops milliseconds before searching, so 10:17:14.5 is followed by 10:17:15.
        let whole_second = after.with_nanosecond(0)?;
        // croner stops with an error at year 5000 (and after a fixed number of steps), so a
        // pattern that can never fire ends the search instead of looping.
        self.0.find_next_occurrence(&whole_second, false).ok()
    }
}
