//! Messages whose payload a hook's triggerSchema refuses: each is counted, and the first and every hundredth per
//! hook logged (as upstream), so a misconfigured publisher cannot flood the log.

use std::collections::HashMap;
use std::sync::Mutex;

use hooks_core::{HookKey, PayloadError};

use crate::message::Message;

// How often a hook's discards are logged: the first, then every this many.
const LOG_INTERVAL: u64 = 100;

/// Discards per hook since the listener started.
#[derive(Default)]
pub(crate) struct Discards {
    per_hook: Mutex<HashMap<HookKey, u64>>,
}

impl Discards {
    /// Counts a discarded message, logging where its payload is wrong (never what it holds) when its turn comes.
    pub(crate) fn discard(&self, hook: &HookKey, message: &Message, error: &PayloadError) {
        let count = {
            let mut per_hook = self.per_hook.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let count = per_hook.entry(hook.clone()).or_insert(0);
            *count += 1;
            *count
        };
        if count == 1 || count % LOG_INTERVAL == 0 {
            let at: Vec<String> = error.problems.iter().map(|p| format!("data{}", p.instance_path)).collect();
            tracing::warn!(
                exchange = %message.exchange,
                routing_key = %message.routing_key,
                reason = "triggerSchema",
                invalid_at = ?at,
                discarded_count = count,
                "Pulse message discarded because its payload does not match the hook's triggerSchema"
            );
        }
    }
}
