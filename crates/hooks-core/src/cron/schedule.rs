//! A hook's schedule: the list of patterns it fires on, and the time zone they are read in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{CronPattern, ScheduleError, ScheduleZone};

/// A hook's schedule: a list of distinct patterns, read in a time zone (UTC when `None`); slots are UTC instants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedule(Vec<CronPattern>, Option<ScheduleZone>);

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
        Ok(Self(parsed, None))
    }

    /// The same schedule read in `zone` (UTC when `None`).
    pub fn in_zone(self, zone: Option<ScheduleZone>) -> Self {
        Self(self.0, zone)
    }

    /// The zone the patterns are read in, when not UTC.
    pub fn zone(&self) -> Option<ScheduleZone> {
        self.1
    }

    /// The patterns in the order they were given.
    pub fn patterns(&self) -> &[CronPattern] {
        &self.0
    }

    /// Whether the schedule has no patterns, so the hook never fires on a schedule.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Earliest next firing of any pattern strictly after `after`, in the schedule's zone; None for an empty
    /// schedule.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.0.iter().filter_map(|p| p.next_after_in(self.1, after)).min()
    }

    /// The next `count` firings strictly after `after`, of all patterns merged: ascending, each time once (two
    /// patterns firing at the same second give one slot). Fewer when the patterns stop firing.
    pub fn next_slots(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let mut slots = Vec::with_capacity(count.min(1024));
        let mut cursor = after;
        while slots.len() < count {
            let Some(next) = self.next_after(cursor) else { break };
            slots.push(next);
            cursor = next;
        }
        slots
    }

    /// The patterns as written, for storage and API output.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|p| p.as_str().to_owned()).collect()
    }
}

// The patterns only: the zone is the hook's `timeZone`, stored and shown as a field of its own.
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
