//! Hook definitions as they are now: read from the database, kept in memory between messages and dropped on every
//! change to the hook.
//!
//! A change is announced by Postgres NOTIFY and the hook-changed exchanges; a load that raced with a change is not
//! kept (the generation moved on while it was loading), so a stale definition never outlives its notification.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hooks_core::storage::{Pool, StorageError, find_hook};
use hooks_core::{HookDefinition, HookKey, Keyring};

use crate::changes::Change;

#[derive(Default)]
struct Cached {
    hooks: HashMap<HookKey, Arc<HookDefinition>>,
    generation: u64,
}

/// The cache, shared by the listener's tasks.
pub(crate) struct HookCache {
    pool: Pool,
    keyring: Arc<Keyring>,
    cached: Mutex<Cached>,
}

impl HookCache {
    /// An empty cache of the hooks in `pool`, whose secrets `keyring` opens.
    pub(crate) fn new(pool: Pool, keyring: Arc<Keyring>) -> Self {
        Self { pool, keyring, cached: Mutex::new(Cached::default()) }
    }

    fn lock(&self) -> MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The hook's definition as it is now, or `None` when the hook no longer exists.
    pub(crate) async fn definition(&self, hook: &HookKey) -> Result<Option<Arc<HookDefinition>>, StorageError> {
        let generation = {
            let cached = self.lock();
            if let Some(def) = cached.hooks.get(hook) {
                return Ok(Some(def.clone()));
            }
            cached.generation
        };
        let mut conn = self.pool.get().await?;
        let Some(found) = find_hook(&mut conn, &self.keyring, hook).await? else {
            return Ok(None);
        };
        let def = Arc::new(found.definition);
        let mut cached = self.lock();
        if cached.generation == generation {
            cached.hooks.insert(hook.clone(), def.clone());
        }
        Ok(Some(def))
    }

    /// Drops what `change` may have made stale: one hook, or every hook.
    pub(crate) fn forget(&self, change: &Change) {
        let mut cached = self.lock();
        cached.generation += 1;
        match change {
            Change::Hook(hook) => {
                cached.hooks.remove(hook);
            }
            Change::All => cached.hooks.clear(),
        }
    }
}
