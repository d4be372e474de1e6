//! The scenarios of issue 13, each a function from the running cluster to its rows, with its expectation written
//! beside it; and what they share: per-second hooks and their slots, fault times, the side effects to count.

pub mod db_terminations;
pub mod pulse_faults;
pub mod queue_burst;
pub mod scheduler_kill;
pub mod sigterm;

use std::time::Duration;

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use futures::future::BoxFuture;
use test_support::daemons::Daemon;

use crate::Form;
use crate::cluster::Cluster;
use crate::hooks;
use crate::ledger::{Ledger, slot_key};
use crate::random;
use crate::report::Row;

/// One scenario: its name and how to run it.
pub struct Scenario {
    /// Its name.
    pub name: &'static str,
    /// Runs it on the cluster; its rows.
    pub run: for<'a> fn(&'a mut Cluster, Form) -> BoxFuture<'a, anyhow::Result<Vec<Row>>>,
}

/// Every scenario, in the order they run.
pub const ALL: &[Scenario] = &[
    Scenario { name: "scheduler SIGKILL", run: scheduler_kill::run },
    Scenario { name: "Pulse faults", run: pulse_faults::run },
    Scenario { name: "database backend terminations", run: db_terminations::run },
    Scenario { name: "queue 5xx burst", run: queue_burst::run },
    Scenario { name: "SIGTERM under load", run: sigterm::run },
];

/// A group of hooks firing every second, from a whole second on.
pub struct Schedules {
    /// The hook group.
    pub group: String,
    /// The hook ids.
    pub hooks: Vec<String>,
    /// The first slot counted: a whole second after they were created and had time to be claimed.
    pub from: DateTime<Utc>,
}

impl Schedules {
    /// Creates `n` hooks `group/s<i>` firing every second.
    pub async fn create(cluster: &Cluster, group: &str, n: usize) -> anyhow::Result<Self> {
        let hooks: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        for hook in &hooks {
            cluster.create_hook(group, hook, &hooks::scheduled(group, hook)).await?;
        }
        let from = whole_second(Utc::now()) + TimeDelta::seconds(3);
        Ok(Self { group: group.to_owned(), hooks, from })
    }

    /// Waits until the first counted slot.
    pub async fn started(&self) {
        sleep_until(self.from).await;
    }

    /// Notes each hook's slots from the first counted one to the last whole second before `to`.
    pub fn expect_until(&self, ledger: &Ledger, to: DateTime<Utc>) {
        let last = whole_second(to) - TimeDelta::seconds(1);
        for hook in &self.hooks {
            let stream = format!("{}/{hook}", self.group);
            let mut slot = self.from;
            while slot <= last {
                ledger.expect(slot_key(&stream, slot), &stream, slot);
                slot += TimeDelta::seconds(1);
            }
        }
    }
}

/// `t` rounded down to the second.
pub fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::seconds(1)).unwrap_or(t)
}

/// Sleeps until `t` (at once if it passed).
pub async fn sleep_until(t: DateTime<Utc>) {
    tokio::time::sleep((t - Utc::now()).to_std().unwrap_or_default()).await;
}

/// One of `replicas`, at random.
pub fn any_replica(replicas: &mut [Daemon]) -> &mut Daemon {
    let n = u64::try_from(replicas.len()).unwrap_or(1);
    let i = usize::try_from(random::below(n)).unwrap_or(0);
    &mut replicas[i]
}

/// Waits until the `i`th of `n` faults spread over `span` from `started` is due (see [`fault_offset`]); the time.
pub async fn fault_due(started: std::time::Instant, i: usize, n: usize, span: Duration) -> DateTime<Utc> {
    tokio::time::sleep_until((started + fault_offset(i, n, span)).into()).await;
    Utc::now()
}

/// When the `i`th of `n` faults spread over `span` is due after the start: at a random point of the middle of
/// its share of the span.
pub fn fault_offset(i: usize, n: usize, span: Duration) -> Duration {
    let share = span / u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    share * u32::try_from(i).unwrap_or(u32::MAX) + random::between(share / 5, share * 4 / 5)
}

/// What the hooks of `group` did besides creating tasks: e-mails about them (naming the group), and error last
/// fires.
pub async fn side_effects(cluster: &Cluster, group: &str, row: &mut Row) -> anyhow::Result<()> {
    row.emails = cluster.fake.emails().iter().filter(|e| e.to_string().contains(group)).count();
    row.error_fires = cluster.db.error_fires(group).await?;
    Ok(())
}

/// `at` as seconds since `start`, for notes.
pub fn since(start: DateTime<Utc>, at: DateTime<Utc>) -> String {
    format!("{:.1}", (at - start).num_milliseconds() as f64 / 1000.0)
}
