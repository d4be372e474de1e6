//! Hook definitions kept in memory between messages, dropped on every change to the hook.
//!
//! A change is announced by Postgres NOTIFY and the hook-changed exchanges; a load that raced with a change is not
//! kept (the generation moved on while it was loading), so a stale definition never outlives its notification.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hooks_core::HookDefinition;

#[derive(Default)]
struct Inner {
    hooks: HashMap<(String, String), Arc<HookDefinition>>,
    generation: u64,
}

/// The cache, shared by the listener's tasks.
#[derive(Default)]
pub(crate) struct HookCache {
    inner: Mutex<Inner>,
}

impl HookCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached definition, and the generation to pass to [`HookCache::insert`] after loading it otherwise.
    pub(crate) fn get(&self, g: &str, h: &str) -> (Option<Arc<HookDefinition>>, u64) {
        let inner = self.lock();
        (inner.hooks.get(&(g.to_owned(), h.to_owned())).cloned(), inner.generation)
    }

    /// Keeps a definition loaded at `generation`, unless a change came in since.
    pub(crate) fn insert(&self, generation: u64, def: Arc<HookDefinition>) {
        let mut inner = self.lock();
        if inner.generation == generation {
            inner.hooks.insert((def.hook_group_id.to_string(), def.hook_id.to_string()), def);
        }
    }

    /// Drops one hook.
    pub(crate) fn invalidate(&self, g: &str, h: &str) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.hooks.remove(&(g.to_owned(), h.to_owned()));
    }

    /// Drops every hook (changes may have been missed).
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.hooks.clear();
    }
}
