//! Schedule slots: which slot to fire after downtime (the scheduler's catch-up policy, or the hook's own), and each
//! slot's deterministic task id.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::cron::Schedule;
use crate::error::check_max_chars;
use crate::{HookGroupId, HookId, TaskId, ValidationError, time};

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
        self.derive(&format!("{hook_group_id}/{hook_id}@{}", time::to_json(slot)))
    }

    /// The task id of a webhook delivery: as a slot's, a keyed hash, of the hook and the sender's delivery id, so
    /// a redelivery gets the same id. (`#` is in no hook id and no slot message, so the two never meet.)
    pub fn delivery_task_id(&self, hook_group_id: &HookGroupId, hook_id: &HookId, delivery_id: &str) -> TaskId {
        self.derive(&format!("{hook_group_id}/{hook_id}#webhook:{delivery_id}"))
    }

    fn derive(&self, message: &str) -> TaskId {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let tag = hmac::sign(&key, message.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&tag.as_ref()[..16]);
        TaskId::from_bytes(bytes)
    }
}

/// How missed slots (the scheduler or the database was down) are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Fire none of them: only a slot reached at most [`MISSED_AFTER`] after its time fires.
    None,
    /// Fire once, for the most recent missed slot, then carry on from the present (upstream's behaviour).
    Latest,
    /// Fire every missed slot no older than the window, oldest first.
    All {
        /// How far back missed slots are still fired.
        window: TimeDelta,
    },
}

/// With catch-up `none`, a slot reached more than this after its time is missed and not fired. Far more than a
/// busy scheduler's lateness (it claims slots ahead of time, and 10,000 hooks due at once fire within seconds),
/// far less than an outage.
pub const MISSED_AFTER: TimeDelta = TimeDelta::seconds(60);

impl CatchUp {
    /// The policy for one hook: its own `catchUp` when it has one, else `self` (the scheduler's `--catch-up`). A
    /// hook's `all` without a window reaches back `default_window` (the scheduler's `--catch-up-window`).
    pub fn for_hook(self, own: Option<&HookCatchUp>, default_window: TimeDelta) -> Self {
        match own {
            None => self,
            Some(own) => match own.policy {
                CatchUpPolicy::None => Self::None,
                CatchUpPolicy::Latest => Self::Latest,
                CatchUpPolicy::All => Self::All { window: own.window.as_ref().map_or(default_window, |w| w.span) },
            },
        }
    }
}

/// What a due hook's slots come to under its catch-up policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotChoice {
    /// Fire `slot` now, passing over the `skipped` missed slots before it.
    Fire {
        /// The slot to fire.
        slot: DateTime<Utc>,
        /// How many missed slots before it are not fired.
        skipped: u64,
    },
    /// Fire nothing: the `skipped` slots up to `last` were all missed (catch-up `none`); the hook moves on to the
    /// slot after `last`.
    SkipAll {
        /// The most recent missed slot.
        last: DateTime<Utc>,
        /// How many slots were missed, `last` included.
        skipped: u64,
    },
}

/// What to fire now for a hook whose stored next slot is `due` (≤ `now`), under `catch_up`.
pub fn slot_to_fire(schedule: &Schedule, due: DateTime<Utc>, now: DateTime<Utc>, catch_up: CatchUp) -> SlotChoice {
    let latest = || {
        let (mut slot, mut skipped) = (due, 0u64);
        while let Some(next) = schedule.next_after(slot).filter(|n| *n <= now) {
            slot = next;
            skipped += 1;
        }
        (slot, skipped)
    };
    match catch_up {
        CatchUp::Latest => {
            let (slot, skipped) = latest();
            SlotChoice::Fire { slot, skipped }
        }
        CatchUp::None => match latest() {
            (slot, skipped) if now - slot > MISSED_AFTER => SlotChoice::SkipAll { last: slot, skipped: skipped + 1 },
            (slot, skipped) => SlotChoice::Fire { slot, skipped },
        },
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
            SlotChoice::Fire { slot, skipped }
        }
    }
}

/// The shortest and longest `catchUp.window` accepted.
const WINDOW_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(7 * 24 * 3600));

/// A hook's `catchUp` as the API receives it, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatchUpInput {
    /// `none`, `latest` or `all`.
    pub policy: String,
    /// With `all`: how far back missed slots still fire, in humantime syntax (`30m`, `6h`, `2days`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// A hook's own catch-up policy (`catchUp`), which takes the place of the scheduler's `--catch-up`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookCatchUp {
    policy: CatchUpPolicy,
    window: Option<Window>,
}

/// The policies a hook can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CatchUpPolicy {
    None,
    Latest,
    All,
}

/// A window as written, and the span it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Window {
    text: String,
    span: TimeDelta,
}

impl HookCatchUp {
    /// Checks `catchUp`; errors name `policy` or `window`.
    pub fn parse(input: &CatchUpInput) -> Result<Self, ValidationError> {
        check_max_chars("policy", &input.policy, 16)?;
        let policy = match input.policy.as_str() {
            "none" => CatchUpPolicy::None,
            "latest" => CatchUpPolicy::Latest,
            "all" => CatchUpPolicy::All,
            other => {
                return Err(ValidationError::new(
                    "policy",
                    format!("{other:?} is not a catch-up policy: expected \"none\", \"latest\" or \"all\""),
                ));
            }
        };
        let window = match (&input.window, policy) {
            (None, _) => None,
            (Some(text), CatchUpPolicy::All) => Some(Window::parse(text)?),
            (Some(_), _) => {
                return Err(ValidationError::new(
                    "window",
                    format!(
                        "only policy \"all\" takes a window; {:?} fires at most one slot after downtime",
                        input.policy
                    ),
                ));
            }
        };
        Ok(Self { policy, window })
    }

    /// The policy as the API shows it, with the window as it was written.
    pub fn to_input(&self) -> CatchUpInput {
        let policy = match self.policy {
            CatchUpPolicy::None => "none",
            CatchUpPolicy::Latest => "latest",
            CatchUpPolicy::All => "all",
        };
        CatchUpInput { policy: policy.to_owned(), window: self.window.as_ref().map(|w| w.text.clone()) }
    }
}

impl Window {
    fn parse(text: &str) -> Result<Self, ValidationError> {
        check_max_chars("window", text, 64)?;
        let duration = humantime::parse_duration(text).map_err(|e| {
            ValidationError::new(
                "window",
                format!("{text:?} is not a duration ({e}): write e.g. \"30m\", \"6h\" or \"2days\""),
            )
        })?;
        let (shortest, longest) = WINDOW_RANGE;
        let span = TimeDelta::from_std(duration).ok().filter(|_| (shortest..=longest).contains(&duration));
        let span = span.ok_or_else(|| {
            ValidationError::new("window", format!("{text:?} is outside the range allowed, 1s to 7days"))
        })?;
        Ok(Self { text: text.to_owned(), span })
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

    fn fire(slot: DateTime<Utc>, skipped: u64) -> SlotChoice {
        SlotChoice::Fire { slot, skipped }
    }

    fn minutely() -> Schedule {
        Schedule::parse(&["0 * * * * *".to_owned()]).unwrap()
    }

    #[test]
    fn latest_catch_up_fires_the_most_recent_missed_slot() {
        let schedule = minutely();
        assert_eq!(slot_to_fire(&schedule, at(10, 0, 0), at(10, 0, 0), CatchUp::Latest), fire(at(10, 0, 0), 0));
        assert_eq!(slot_to_fire(&schedule, at(10, 0, 0), at(10, 5, 30), CatchUp::Latest), fire(at(10, 5, 0), 5));
    }

    #[test]
    fn all_catch_up_fires_oldest_first_within_the_window() {
        let schedule = minutely();
        let all = CatchUp::All { window: TimeDelta::minutes(3) };
        // 10:00 and 10:01 are older than the window (10:02:30): the first slot fired is 10:03.
        assert_eq!(slot_to_fire(&schedule, at(10, 0, 0), at(10, 5, 30), all), fire(at(10, 3, 0), 3));
        assert_eq!(slot_to_fire(&schedule, at(10, 4, 0), at(10, 5, 30), all), fire(at(10, 4, 0), 0));
    }

    #[test]
    fn none_catch_up_fires_only_a_slot_reached_within_a_minute() {
        let schedule = minutely();
        // Claimed ahead, on time, or a minute late: fired.
        assert_eq!(slot_to_fire(&schedule, at(10, 0, 0), at(9, 59, 59), CatchUp::None), fire(at(10, 0, 0), 0));
        assert_eq!(slot_to_fire(&schedule, at(10, 0, 0), at(10, 0, 59), CatchUp::None), fire(at(10, 0, 0), 0));
        // Later slots passed too, the newest within the minute: only it fires.
        assert_eq!(slot_to_fire(&schedule, at(10, 0, 0), at(10, 5, 30), CatchUp::None), fire(at(10, 5, 0), 5));
        // Every slot passed more than a minute ago: none fires.
        let hourly = Schedule::parse(&["0 0 * * * *".to_owned()]).unwrap();
        let choice = slot_to_fire(&hourly, at(8, 0, 0), at(10, 1, 1), CatchUp::None);
        assert_eq!(choice, SlotChoice::SkipAll { last: at(10, 0, 0), skipped: 3 });
    }

    fn own(policy: &str, window: Option<&str>) -> Result<HookCatchUp, ValidationError> {
        HookCatchUp::parse(&CatchUpInput { policy: policy.to_owned(), window: window.map(str::to_owned) })
    }

    #[test]
    fn a_hooks_own_policy_takes_the_place_of_the_schedulers() {
        let day = TimeDelta::days(1);
        let daemon = CatchUp::All { window: TimeDelta::hours(2) };
        assert_eq!(daemon.for_hook(None, day), daemon);
        assert_eq!(daemon.for_hook(Some(&own("none", None).unwrap()), day), CatchUp::None);
        assert_eq!(daemon.for_hook(Some(&own("latest", None).unwrap()), day), CatchUp::Latest);
        // `all` without a window reaches back the scheduler's --catch-up-window, given as the default.
        assert_eq!(CatchUp::Latest.for_hook(Some(&own("all", None).unwrap()), day), CatchUp::All { window: day });
        let with_window = own("all", Some("90m")).unwrap();
        assert_eq!(CatchUp::Latest.for_hook(Some(&with_window), day), CatchUp::All { window: TimeDelta::minutes(90) });
        assert_eq!(with_window.to_input(), CatchUpInput { policy: "all".into(), window: Some("90m".into()) });
    }

    #[test]
    fn catch_up_errors_name_the_field_and_the_problem() {
        let cases: [(&str, Option<&str>, &str, &str); 7] = [
            ("sometimes", None, "policy", r#""sometimes" is not a catch-up policy"#),
            ("ALL", None, "policy", "expected \"none\", \"latest\" or \"all\""),
            ("latest", Some("1h"), "window", "only policy \"all\" takes a window"),
            ("all", Some("soon"), "window", r#""soon" is not a duration"#),
            ("all", Some("500ms"), "window", "outside the range allowed, 1s to 7days"),
            ("all", Some("8days"), "window", "outside the range allowed"),
            ("all", Some(&"1s".repeat(40)), "window", "at most 64"),
        ];
        for (policy, window, field, words) in cases {
            let e = own(policy, window).unwrap_err();
            assert_eq!(e.field, field, "{policy} {window:?}");
            assert!(e.problem.contains(words), "{e} should contain {words}");
        }
        assert!(own("all", Some("1s")).is_ok());
        assert!(own("all", Some("7days")).is_ok());
    }
}
