//! Scheduler SIGKILL: 20 hooks fire every second while one of the two schedulers, at random, is killed at random
//! times and restarted. Every slot from the start to the end must have exactly one task: the other scheduler (or
//! the restarted one, catching up) fires what the killed one had claimed.

use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;

use super::{Schedules, any_replica, side_effects, since};
use crate::Form;
use crate::cluster::Cluster;
use crate::ledger::Ledger;
use crate::random;
use crate::report::{Expect, Row};

/// Every slot fired once, nobody mailed, no error recorded.
pub const EXPECT: Expect = Expect::EXACTLY_ONCE;

const GROUP: &str = "chaos-scheduler-kill";

/// Runs the scenario.
pub fn run(cluster: &mut Cluster, form: Form) -> BoxFuture<'_, anyhow::Result<Vec<Row>>> {
    Box::pin(async move {
        let kills = form.pick(2, 10);
        let (gap_min, gap_max) = form.pick((1, 3), (3, 8));
        let schedules = Schedules::create(cluster, GROUP, 20).await?;
        let ledger = Ledger::default();
        schedules.started().await;

        let mut faults = Vec::new();
        let mut notes = Vec::new();
        for _ in 0..kills {
            tokio::time::sleep(random::between(Duration::from_secs(gap_min), Duration::from_secs(gap_max))).await;
            let victim = any_replica(&mut cluster.schedulers);
            let at = Utc::now();
            victim.kill();
            faults.push(at);
            victim.restart().await?;
            notes.push(format!(
                "{} killed at +{} s, answering again after {:.1} s",
                victim.name(),
                since(schedules.from, at),
                (Utc::now() - at).num_milliseconds() as f64 / 1000.0
            ));
        }
        tokio::time::sleep(Duration::from_secs(form.pick(3, 5))).await;
        schedules.expect_until(&ledger, Utc::now());
        ledger.settle(&cluster.fake, Duration::from_secs(form.pick(20, 60))).await;

        let tally = ledger.tally(GROUP, &cluster.fake, &faults);
        let mut row = Row::new("scheduler SIGKILL", format!("{kills} SIGKILL"), tally, EXPECT);
        side_effects(cluster, GROUP, &mut row).await?;
        row.notes = notes;
        cluster.remove_hooks(GROUP, &schedules.hooks).await;
        Ok(vec![row])
    })
}
