//! Hostile hooks bound to an exchange: templates that pass createHook but go past a render bound for every message
//! (memory, a panic inside json-e, output size, CPU time) sit next to a good hook on the same exchange. Their
//! messages are settled once (acknowledged, recorded as `error` last fires naming the bound, never redelivered),
//! and every message for the good hook fires; and so it goes on after the listener restarts.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Env, Running};
use hooks_core::storage::{LastFire, list_last_fires};
use serde_json::{Value, json};

const SECOND: Duration = Duration::from_secs(1);
const GOOD: &str = "good";
/// Messages published for each hook, before and again after the restart.
const PER_HOOK: usize = 3;

/// A hook whose template goes past one bound for the message `body`.
struct Hostile {
    id: &'static str,
    /// The task template's `payload` field.
    task_payload: Value,
    /// The message.
    body: fn(usize) -> Value,
    /// What its last fires say (for a panic: how they start; the panic's text follows).
    says: &'static str,
}

fn hostiles() -> [Hostile; 4] {
    [
        Hostile {
            id: "hostile-memory",
            task_payload: json!({"list": {"$eval": "range(0, 100000000)"}}),
            body: |i| json!({"i": i}),
            says: "render exceeded its 64 MiB memory limit",
        },
        Hostile {
            id: "hostile-panic",
            task_payload: json!({"when": {"$fromNow": "100000000000 years"}}),
            body: |i| json!({"i": i}),
            says: "JSON-e error: the renderer failed on this template: ",
        },
        Hostile {
            id: "hostile-output",
            task_payload: json!({"echo": {"$eval": "payload"}}),
            body: |i| json!({"i": i, "big": "x".repeat(1_200_000)}),
            says: "render exceeded its 1 MiB output limit (the rendered task is larger)",
        },
        Hostile {
            id: "hostile-cpu",
            // Nested as deep as createHook allows, and unterminated: the parser backtracks through every level.
            task_payload: json!({"slow": {"$eval": "a[1+".repeat(hooks_core::MAX_EXPRESSION_NESTING)}}),
            body: |i| json!({"i": i}),
            says: "render exceeded its 200 ms CPU time limit",
        },
    ]
}

impl Hostile {
    fn says(&self, text: &str) -> bool {
        if self.says.ends_with(": ") { text.starts_with(self.says) } else { text == self.says }
    }
}

fn binding(exchange: &str, pattern: &str) -> Value {
    json!([{"exchange": exchange, "routingKeyPattern": pattern}])
}

/// The good hook and the hostile ones, each bound to its own routing key on `exchange`.
async fn hooks_side_by_side(env: &Env, exchange: &str) {
    env.create_hook(GOOD, binding(exchange, GOOD), json!({})).await;
    for hostile in hostiles() {
        let task = json!({"provisionerId": "p", "workerType": "w", "payload": hostile.task_payload});
        env.create_hook(hostile.id, binding(exchange, hostile.id), json!({"task": task})).await;
    }
}

/// Publishes messages `from..to` for every hook, the good hook's interleaved with the hostile ones'.
async fn publish(env: &Env, exchange: &str, from: usize, to: usize) {
    for i in from..to {
        for hostile in hostiles() {
            assert!(env.publish(exchange, hostile.id, &(hostile.body)(i)).await, "{} is not bound", hostile.id);
        }
        assert!(env.publish(exchange, GOOD, &json!({"i": i})).await, "{GOOD} is not bound");
    }
}

async fn fires_of(env: &Env, id: &str) -> Vec<LastFire> {
    let mut conn = env.db.pool.get().await.unwrap();
    list_last_fires(&mut conn, &common::key(id), 1000, None).await.unwrap()
}

/// Every message so far (`published` per hook) was settled once: the good hook fired each, each hostile hook recorded one error per message naming its bound, and every
/// queue is empty.
async fn assert_settled_once(env: &Env, published: usize) {
    let good: Vec<i64> = env.fired_messages().iter().map(|m| m["i"].as_i64().unwrap()).collect();
    let distinct: BTreeSet<i64> = good.iter().copied().collect();
    assert_eq!((good.len(), distinct), (published, (0..published as i64).collect()), "every good message fired once");
    assert_eq!(env.queue_depth(&env.queue(GOOD)).await, Some(0));
    for hostile in hostiles() {
        let fires = fires_of(env, hostile.id).await;
        assert_eq!(fires.len(), published, "{}: one last fire per message, no redelivery", hostile.id);
        for fire in &fires {
            assert_eq!((fire.fired_by.as_str(), fire.result.as_str()), ("pulseMessage", "error"), "{}", hostile.id);
            assert!(hostile.says(&fire.error), "{}: {:?}", hostile.id, fire.error);
        }
        assert_eq!(env.queue_depth(&env.queue(hostile.id)).await, Some(0), "{} left messages", hostile.id);
    }
    assert_eq!(env.queue_depth(&env.names.dead_letter_queue()).await.unwrap_or(0), 0, "nothing dead-lettered");
}

/// Waits until `running` has settled `messages` messages, `errors` of them as fire errors.
async fn until_settled(running: &Running, messages: u64, errors: u64) {
    let stats = running.until(20 * SECOND, |s| s.acked >= messages && s.fire_errors >= errors).await;
    assert_eq!((stats.acked, stats.fire_errors), (messages, errors), "{stats:?}");
    assert_eq!((stats.delivered, stats.dead_lettered, stats.retries), (messages, 0, 0), "{stats:?}");
}

#[tokio::test]
async fn hostile_messages_are_settled_once_and_the_good_hook_fires_every_message_across_a_restart() {
    let env = Env::new().await;
    let exchange = env.exchange("events").await;
    hooks_side_by_side(&env, &exchange).await;
    let hooks = hostiles().len() as u64 + 1;
    let running = env.start();
    running.consuming(hooks).await;

    publish(&env, &exchange, 0, PER_HOOK).await;
    let hostile_messages = (hostiles().len() * PER_HOOK) as u64;
    let messages = hooks * PER_HOOK as u64;
    until_settled(&running, messages, hostile_messages).await;
    running.stop().await;
    assert_settled_once(&env, PER_HOOK).await;

    // Published while no listener runs: the next one finds them in the hook queues, beside the hostile ones.
    publish(&env, &exchange, PER_HOOK, 2 * PER_HOOK).await;
    let running = env.start();
    running.consuming(hooks).await;
    // Each message delivered once and acknowledged: none is left for the broker to deliver again.
    until_settled(&running, messages, hostile_messages).await;
    running.stop().await;
    assert_settled_once(&env, 2 * PER_HOOK).await;
}
