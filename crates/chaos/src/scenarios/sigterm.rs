//! SIGTERM under load, for each daemon: a scheduler while hooks fire every second, a listener while messages flow,
//! the api-server with 32 `triggerHook` calls in flight (the queue answers slowly, so that they are). The daemon
//! must exit 0 within its grace period having finished what it accepted: no slot or message lost or doubled, no
//! accepted call failed (a refused connection, once it stopped listening, is no failure).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use test_support::daemons::Daemon;

use super::{Schedules, any_replica, side_effects};
use crate::Form;
use crate::client::OneShot;
use crate::cluster::{Cluster, EXCHANGE};
use crate::hooks;
use crate::ledger::Ledger;
use crate::load;
use crate::random;
use crate::report::{Expect, Row, seconds};

/// Nothing lost or doubled, no accepted request failed, every daemon exited 0 within the grace period.
pub const EXPECT: Expect = Expect::EXACTLY_ONCE;

/// How long a daemon may take to exit after SIGTERM before it counts as unclean (and is killed).
const GRACE: Duration = Duration::from_secs(60);

/// Calls the api-server keeps in flight.
const IN_FLIGHT: usize = 32;

/// Runs the scenario; a row per daemon.
pub fn run(cluster: &mut Cluster, form: Form) -> BoxFuture<'_, anyhow::Result<Vec<Row>>> {
    Box::pin(async move {
        let rounds = form.pick(1, 3);
        Ok(vec![scheduler(cluster, form, rounds).await?, listener(cluster, rounds).await?, api(cluster, rounds).await?])
    })
}

/// The SIGTERMs sent to one kind of daemon: when, and how each exit went.
#[derive(Default)]
struct Terms {
    faults: Vec<DateTime<Utc>>,
    notes: Vec<String>,
    unclean: usize,
}

impl Terms {
    /// `rounds` times, two to three seconds apart: SIGTERM to one of `replicas` at random, then starting it again.
    async fn rounds(replicas: &mut [Daemon], rounds: usize) -> anyhow::Result<Self> {
        let mut terms = Self::default();
        for _ in 0..rounds {
            tokio::time::sleep(random::between(Duration::from_secs(2), Duration::from_secs(3))).await;
            let victim = any_replica(replicas);
            terms.send(victim).await?;
            victim.restart().await?;
        }
        Ok(terms)
    }

    /// Sends SIGTERM to `daemon` and notes how it exited (0 within the grace period, or not).
    async fn send(&mut self, daemon: &mut Daemon) -> anyhow::Result<()> {
        let name = daemon.name();
        self.faults.push(Utc::now());
        match daemon.terminate(GRACE).await? {
            Some((status, took)) => {
                self.notes.push(format!("{name}: {status} after {}", seconds(took)));
                self.unclean += usize::from(!status.success());
            }
            None => {
                self.notes.push(format!("{name}: still running {} after SIGTERM (killed)", seconds(GRACE)));
                self.unclean += 1;
            }
        }
        Ok(())
    }

    /// The row `name`: `ledger` counted for `group`, the side effects of its `hooks`, which are then removed.
    async fn row(
        self,
        cluster: &Cluster,
        name: &str,
        (group, hooks): (&str, &[String]),
        ledger: &Ledger,
    ) -> anyhow::Result<Row> {
        let tally = ledger.tally(group, &cluster.fake, &self.faults);
        let mut row = Row::new(name, format!("{} SIGTERM", self.faults.len()), tally, EXPECT);
        side_effects(cluster, group, &mut row).await?;
        row.unclean_exits = self.unclean;
        row.notes = self.notes;
        cluster.remove_hooks(group, hooks).await;
        Ok(row)
    }
}

async fn scheduler(cluster: &mut Cluster, form: Form, rounds: usize) -> anyhow::Result<Row> {
    const GROUP: &str = "chaos-sigterm-scheduler";
    let schedules = Schedules::create(cluster, GROUP, 10).await?;
    let ledger = Ledger::default();
    schedules.started().await;
    let terms = Terms::rounds(&mut cluster.schedulers, rounds).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    schedules.expect_until(&ledger, Utc::now());
    ledger.settle(&cluster.fake, Duration::from_secs(form.pick(20, 60))).await;
    terms.row(cluster, "SIGTERM scheduler", (GROUP, &schedules.hooks), &ledger).await
}

async fn listener(cluster: &mut Cluster, rounds: usize) -> anyhow::Result<Row> {
    const GROUP: &str = "chaos-sigterm-listener";
    let hook = "messages".to_owned();
    cluster.create_hook(GROUP, &hook, &hooks::pulse(GROUP, &hook, EXCHANGE)).await?;
    cluster.wait_bound(GROUP).await?;
    let ledger = Arc::new(Ledger::default());
    let rate = 150.0;
    let messages = 150 * (2 + 3 * rounds as u64);
    let load = load::messages(cluster.publisher.clone(), ledger.clone(), GROUP, &hook, messages, rate);
    let terms = Terms::rounds(&mut cluster.listeners, rounds).await?;
    let seen = load.finish().await;
    ledger.settle(&cluster.fake, Duration::from_secs(60)).await;
    let mut row = terms.row(cluster, "SIGTERM pulse-listener", (GROUP, std::slice::from_ref(&hook)), &ledger).await?;
    row.failed = seen.failed.load(Ordering::SeqCst);
    Ok(row)
}

async fn api(cluster: &mut Cluster, rounds: usize) -> anyhow::Result<Row> {
    const GROUP: &str = "chaos-sigterm-api";
    let hook = "calls".to_owned();
    cluster.create_hook(GROUP, &hook, &hooks::triggered(GROUP, &hook)).await?;
    let ledger = Arc::new(Ledger::default());
    let caller = Arc::new(OneShot::new(&cluster.api.addr)?);
    // A slow queue keeps every call in flight for a while, so that SIGTERM finds 32 of them.
    cluster.fake.delay_create_task(Duration::from_millis(300));
    let (mut terms, mut failed, mut refused) = (Terms::default(), 0, 0);
    let ids = Arc::new(AtomicU64::new(0));
    for _ in 0..rounds {
        let load = load::one_shots(caller.clone(), ledger.clone(), (GROUP, &hook), IN_FLIGHT, ids.clone());
        tokio::time::sleep(random::between(Duration::from_secs(2), Duration::from_secs(3))).await;
        let sent = terms.send(&mut cluster.api).await;
        load.stop();
        let seen = load.finish().await;
        sent?;
        failed += seen.failed.load(Ordering::SeqCst);
        refused += seen.refused.load(Ordering::SeqCst);
        if seen.failed.load(Ordering::SeqCst) > 0 {
            terms.notes.push(format!("failed calls: {}", seen.failures_text()));
        }
        cluster.api.restart().await?;
    }
    cluster.fake.delay_create_task(Duration::ZERO);
    ledger.settle(&cluster.fake, Duration::from_secs(30)).await;
    terms
        .notes
        .push(format!("{refused} calls refused at connection after the api-server stopped listening (no failure)"));
    let mut row = terms.row(cluster, "SIGTERM api-server", (GROUP, std::slice::from_ref(&hook)), &ledger).await?;
    row.failed = failed;
    Ok(row)
}
