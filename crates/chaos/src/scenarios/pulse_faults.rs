//! Pulse faults: messages with a sequence number flow to a hook bound on the suite's exchange, consumed by both
//! listeners, while the broker closes the listeners' connections (the publisher's stays) and, in a second run,
//! a listener is killed (SIGKILL) and restarted. Every message the broker routed must end in exactly one task,
//! however often it was redelivered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::{any_replica, fault_due};
use crate::Form;
use crate::cluster::{Cluster, LISTENER_CONNECTION};
use crate::hooks;
use crate::ledger::Ledger;
use crate::load;
use crate::report::{Expect, Row};

/// Every routed message fired once, nothing failed to publish, nobody mailed, no error recorded.
pub const EXPECT: Expect = Expect::EXACTLY_ONCE;

/// A fault of this scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The broker closes every connection of the listeners.
    BrokerClose,
    /// One listener, at random, is killed and restarted.
    ListenerKill,
}

/// Runs the scenario: a run with broker closes, then one with listener kills.
pub fn run(cluster: &mut Cluster, form: Form) -> BoxFuture<'_, anyhow::Result<Vec<Row>>> {
    Box::pin(async move {
        let messages = form.pick(600, 10_000);
        let rate = form.pick(200.0, 250.0);
        let closes = under_messages(cluster, "chaos-pulse-close", messages, rate, Fault::BrokerClose, form.pick(2, 10));
        let closes = closes.await?;
        let kills = under_messages(cluster, "chaos-pulse-kill", messages, rate, Fault::ListenerKill, form.pick(1, 5));
        Ok(vec![closes, kills.await?])
    })
}

/// Publishes `messages` at `rate` a second to a new hook of `group` while injecting `n` faults of `fault`.
pub async fn under_messages(
    cluster: &mut Cluster,
    group: &str,
    messages: u64,
    rate: f64,
    fault: Fault,
    n: usize,
) -> anyhow::Result<Row> {
    let hook = "messages".to_owned();
    cluster.create_hook(group, &hook, &hooks::pulse(group, &hook, crate::cluster::EXCHANGE)).await?;
    cluster.wait_bound(group).await?;
    let ledger = Arc::new(Ledger::default());
    let load = load::messages(cluster.publisher.clone(), ledger.clone(), group, &hook, messages, rate);
    let span = Duration::from_secs_f64(messages as f64 / rate);
    let started = Instant::now();
    let mut faults = Vec::new();
    let mut notes = Vec::new();
    for i in 0..n {
        faults.push(fault_due(started, i, n, span).await);
        inject(cluster, fault, &mut notes).await?;
    }
    let seen = load.finish().await;
    ledger.settle(&cluster.fake, Duration::from_secs(60)).await;

    let tally = ledger.tally(group, &cluster.fake, &faults);
    let (name, what) = match fault {
        Fault::BrokerClose => ("Pulse: broker closes", "broker close"),
        Fault::ListenerKill => ("Pulse: listener SIGKILL", "SIGKILL"),
    };
    let mut row = Row::new(name, format!("{n} {what}"), tally, EXPECT);
    row.failed = seen.failed.load(std::sync::atomic::Ordering::SeqCst);
    super::side_effects(cluster, group, &mut row).await?;
    if row.failed > 0 {
        notes.push(format!("publishing failed: {}", seen.failures_text()));
    }
    row.notes = notes;
    cluster.remove_hooks(group, &[hook]).await;
    Ok(row)
}

async fn inject(cluster: &mut Cluster, fault: Fault, notes: &mut Vec<String>) -> anyhow::Result<()> {
    match fault {
        Fault::BrokerClose => {
            let closed = cluster.vhost.close_connections_named(LISTENER_CONNECTION)?;
            if closed == 0 {
                notes.push("a broker close found no listener connection to close".to_owned());
            }
        }
        Fault::ListenerKill => {
            let victim = any_replica(&mut cluster.listeners);
            victim.kill();
            victim.restart().await?;
        }
    }
    Ok(())
}
