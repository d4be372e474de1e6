//! Finding a pattern's next firing: croner evaluates the canonical pattern `parse` writes, which holds only
//! plain lists, so croner's own parsing of ranges, steps and names never comes into play.

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, NaiveDateTime, TimeZone, Timelike, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::error::CronError;
use crate::interned::Interned;

/// The canonical patterns compiled lately, shared by every hook using them: at most this many (about 5 KB each).
static COMPILED: LazyLock<Interned<Cron>> = LazyLock::new(|| Interned::new(1024));

/// croner's form of a canonical pattern, shared by the hooks using the same one.
#[derive(Debug, Clone)]
pub(super) struct Evaluator(pub(super) Arc<Cron>);

impl Evaluator {
    /// Hands a canonical pattern (six plain lists, seconds first) to croner.
    pub(super) fn new(canonical: String) -> Result<Self, CronError> {
        COMPILED
            .get_or_compile(&canonical, || {
                CronParser::builder().seconds(Seconds::Required).year(Year::Disallowed).build().parse(&canonical)
            })
            .map(Self)
            .map_err(|e| CronError::Evaluator { message: e.to_string(), canonical })
    }

    /// The first firing strictly after `after` (sub-second part ignored, like cron-parser), or
    /// None if none within a bounded search.
    pub(super) fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // cron-parser drops milliseconds before searching, so 10:17:14.5 is followed by 10:17:15.
        self.next_after_in(&after.with_nanosecond(0)?)
    }

    /// The first wall time matching strictly after the wall time `after` (sub-second part ignored), on a clock
    /// that never changes; see zone.rs for what the zone's clock changes make of it.
    pub(super) fn next_after_local(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        self.0.find_next_occurrence(&after.with_nanosecond(0)?, false).ok()
    }

    /// The first instant strictly after `after` whose wall time in its zone matches, each of a repeated hour's two
    /// instants counting; croner's walk of the zone, used for patterns that fire more often than hourly.
    pub(super) fn next_after_in<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        // croner stops with an error at year 5000 (and after a fixed number of steps), so a
        // pattern that can never fire ends the search instead of looping.
        self.0.find_next_occurrence(after, false).ok()
    }

    /// Whether the pattern can fire more than once within an hour (several minutes or seconds): such a pattern
    /// follows the instants through a repeated hour instead of firing once per wall time.
    pub(super) fn fires_more_than_hourly(&self) -> bool {
        let pattern = &self.0.pattern;
        pattern.seconds.values().len() > 1 || pattern.minutes.values().len() > 1
    }
}
