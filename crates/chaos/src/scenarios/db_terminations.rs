//! Database backend terminations: the suite's own database has every backend terminated (the daemons'
//! connections, never another database's) while `triggerHook` calls come through the official client (which
//! retries 5xx, as every real caller does), five hooks fire every second and messages flow. A call the client saw
//! succeed, a slot and a routed message must each end in exactly one task; a retried call must not create a
//! second one.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::future::BoxFuture;

use super::{Schedules, fault_due, side_effects};
use crate::Form;
use crate::cluster::{Cluster, EXCHANGE};
use crate::hooks;
use crate::ledger::Ledger;
use crate::load;
use crate::report::{Expect, Row};

/// Every call, slot and message fired once, no call failed after the client's retries, nobody mailed, no error
/// recorded.
pub const EXPECT: Expect = Expect::EXACTLY_ONCE;

const TRIGGERS: &str = "chaos-db-triggers";
const SCHEDULES: &str = "chaos-db-schedules";
const MESSAGES: &str = "chaos-db-messages";

/// Runs the scenario; a row for each kind of event.
pub fn run(cluster: &mut Cluster, form: Form) -> BoxFuture<'_, anyhow::Result<Vec<Row>>> {
    Box::pin(async move {
        let terminations = form.pick(2, 5);
        let span = Duration::from_secs(form.pick(6, 30));
        let calls = form.pick(150, 1500);
        let messages = form.pick(300, 3000);
        let hook = "h".to_owned();
        cluster.create_hook(TRIGGERS, &hook, &hooks::triggered(TRIGGERS, &hook)).await?;
        cluster.create_hook(MESSAGES, &hook, &hooks::pulse(MESSAGES, &hook, EXCHANGE)).await?;
        cluster.wait_bound(MESSAGES).await?;
        let schedules = Schedules::create(cluster, SCHEDULES, 5).await?;
        schedules.started().await;

        let per_second = |n: u64| n as f64 / span.as_secs_f64();
        let (trigger_ledger, message_ledger, slot_ledger) =
            (Arc::new(Ledger::default()), Arc::new(Ledger::default()), Ledger::default());
        let triggers = load::triggers(
            cluster.hooks.clone(),
            trigger_ledger.clone(),
            (TRIGGERS, &hook),
            calls,
            per_second(calls),
            8,
        );
        let publishing = load::messages(
            cluster.publisher.clone(),
            message_ledger.clone(),
            MESSAGES,
            &hook,
            messages,
            per_second(messages),
        );
        let started = Instant::now();
        let mut faults = Vec::new();
        let mut terminated = Vec::new();
        for i in 0..terminations {
            faults.push(fault_due(started, i, terminations, span).await);
            terminated.push(cluster.db.terminate_backends().await?.to_string());
        }
        let (called, published) = (triggers.finish().await, publishing.finish().await);
        schedules.expect_until(&slot_ledger, Utc::now());
        for ledger in [&*trigger_ledger, &*message_ledger, &slot_ledger] {
            ledger.settle(&cluster.fake, Duration::from_secs(form.pick(20, 60))).await;
        }

        let faults_text = format!("{terminations} terminations");
        let mut rows = Vec::new();
        let mut row = Row::new(
            "db terminations: triggers",
            faults_text.clone(),
            trigger_ledger.tally(TRIGGERS, &cluster.fake, &faults),
            EXPECT,
        );
        row.failed = called.failed.load(Ordering::SeqCst);
        if row.failed > 0 {
            row.notes.push(format!("calls that failed after the client's retries: {}", called.failures_text()));
        }
        row.notes.push(format!("backends terminated each time: {}", terminated.join(", ")));
        side_effects(cluster, TRIGGERS, &mut row).await?;
        rows.push(row);

        let mut row = Row::new(
            "db terminations: schedules",
            faults_text.clone(),
            slot_ledger.tally(SCHEDULES, &cluster.fake, &faults),
            EXPECT,
        );
        side_effects(cluster, SCHEDULES, &mut row).await?;
        rows.push(row);

        let mut row = Row::new(
            "db terminations: messages",
            faults_text,
            message_ledger.tally(MESSAGES, &cluster.fake, &faults),
            EXPECT,
        );
        row.failed = published.failed.load(Ordering::SeqCst);
        side_effects(cluster, MESSAGES, &mut row).await?;
        rows.push(row);

        cluster.remove_hooks(TRIGGERS, std::slice::from_ref(&hook)).await;
        cluster.remove_hooks(MESSAGES, std::slice::from_ref(&hook)).await;
        cluster.remove_hooks(SCHEDULES, &schedules.hooks).await;
        Ok(rows)
    })
}
