//! A queue 5xx burst: 20 hooks fire every second while the queue answers the next createTask calls 500. A 5xx is
//! transient: every slot must still end in exactly one task (retried under its own taskId), no owner may be
//! e-mailed and no error last fire recorded.

use std::time::{Duration, Instant};

use chrono::Utc;
use futures::future::BoxFuture;

use super::{Schedules, side_effects};
use crate::Form;
use crate::cluster::Cluster;
use crate::ledger::Ledger;
use crate::report::{Expect, Row, seconds};

/// Every slot fired once, nobody mailed, no error recorded: a 5xx is not a permanent failure.
pub const EXPECT: Expect = Expect::EXACTLY_ONCE;

const GROUP: &str = "chaos-queue-burst";

/// Runs the scenario.
pub fn run(cluster: &mut Cluster, form: Form) -> BoxFuture<'_, anyhow::Result<Vec<Row>>> {
    Box::pin(async move {
        // The size in both forms: fewer (60 were tried) are absorbed by the sink's own retries within a slot,
        // so the short form would not see what a longer outage does; 200 take some 8 s.
        let failures = 200;
        let schedules = Schedules::create(cluster, GROUP, 20).await?;
        let ledger = Ledger::default();
        schedules.started().await;
        tokio::time::sleep(Duration::from_secs(2)).await;

        let failed_before = answered_500(cluster);
        let fault = Utc::now();
        let injected = Instant::now();
        cluster.fake.fail_create_task(failures, 500, "InternalServerError");
        let deadline = injected + Duration::from_secs(120);
        while answered_500(cluster) < failed_before + failures && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let burst = injected.elapsed();
        let answered = answered_500(cluster) - failed_before;
        tokio::time::sleep(Duration::from_secs(form.pick(3, 5))).await;
        schedules.expect_until(&ledger, Utc::now());
        ledger.settle(&cluster.fake, Duration::from_secs(form.pick(30, 60))).await;

        let tally = ledger.tally(GROUP, &cluster.fake, &[fault]);
        let mut row = Row::new("queue 5xx burst", format!("{failures}× 500"), tally, EXPECT);
        side_effects(cluster, GROUP, &mut row).await?;
        row.notes.push(format!("{answered} createTask calls answered 500 within {}", seconds(burst)));
        cluster.remove_hooks(GROUP, &schedules.hooks).await;
        Ok(vec![row])
    })
}

fn answered_500(cluster: &Cluster) -> usize {
    cluster.fake.create_task_requests().iter().filter(|r| r.status == 500).count()
}
