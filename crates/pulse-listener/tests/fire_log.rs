//! What the listener writes into the fire log: each message's fire with its exchange, routing key and message id;
//! a payload the triggerSchema refuses (where, never what); a message sent to the dead-letter queue.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::Duration;

use common::{Env, GROUP, eventually};
use hooks_core::FiredBy;
use hooks_core::storage::{EventOutcome, FireEvent, list_fire_log};
use lapin::BasicProperties;
use serde_json::json;

const SECOND: Duration = Duration::from_secs(1);

async fn log_of(env: &Env, id: &str) -> Vec<FireEvent> {
    let mut conn = env.db.pool.get().await.unwrap();
    list_fire_log(&mut conn, &hooks_core::HookKey::parse(GROUP, id).unwrap(), 100, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

#[tokio::test]
async fn each_message_is_logged_with_what_became_of_it() {
    let env = Env::new().await;
    let exchange = env.exchange("logged").await;
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}});
    let binding = json!([{"exchange": exchange, "routingKeyPattern": "#"}]);
    env.create_hook("logged", binding, json!({"triggerSchema": schema})).await;
    let running = env.start();
    running.consuming(1).await;

    let with_id = BasicProperties::default().with_message_id("msg-1".into());
    assert!(env.publish_raw(&exchange, "a.b", serde_json::to_vec(&json!({"n": 1})).unwrap(), with_id).await);
    let tasks = env.wait_for_tasks(1).await;
    assert!(env.publish(&exchange, "a.c", &json!({"n": -987654})).await);
    assert!(env.publish_raw(&exchange, "a.d", b"not json {".to_vec(), BasicProperties::default()).await);
    assert!(eventually(5 * SECOND, || async { log_of(&env, "logged").await.len() == 3 }).await);
    running.stop().await;

    let log = log_of(&env, "logged").await;
    let by_key = |key: &str| log.iter().find(|e| e.source["routingKey"] == key).unwrap();
    let (fired, refused, dead) = (by_key("a.b"), by_key("a.c"), by_key("a.d"));
    assert!(log.iter().all(|e| e.fired_by == FiredBy::PulseMessage && e.source["exchange"] == exchange));

    assert_eq!((fired.outcome, fired.task_id.as_deref()), (EventOutcome::Created, Some(tasks[0].task_id.as_str())));
    assert_eq!(fired.source["messageId"], "msg-1");

    assert_eq!((refused.outcome, refused.task_id.as_deref()), (EventOutcome::PayloadRejected, None));
    let error = refused.error.as_deref().unwrap();
    assert!(error.contains("payload/n") && error.contains("minimum"), "{error}");
    assert!(!error.contains("987654"), "the payload is never kept: {error}");
    assert!(!refused.source.contains_key("messageId"), "none was set");

    assert_eq!(dead.outcome, EventOutcome::DeadLettered);
    assert!(dead.error.as_deref().unwrap().contains("not JSON"), "{dead:?}");
}
