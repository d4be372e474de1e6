//! A session's periodic upkeep, on a task of its own beside the messages and reconciles: watch the dead-letter
//! queue, and forget fires too old to be redelivered.

use std::sync::Arc;
use std::time::Duration;

use hooks_core::pulse::Topology;
use hooks_core::storage::{Pool, expire_pulse_fires};
use tokio::time::MissedTickBehavior;

use crate::ListenerOptions;
use crate::stats::Counters;

/// The upkeep of one session: its topology is on the session's connection.
pub(crate) struct Upkeep {
    topology: Topology,
    pool: Pool,
    counters: Arc<Counters>,
    every: Duration,
    fire_retention: Duration,
}

impl Upkeep {
    /// Upkeep every `reconcile_interval`, through `topology` and `pool`.
    pub(crate) fn new(topology: Topology, pool: Pool, counters: Arc<Counters>, options: &ListenerOptions) -> Self {
        let (every, fire_retention) = (options.reconcile_interval, options.fire_retention);
        Self { topology, pool, counters, every, fire_retention }
    }

    /// Does the upkeep now and then every interval, until the task is aborted with its session.
    pub(crate) async fn run(mut self) {
        let mut ticks = tokio::time::interval(self.every);
        // A slow round counts from its end, so rounds never pile up.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.watch_dead_letters().await;
            self.expire_fires().await;
        }
    }

    async fn watch_dead_letters(&mut self) {
        match self.topology.dead_letter_count().await {
            Ok(depth) => {
                let depth = u64::from(depth);
                let before = self.counters.set_dead_letter_depth(depth);
                if depth > before {
                    tracing::warn!(
                        queue = %self.topology.names().dead_letter_queue(),
                        depth,
                        new = depth - before,
                        "messages are waiting in the dead-letter queue: a hook queue overflowed or messages kept \
                         failing (each message's x-death header says which queue and why)"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot check the dead-letter queue"),
        }
    }

    async fn expire_fires(&self) {
        // A retention reaching back before the calendar's start keeps every fire.
        let retention = chrono::TimeDelta::from_std(self.fire_retention).ok();
        let Some(before) = retention.and_then(|r| chrono::Utc::now().checked_sub_signed(r)) else { return };
        let expired = match self.pool.get().await {
            Ok(mut conn) => expire_pulse_fires(&mut conn, before).await,
            Err(e) => Err(e.into()),
        };
        match expired {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "old Pulse fires forgotten"),
            Err(e) => tracing::warn!(error = %e, "cannot expire old Pulse fires"),
        }
    }
}
