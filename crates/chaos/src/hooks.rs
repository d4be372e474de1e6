//! The hooks the scenarios fire, each of whose tasks carries the identity of the event that made it in
//! `extra.chaos`: `<group>/<hook>@<slot time>` for a schedule slot (`now` is the slot in a scheduled fire's
//! context), `<group>/<hook>#<seq>` for a Pulse message, `<group>/<hook>!<id>` for a trigger call.

use serde_json::{Value, json};

/// Every second (the scheduler's six-field cron).
pub const EVERY_SECOND: &str = "* * * * * *";

/// The routing key of group `group`'s messages.
pub fn routing_key(group: &str) -> String {
    format!("chaos.{group}")
}

/// A hook firing every second.
pub fn scheduled(group: &str, hook: &str) -> Value {
    let mut h = hook_with(&format!("{group}/{hook}@${{now}}"));
    h["schedule"] = json!([EVERY_SECOND]);
    h
}

/// A hook bound to `exchange` for group `group`'s messages, each `{"seq": n}`.
pub fn pulse(group: &str, hook: &str, exchange: &str) -> Value {
    let mut h = hook_with(&format!("{group}/{hook}#${{payload.seq}}"));
    h["bindings"] = json!([{"exchange": exchange, "routingKeyPattern": routing_key(group)}]);
    h
}

/// A hook for `triggerHook` calls whose payload is `{"id": n}`.
pub fn triggered(group: &str, hook: &str) -> Value {
    hook_with(&format!("{group}/{hook}!${{payload.id}}"))
}

/// A hook whose task carries `event` (a JSON-e string) in `extra.chaos`. Its owner is mailed on errors, so that
/// the suite counts the e-mails a fault makes the service send.
fn hook_with(event: &str) -> Value {
    json!({
        "metadata": {"name": "chaos", "description": "fault-injection suite", "owner": "chaos@example.com",
                     "emailOnError": true},
        "schedule": [],
        "bindings": [],
        "triggerSchema": {"type": "object"},
        "task": {
            "provisionerId": "chaos",
            "workerType": "chaos",
            "payload": {},
            "metadata": {"name": "chaos", "description": "fault-injection suite", "owner": "chaos@example.com",
                         "source": "https://example.com/chaos"},
            "extra": {"chaos": event},
        },
    })
}
