//! What a session reconciles, and when: everything when it starts (after a reconnect the broker may have lost
//! queues and bindings) and every `reconcile_interval`; the hooks a change names; a hook whose consumer the broker
//! cancelled. Passes run one at a time beside the message loop, so messages keep flowing while a slow pass goes
//! on. A failed pass is tried again after a backoff; hooks whose exchanges are missing, after
//! `missing_exchange_retry`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use hooks_core::HookKey;
use hooks_core::metrics::PulseEvent;
use hooks_core::pulse::{Pass, PulseError, Reconciler, Topology};
use hooks_core::storage::Pool;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::ListenerOptions;
use crate::changes::Change;
use crate::stats::Counters;

/// Hooks waiting to be reconciled.
#[derive(Debug, Default, Clone)]
struct Pending {
    all: bool,
    hooks: BTreeSet<HookKey>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        !self.all && self.hooks.is_empty()
    }

    fn merge(&mut self, other: Pending) {
        self.all |= other.all;
        self.hooks.extend(other.hooks);
    }
}

/// What a reconcile pass running in the background hands back.
type PassDone = (Topology, Pending, Result<Pass, PulseError>);

/// What a finished pass means for the session.
pub(crate) enum PassOutcome {
    /// Consume as the pass says; with `full`, hooks it did not list are no longer served.
    Done {
        /// The pass.
        pass: Pass,
        /// Whether it covered every hook.
        full: bool,
    },
    /// It failed, and is tried again after a backoff.
    Retrying,
    /// The session cannot go on: the connection is gone, or the pass's task failed.
    Lost(String),
}

/// A session's reconciles.
pub(crate) struct Reconciling {
    reconciler: Arc<Reconciler>,
    pool: Pool,
    counters: Arc<Counters>,
    /// Lent to the pass while one runs.
    topology: Option<Topology>,
    passes: JoinSet<PassDone>,
    /// To reconcile now.
    pending: Pending,
    /// To reconcile again at `deferred_at` (missing exchanges, failures).
    deferred: Pending,
    deferred_at: Option<Instant>,
    /// Passes failed in a row.
    failures: u32,
    interval: Duration,
    next_full: Instant,
    missing_exchange_retry: Duration,
}

impl Reconciling {
    /// Reconciles through `topology`, everything first.
    pub(crate) fn new(topology: Topology, pool: Pool, counters: Arc<Counters>, options: &ListenerOptions) -> Self {
        Self {
            reconciler: Arc::new(Reconciler::new(options.scope.clone())),
            pool,
            counters,
            topology: Some(topology),
            passes: JoinSet::new(),
            pending: Pending { all: true, hooks: BTreeSet::new() },
            deferred: Pending::default(),
            deferred_at: None,
            failures: 0,
            interval: options.reconcile_interval,
            next_full: Instant::now() + options.reconcile_interval,
            missing_exchange_retry: options.missing_exchange_retry,
        }
    }

    /// Reconciles what `change` names.
    pub(crate) fn change(&mut self, change: Change) {
        match change {
            Change::All => self.pending.all = true,
            Change::Hook(hook) => {
                self.pending.hooks.insert(hook);
            }
        }
    }

    /// Reconciles these hooks again after `missing_exchange_retry` (their queues could not be consumed from).
    pub(crate) fn retry(&mut self, hooks: Vec<HookKey>) {
        if !hooks.is_empty() {
            self.defer(Pending { all: false, hooks: hooks.into_iter().collect() }, self.missing_exchange_retry);
        }
    }

    /// Starts a pass over what is pending, unless one runs or nothing is pending.
    pub(crate) fn start(&mut self) {
        if !self.passes.is_empty() || self.pending.is_empty() {
            return;
        }
        let Some(mut topology) = self.topology.take() else { return };
        let pending = std::mem::take(&mut self.pending);
        let (reconciler, pool) = (self.reconciler.clone(), self.pool.clone());
        self.passes.spawn(async move {
            let result = if pending.all {
                reconciler.reconcile_all(&pool, &mut topology).await
            } else {
                let hooks: Vec<HookKey> = pending.hooks.iter().cloned().collect();
                reconciler.reconcile_hooks(&pool, &mut topology, &hooks).await
            };
            (topology, pending, result)
        });
    }

    /// When something deferred or the next full pass is due.
    pub(crate) fn next_due(&self) -> Instant {
        self.deferred_at.map_or(self.next_full, |at| at.min(self.next_full))
    }

    /// Makes pending what is due at `now`.
    pub(crate) fn due(&mut self, now: Instant) {
        if self.deferred_at.is_some_and(|at| now >= at) {
            self.deferred_at = None;
            self.pending.merge(std::mem::take(&mut self.deferred));
        }
        if now >= self.next_full {
            self.pending.all = true;
            self.next_full = now + self.interval;
        }
    }

    /// Waits for the running pass to finish, and forever when none runs (a `select!` branch).
    pub(crate) async fn finished(&mut self) -> PassOutcome {
        let Some(joined) = self.passes.join_next().await else {
            return std::future::pending().await;
        };
        let (topology, pending, result) = match joined {
            Ok(done) => done,
            Err(e) => return PassOutcome::Lost(format!("the reconcile task failed: {e}")),
        };
        let connected = topology.connected();
        self.topology = Some(topology);
        let pass = match result {
            Ok(pass) => pass,
            Err(e) if !connected => return PassOutcome::Lost(e.to_string()),
            Err(e) => {
                self.failures += 1;
                let delay = hooks_core::Backoff::RECONNECT.delay(self.failures.saturating_add(1));
                tracing::warn!(error = %e, retry_in = ?delay, "cannot reconcile the broker; retrying");
                self.defer(pending, delay);
                return PassOutcome::Retrying;
            }
        };
        self.failures = 0;
        self.counters.event(PulseEvent::Reconciled);
        if pass.missing_exchanges > 0 || pass.failed > 0 {
            // Only the counts are known, not which hooks: try the same set again.
            self.defer(pending.clone(), self.missing_exchange_retry);
        }
        PassOutcome::Done { pass, full: pending.all }
    }

    fn defer(&mut self, pending: Pending, delay: Duration) {
        self.deferred.merge(pending);
        let at = Instant::now() + delay;
        self.deferred_at = Some(self.deferred_at.map_or(at, |t| t.min(at)));
    }
}
