//! Schedule slots: which slot to fire after downtime, and each slot's deterministic task id.

use chrono::{DateTime, TimeDelta, Utc};
use ring::hmac;

use crate::cron::Schedule;
use crate::{HookGroupId, HookId, TaskId, time};

/// A hook's secret for deriving its slots' task ids. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ScheduleSecret(Vec<u8>);

impl std::fmt::Debug for ScheduleSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScheduleSecret([redacted])")
    }
}

impl ScheduleSecret {
    /// Wraps the secret's bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The task id of the slot at `slot`: a keyed hash of the hook and the slot time, so a re-fired slot gets the
    /// same id (and the queue creates one task), while nobody without the secret can predict it.
    pub fn task_id(&self, hook_group_id: &HookGroupId, hook_id: &HookId, slot: DateTime<Utc>) -> TaskId {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let message = format!("{hook_group_id}/{hook_id}@{}", time::to_json(slot));
        let tag = hmac::sign(&key, message.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&tag.as_ref()[..16]);
        TaskId::from_bytes(bytes)
    }
}

/// How missed slots (the scheduler or the database was down) are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Fire once, for the most recent missed slot, then carry on from the present (upstream's behaviour).
    Latest,
    /// Fire every missed slot no older than the window, oldest first.
    All {
        /// How far back missed slots are still fired.
        window: TimeDelta,
    },
}

/// The slot to fire now for a hook whose stored next slot is `due` (≤ `now`), and how many missed slots are
/// skipped to get there.
pub fn slot_to_fire(
    schedule: &Schedule,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    catch_up: CatchUp,
) -> (DateTime<Utc>, u64) {
    match catch_up {
        CatchUp::Latest => {
            let (mut slot, mut skipped) = (due, 0u64);
            while let Some(next) = schedule.next_after(slot).filter(|n| *n <= now) {
                slot = next;
                skipped += 1;
            }
            (slot, skipped)
        }
        CatchUp::All { window } => {
            let oldest = now - window;
            let (mut slot, mut skipped) = (due, 0u64);
            while slot < oldest {
                match schedule.next_after(slot).filter(|n| *n <= now) {
                    Some(next) => {
                        slot = next;
                        skipped += 1;
                    }
                    None => break,
                }
            }
            (slot, skipped)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, h, m, s).unwrap()
    }

    #[test]
    fn slot_task_ids_are_stable_per_slot_and_secret() {
        let (g, h) = (HookGroupId::parse("g").unwrap(), HookId::parse("h").unwrap());
        let secret = ScheduleSecret::new(vec![7; 32]);
        let a = secret.task_id(&g, &h, at(10, 0, 0));
        assert_eq!(a, secret.task_id(&g, &h, at(10, 0, 0)));
        assert_ne!(a, secret.task_id(&g, &h, at(10, 0, 1)));
        assert_ne!(a, ScheduleSecret::new(vec![8; 32]).task_id(&g, &h, at(10, 0, 0)));
        assert_ne!(a, secret.task_id(&g, &HookId::parse("other").unwrap(), at(10, 0, 0)));
        assert!(TaskId::parse(a.as_str()).is_ok());
        assert_eq!(format!("{secret:?}"), "ScheduleSecret([redacted])");
    }

    #[test]
    fn latest_catch_up_fires_the_most_recent_missed_slot() {
        let schedule = Schedule::parse(&["0 * * * * *".to_owned()]).unwrap();
        assert_eq!(slot_to_fire(&schedule, at(10, 0, 0), at(10, 0, 0), CatchUp::Latest), (at(10, 0, 0), 0));
        assert_eq!(slot_to_fire(&schedule, at(10, 0, 0), at(10, 5, 30), CatchUp::Latest), (at(10, 5, 0), 5));
    }

    #[test]
    fn all_catch_up_fires_oldest_first_within_the_window() {
        let schedule = Schedule::parse(&["0 * * * * *".to_owned()]).unwrap();
        let all = CatchUp::All { window: TimeDelta::minutes(3) };
        // 10:00 and 10:01 are older than the window (10:02:30): the first slot fired is 10:03.
        assert_eq!(slot_to_fire(&schedule, at(10, 0, 0), at(10, 5, 30), all), (at(10, 3, 0), 3));
        assert_eq!(slot_to_fire(&schedule, at(10, 4, 0), at(10, 5, 30), all), (at(10, 4, 0), 0));
    }
}
