//! A paused hook's messages wait in its queue and fire once it is resumed, none lost.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{Env, key};
use hooks_core::storage::{pause_hook, resume_hook};
use serde_json::json;

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_paused_hooks_messages_wait_in_its_queue_and_fire_after_resume() {
    let env = Env::new().await;
    let exchange = env.exchange("builds").await;
    let running = env.start();
    running.until(10 * SECOND, |s| s.reconciles >= 1).await;
    env.create_hook("held", json!([{"exchange": exchange, "routingKeyPattern": "#"}]), json!({})).await;
    running.consuming(1).await;

    let mut conn = env.db.pool.get().await.unwrap();
    pause_hook(&mut conn, &key("held"), "maintenance", "tester", Utc::now()).await.unwrap().unwrap();
    running.consuming(0).await;
    for n in 0..3 {
        assert!(env.publish(&exchange, "build", &json!({"n": n})).await, "routed to the kept queue");
    }
    tokio::time::sleep(SECOND).await;
    assert!(env.fake.created_tasks().is_empty(), "a paused hook fires nothing");
    assert_eq!(env.queue_depth(&env.queue("held")).await, Some(3), "the messages wait in its queue");

    resume_hook(&mut conn, &key("held"), "tester").await.unwrap();
    let tasks = env.wait_for_tasks(3).await;
    let mut seen: Vec<i64> = tasks.iter().map(|t| t.task["extra"]["message"]["n"].as_i64().unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2]);
    running.stop().await;
}
