//! Bringing the broker to the hooks table, which is the truth: one durable queue per hook with bindings, bound
//! exactly as the hook says; the queue of a removed hook deleted.
//!
//! Unlike upstream (issue #8040), every pass declares each queue and binds every binding again rather than only
//! the difference from what it last recorded: both are idempotent, so a queue the broker lost comes back whole.
//! `pulse_queues` is kept only to know what to *unbind*, and is written before the broker is touched (with the
//! union of old and new bindings), so a pass cut short leaves a superset that the next pass cleans up.
//!
//! Each hook is reconciled under a Postgres advisory lock, re-reading the hook once the lock is held, so replicas
//! take turns and a slow full pass never applies a stale view over a newer change.

use diesel_async::AsyncPgConnection;
use regex::Regex;

use super::PulseError;
use super::broker::{Declared, Topology};
use crate::HookKey;
use crate::hook::Binding;
use crate::storage::{
    Pool, PooledConnection, PulseQueue, StorageError, delete_pulse_queue, find_hook_bindings, find_pause,
    find_pulse_queue, list_hook_bindings, list_pulse_queues, lock_reconcile, save_pulse_queue, unlock_reconcile,
};

/// Which hooks a listener replica serves: all, or (`--exchanges`) those bound to an exchange matching a pattern.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    exchanges: Option<Regex>,
}

impl Scope {
    /// Every hook.
    pub fn all() -> Self {
        Self { exchanges: None }
    }

    /// Hooks with a binding to an exchange the regular expression matches in full.
    pub fn exchanges(pattern: &str) -> Result<Self, regex::Error> {
        Ok(Self { exchanges: Some(Regex::new(&format!("^(?:{pattern})$"))?) })
    }

    /// Whether a hook with these bindings is served.
    pub fn includes(&self, bindings: &[Binding]) -> bool {
        match &self.exchanges {
            None => true,
            Some(re) => bindings.iter().any(|b| re.is_match(&b.exchange)),
        }
    }
}

/// A hook's queue that this replica consumes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HookQueue {
    /// The hook.
    pub hook: HookKey,
    /// The queue's name on the broker.
    pub queue_name: String,
}

/// What a reconcile pass found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    /// The queues of the hooks visited that this replica serves (for a full pass: all of them).
    pub queues: Vec<HookQueue>,
    /// Hooks visited that this replica does not serve (removed, without bindings, out of its scope, or paused).
    pub released: Vec<HookKey>,
    /// Hooks whose queue, known on this connection, was lost by the broker and created again: whoever consumed
    /// from it must consume anew.
    pub consume_anew: Vec<HookKey>,
    /// Bindings not made because the exchange does not exist (yet) or may not be used; retried by the next pass.
    pub missing_exchanges: usize,
    /// Queues deleted.
    pub deleted_queues: usize,
    /// Hooks that could not be reconciled (logged); retried by the next pass.
    pub failed: usize,
}

/// Reconciles the broker with the hooks table for one replica's scope.
#[derive(Debug, Clone)]
pub struct Reconciler {
    scope: Scope,
}

impl Reconciler {
    /// A reconciler for the hooks in `scope`.
    pub fn new(scope: Scope) -> Self {
        Self { scope }
    }

    /// The hooks this replica serves.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Reconciles every hook that has bindings or a queue.
    pub async fn reconcile_all(&self, pool: &Pool, topology: &mut Topology) -> Result<Pass, PulseError> {
        let mut conn = lock_connection(pool).await?;
        let mut ids: Vec<HookKey> = list_hook_bindings(&mut conn)
            .await?
            .into_iter()
            .map(|h| HookKey::from_stored(h.hook_group_id, h.hook_id))
            .collect();
        ids.extend(
            list_pulse_queues(&mut conn).await?.into_iter().map(|q| HookKey::from_stored(q.hook_group_id, q.hook_id)),
        );
        ids.sort();
        ids.dedup();
        self.reconcile_ids(&mut conn, topology, &ids).await
    }

    /// Reconciles the given hooks (after a change to them).
    pub async fn reconcile_hooks(
        &self,
        pool: &Pool,
        topology: &mut Topology,
        hooks: &[HookKey],
    ) -> Result<Pass, PulseError> {
        let mut conn = lock_connection(pool).await?;
        self.reconcile_ids(&mut conn, topology, hooks).await
    }

    async fn reconcile_ids(
        &self,
        conn: &mut AsyncPgConnection,
        topology: &mut Topology,
        ids: &[HookKey],
    ) -> Result<Pass, PulseError> {
        let mut pass = Pass::default();
        for hook in ids {
            match self.reconcile_hook(conn, topology, hook, &mut pass).await {
                Ok(()) => {}
                Err(e @ PulseError::Storage(_)) => return Err(e),
                Err(e) if !topology.connected() => return Err(e),
                Err(e) => {
                    tracing::error!(%hook, error = %e, "cannot reconcile the hook's queue");
                    pass.failed += 1;
                }
            }
        }
        Ok(pass)
    }

    async fn reconcile_hook(
        &self,
        conn: &mut AsyncPgConnection,
        topology: &mut Topology,
        hook: &HookKey,
        pass: &mut Pass,
    ) -> Result<(), PulseError> {
        lock_reconcile(conn).await?;
        let applied = self.apply(conn, topology, hook, pass).await;
        // On failure to unlock, the caller drops the connection, which releases the lock.
        let unlocked = unlock_reconcile(conn).await;
        applied?;
        Ok(unlocked?)
    }

    async fn apply(
        &self,
        conn: &mut AsyncPgConnection,
        topology: &mut Topology,
        hook: &HookKey,
        pass: &mut Pass,
    ) -> Result<(), PulseError> {
        let (g, h) = (hook.group.as_str(), hook.id.as_str());
        let wanted = find_hook_bindings(conn, hook).await?.map(|b| b.bindings).unwrap_or_default();
        let stored = find_pulse_queue(conn, hook).await?;
        if wanted.is_empty() {
            pass.released.push(hook.clone());
            if let Some(stored) = stored
                && (stored.bindings.is_empty() || self.scope.includes(&stored.bindings))
            {
                let dropped = topology.delete_queue(&stored.queue_name).await?;
                delete_pulse_queue(conn, hook).await?;
                pass.deleted_queues += 1;
                tracing::info!(%hook, queue = %stored.queue_name, dropped, "hook queue deleted");
            }
            return Ok(());
        }
        if !self.scope.includes(&wanted) {
            pass.released.push(hook.clone());
            return Ok(());
        }
        let queue_name = stored.as_ref().map_or_else(|| topology.names().hook_queue(g, h), |q| q.queue_name.clone());
        let old = stored.as_ref().map(|q| q.bindings.clone()).unwrap_or_default();
        let mut union = old.clone();
        union.extend(wanted.iter().filter(|b| !old.contains(b)).cloned());
        let record = |bindings: Vec<Binding>| PulseQueue {
            hook_group_id: g.to_owned(),
            hook_id: h.to_owned(),
            queue_name: queue_name.clone(),
            bindings,
        };
        if stored.as_ref().is_none_or(|q| q.bindings != union) {
            save_pulse_queue(conn, &record(union.clone())).await?;
        }
        match topology.declare_hook_queue(&queue_name).await? {
            Declared::Existing => {}
            Declared::Created => {
                tracing::warn!(%hook, queue = %queue_name, "the hook's queue was missing on the broker; declared and bound again");
                pass.consume_anew.push(hook.clone());
            }
            Declared::OtherArguments => tracing::warn!(
                %hook,
                queue = %queue_name,
                "the hook's queue exists with other arguments (length limit, dead-lettering); using it as it is. \
                 Delete the queue to have it declared anew"
            ),
        }
        let mut bound = Vec::with_capacity(wanted.len());
        for binding in &wanted {
            match topology.bind(&queue_name, binding).await {
                Ok(()) => bound.push(binding.clone()),
                Err(e) if matches!(e.reply_code(), Some(404 | 403)) => {
                    pass.missing_exchanges += 1;
                    tracing::warn!(
                        %hook,
                        exchange = %binding.exchange,
                        error = %e,
                        "cannot bind the hook's queue yet (the exchange does not exist or may not be used); will retry"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        for binding in old.iter().filter(|b| !wanted.contains(b)) {
            topology.unbind(&queue_name, binding).await?;
        }
        if bound != union {
            save_pulse_queue(conn, &record(bound)).await?;
        }
        // A paused hook keeps its queue and bindings, so messages wait there (up to the queue's length), but is
        // not consumed until it is resumed.
        if find_pause(conn, hook).await?.is_some() {
            pass.released.push(hook.clone());
            return Ok(());
        }
        pass.queues.push(HookQueue { hook: hook.clone(), queue_name });
        Ok(())
    }
}

/// A connection of the pass's own, taken out of the pool: dropping it (even when the pass is cancelled) closes it,
/// which releases any advisory lock it holds.
async fn lock_connection(pool: &Pool) -> Result<AsyncPgConnection, PulseError> {
    let conn = pool.get().await.map_err(StorageError::from)?;
    Ok(PooledConnection::take(conn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(exchange: &str) -> Binding {
        Binding { exchange: exchange.into(), routing_key_pattern: "#".into() }
    }

    #[test]
    fn a_scope_matches_whole_exchange_names() {
        let scope = Scope::exchanges("exchange/taskcluster-queue/v1/.*").unwrap();
        assert!(scope.includes(&[b("other"), b("exchange/taskcluster-queue/v1/task-completed")]));
        assert!(!scope.includes(&[b("prefix/exchange/taskcluster-queue/v1/x")]));
        assert!(!scope.includes(&[]));
        assert!(Scope::all().includes(&[b("anything")]));
        let exact = Scope::exchanges("ex-a|ex-b").unwrap();
        assert!(exact.includes(&[b("ex-b")]));
        assert!(!exact.includes(&[b("ex-bc")]));
    }
}
