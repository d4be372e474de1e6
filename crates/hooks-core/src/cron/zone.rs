//! Schedules read in a time zone other than UTC (a hook's `timeZone`), and what happens when its clocks change.
//! Slots stay UTC instants; only the matching is done on the zone's wall clock. The rules (docs/schedules.md):
//! - A wall time the clocks skip that day (spring forward) fires once, at the first instant after the gap.
//! - A wall time the clocks show twice (fall back) fires once, at its first occurrence, unless the pattern fires
//!   more often than hourly (more than one minute or second per hour): those follow the instants, so every 15
//!   minutes stays every 15 minutes of real time through the repeated hour.
//!
//! The search rests on one fact: the first instant the clocks show a wall time `w` (or, for a skipped `w`, the end
//! of its gap) never decreases as `w` grows. So the first such instant after `after` comes from the first matching
//! wall time after `after`'s own, except while `after` is in the second pass of a repeated hour, whose wall times
//! were all first shown before it: the search then starts where the repetition ends. Patterns that follow the
//! instants also fire on the second pass; croner's own walk of the zone's instants finds those.

use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone as _, Timelike as _, Utc};
use chrono_tz::Tz;

use super::eval::Evaluator;

/// How far a gap or a repeated range of wall times is searched for its end: the longest on record is a day
/// (Pacific/Apia skipped 30 December 2011).
const MAX_SHIFT_MINUTES: i64 = 25 * 60;

/// A `timeZone` that is not in the time zone database compiled into the service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?}: expected an IANA name such as \"Europe/Berlin\" or \"America/New_York\"")]
pub struct UnknownZone(
    /// The name as given.
    pub String,
);

/// The IANA time zone a hook's schedule is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleZone(Tz);

impl ScheduleZone {
    /// The zone named `name` exactly (case matters, as in the IANA database; links such as `US/Eastern` are kept).
    pub fn parse(name: &str) -> Result<Self, UnknownZone> {
        Tz::from_str(name).map(Self).map_err(|_| UnknownZone(name.to_owned()))
    }

    /// The zone's name as given.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The first slot of `cron` strictly after `after` (sub-second part ignored), read on this zone's clock.
    pub(super) fn next_after(&self, cron: &Evaluator, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let after = after.with_nanosecond(0)?;
        let first = self.next_first_occurrence(cron, after);
        if !cron.fires_more_than_hourly() {
            return first;
        }
        let instant = cron.next_after_in(&after.with_timezone(&self.0)).map(|t| t.with_timezone(&Utc));
        [first, instant].into_iter().flatten().min()
    }

    /// The first slot after `after` counting each wall time once: at its first occurrence, or at the end of its
    /// gap when the clocks skip it.
    fn next_first_occurrence(&self, cron: &Evaluator, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let wall = after.with_timezone(&self.0).naive_local();
        let start = match self.0.from_local_datetime(&wall) {
            // On the second pass every wall time up to the end of the repetition was first shown before `after`.
            LocalResult::Ambiguous(_, later) if later == after => {
                self.first_wall_time_after(wall, |r| !matches!(r, LocalResult::Ambiguous(..)))? - TimeDelta::seconds(1)
            }
            _ => wall,
        };
        let matched = cron.next_after_local(start)?;
        self.first_occurrence(matched)
    }

    /// The first instant the clocks show `wall`, or the end of the gap when they skip it.
    fn first_occurrence(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.0.from_local_datetime(&wall) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
            LocalResult::None => {
                let end = self.first_wall_time_after(wall, |r| !matches!(r, LocalResult::None))?;
                self.0.from_local_datetime(&end).earliest().map(|t| t.with_timezone(&Utc))
            }
        }
    }

    /// The first wall time after `from`, to the second, whose instants in this zone satisfy `wanted`, within
    /// [`MAX_SHIFT_MINUTES`]: whole minutes first (clocks change on the minute), then back second by second.
    fn first_wall_time_after(
        &self,
        from: NaiveDateTime,
        wanted: impl Fn(&LocalResult<DateTime<Tz>>) -> bool,
    ) -> Option<NaiveDateTime> {
        let ok = |wall: NaiveDateTime| wanted(&self.0.from_local_datetime(&wall));
        let mut found = (1..=MAX_SHIFT_MINUTES).map(|m| from + TimeDelta::minutes(m)).find(|w| ok(*w))?;
        for _ in 0..59 {
            let earlier = found - TimeDelta::seconds(1);
            if earlier <= from || !ok(earlier) {
                break;
            }
            found = earlier;
        }
        Some(found)
    }
}
