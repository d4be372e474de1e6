//! The count: which events must each end in exactly one task, and what the stand-in queue received. An event is
//! lost when no task carries its identity, doubled when two taskIds do (the queue's createTask is idempotent per
//! taskId, so a repeat under the same taskId is one task, as in production).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use test_support::{CreateTaskRequest, FakeTaskcluster};

/// The events a scenario produced: each identity (see [`crate::hooks`]) with its stream (the hook) and when it
/// happened (a slot's time, a message's publication, a call's start).
#[derive(Default)]
pub struct Ledger {
    events: Mutex<BTreeMap<String, Event>>,
}

#[derive(Clone)]
struct Event {
    stream: String,
    at: DateTime<Utc>,
}

/// How long after a fault every stream had a task again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// No fault, or no event after one.
    NotMeasured,
    /// The longest over the faults.
    After(Duration),
    /// Some stream had events after a fault and never a task for one.
    Never,
}

/// The count of one scenario.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Events that must have a task.
    pub events: usize,
    /// Distinct taskIds created for them.
    pub tasks: usize,
    /// Events with no task.
    pub lost: usize,
    /// Events (of the group, expected or not) with more than one taskId.
    pub doubled: usize,
    /// From each fault until every stream had a task for an event after it.
    pub recovery: Recovery,
    /// A few lost and doubled identities, to look up in the logs.
    pub examples: Vec<String>,
}

impl Ledger {
    /// Notes an event that must end in one task. An identity noted twice is the suite's own mistake (two events
    /// would share one identity and look doubled): it panics, naming it.
    pub fn expect(&self, key: String, stream: &str, at: DateTime<Utc>) {
        let before = crate::load::lock(&self.events).insert(key.clone(), Event { stream: stream.to_owned(), at });
        assert!(before.is_none(), "chaos: two events share the identity {key}");
    }

    /// How many events it holds.
    pub fn len(&self) -> usize {
        crate::load::lock(&self.events).len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Polls the stand-in queue until every event has a task or `timeout` passes, then waits two seconds more for
    /// a late second task.
    pub async fn settle(&self, fake: &FakeTaskcluster, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let created = created_by_event(&fake.create_task_requests());
            let all = crate::load::lock(&self.events).keys().all(|k| created.contains_key(k));
            if all || std::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    /// Counts the events against the tasks of `group` the stand-in queue created, and the recovery after `faults`.
    pub fn tally(&self, group: &str, fake: &FakeTaskcluster, faults: &[DateTime<Utc>]) -> Tally {
        let prefix = format!("{group}/");
        let created = created_by_event(&fake.create_task_requests());
        let events = crate::load::lock(&self.events).clone();
        let mut tally = Tally {
            events: events.len(),
            tasks: 0,
            lost: 0,
            doubled: 0,
            recovery: recovery(&events, &created, faults),
            examples: Vec::new(),
        };
        for key in events.keys() {
            match created.get(key) {
                None => {
                    tally.lost += 1;
                    note(&mut tally.examples, format!("lost {key}"));
                }
                Some(c) => tally.tasks += c.task_ids.len(),
            }
        }
        for (key, c) in created.iter().filter(|(k, _)| k.starts_with(&prefix)) {
            if c.task_ids.len() > 1 {
                tally.doubled += 1;
                note(
                    &mut tally.examples,
                    format!("doubled {key}: {}", c.task_ids.iter().cloned().collect::<Vec<_>>().join(", ")),
                );
            }
        }
        tally
    }
}

fn note(examples: &mut Vec<String>, example: String) {
    if examples.len() < 6 {
        examples.push(example);
    }
}

/// The tasks created for one event.
struct Created {
    task_ids: BTreeSet<String>,
    first: DateTime<Utc>,
}

/// The tasks the queue accepted (200), by the event in their `extra.chaos`.
fn created_by_event(requests: &[CreateTaskRequest]) -> BTreeMap<String, Created> {
    let mut created: BTreeMap<String, Created> = BTreeMap::new();
    for r in requests.iter().filter(|r| r.status == 200) {
        let Some(key) = event_key(&r.task) else { continue };
        let c = created.entry(key).or_insert_with(|| Created { task_ids: BTreeSet::new(), first: r.received });
        c.task_ids.insert(r.task_id.clone());
        c.first = c.first.min(r.received);
    }
    created
}

/// The event identity a task carries; a slot's time as Unix seconds, so that it matches however it was written.
pub fn event_key(task: &Value) -> Option<String> {
    let event = task["extra"]["chaos"].as_str()?;
    Some(match event.split_once('@') {
        Some((hook, time)) => slot_key(hook, DateTime::parse_from_rfc3339(time).ok()?.with_timezone(&Utc)),
        None => event.to_owned(),
    })
}

/// The identity of `hook`'s slot at `slot` (`hook` is `<group>/<hookId>`).
pub fn slot_key(hook: &str, slot: DateTime<Utc>) -> String {
    format!("{hook}@{}", slot.timestamp())
}

/// For each fault, when every stream that had events after it first had a task for one; the longest wait.
fn recovery(
    events: &BTreeMap<String, Event>,
    created: &BTreeMap<String, Created>,
    faults: &[DateTime<Utc>],
) -> Recovery {
    let mut longest: Option<Duration> = None;
    for fault in faults {
        let mut first_after: BTreeMap<&str, Option<DateTime<Utc>>> = BTreeMap::new();
        for (key, event) in events.iter().filter(|(_, e)| e.at >= *fault) {
            let task = created.get(key).map(|c| c.first);
            let entry = first_after.entry(event.stream.as_str()).or_insert(None);
            *entry = match (*entry, task) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        for first in first_after.values() {
            let Some(first) = first else { return Recovery::Never };
            let waited = (*first - *fault).to_std().unwrap_or_default();
            longest = Some(longest.map_or(waited, |l| l.max(waited)));
        }
    }
    longest.map_or(Recovery::NotMeasured, Recovery::After)
}
