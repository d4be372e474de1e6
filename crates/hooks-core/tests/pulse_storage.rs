//! The Pulse listener's storage: hook bindings, pulse_queues and pulse_fires, against a real Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use chrono::{TimeDelta, Utc};
use hooks_core::storage::{
    PulseFire, PulseQueue, claim_pulse_fire, delete_pulse_queue, expire_pulse_fires, find_hook_bindings,
    find_pulse_queue, finish_pulse_fires, insert_pulse_fires, list_hook_bindings, list_pulse_queues, save_pulse_queue,
};
use hooks_core::storage::{create_hook, find_hook, update_hook_definition};
use hooks_core::{Binding, time};
use serde_json::json;
use test_support::TestDb;

fn fire(task_id: &str, key: &[u8], session: &str) -> PulseFire {
    PulseFire {
        hook_group_id: "g".into(),
        hook_id: "h".into(),
        task_id: task_id.into(),
        message_key: key.to_vec(),
        fire_now: time::now_millis(),
        done: false,
        claimed_by: session.into(),
    }
}

#[tokio::test]
async fn a_redelivered_message_claims_an_unfinished_fire_of_another_session_each_only_once() {
    let db = TestDb::new().await;
    let mut conn = db.pool.get().await.unwrap();
    // Two byte-identical messages were in flight in session A when it died; a third was fired and recorded.
    insert_pulse_fires(&mut conn, &[fire("done", b"k", "A")]).await.unwrap();
    finish_pulse_fires(&mut conn, &[(common::key("g", "h"), "done".into())]).await.unwrap();
    insert_pulse_fires(&mut conn, &[fire("first", b"k", "A")]).await.unwrap();
    insert_pulse_fires(&mut conn, &[fire("second", b"k", "A")]).await.unwrap();
    insert_pulse_fires(&mut conn, &[fire("other", b"other key", "A")]).await.unwrap();

    // Redelivered in session B: each claims a different unfinished fire, then the finished one, then nothing.
    let a = claim_pulse_fire(&mut conn, &common::key("g", "h"), b"k", "B").await.unwrap().unwrap();
    let b = claim_pulse_fire(&mut conn, &common::key("g", "h"), b"k", "B").await.unwrap().unwrap();
    assert!(!a.done && !b.done);
    assert_ne!(a.task_id, b.task_id);
    assert_eq!(a.claimed_by, "B");
    let c = claim_pulse_fire(&mut conn, &common::key("g", "h"), b"k", "B").await.unwrap().unwrap();
    assert_eq!((c.task_id.as_str(), c.done), ("done", true));
    assert!(claim_pulse_fire(&mut conn, &common::key("g", "h"), b"k", "B").await.unwrap().is_none());
    // A fire of this session is never claimed by another of its deliveries.
    insert_pulse_fires(&mut conn, &[fire("mine", b"new", "B")]).await.unwrap();
    assert!(claim_pulse_fire(&mut conn, &common::key("g", "h"), b"new", "B").await.unwrap().is_none());
    // The claimed row keeps its taskId and `now`.
    assert_eq!(a.fire_now, time::truncate_to_millis(a.fire_now));

    assert_eq!(expire_pulse_fires(&mut conn, Utc::now() - TimeDelta::hours(1)).await.unwrap(), 0);
    assert_eq!(expire_pulse_fires(&mut conn, Utc::now() + TimeDelta::hours(1)).await.unwrap(), 5);
}

#[tokio::test]
async fn a_redelivery_waits_for_a_fire_being_finished_instead_of_firing_anew() {
    use diesel_async::RunQueryDsl as _;
    let db = TestDb::new().await;
    let mut conn = db.pool.get().await.unwrap();
    insert_pulse_fires(&mut conn, &[fire("first", b"k", "A")]).await.unwrap();
    // Session A's batch is marking the fire done, its transaction not yet committed.
    let mut batch = db.pool.get().await.unwrap();
    diesel::sql_query("BEGIN").execute(&mut batch).await.unwrap();
    diesel::sql_query("UPDATE pulse_fires SET done = true WHERE task_id = 'first'").execute(&mut batch).await.unwrap();

    // The redelivery in session B waits for the row rather than skipping it (which would fire a second task) ...
    let pool = db.pool.clone();
    let claim = tokio::spawn(async move {
        let mut conn = pool.get().await.unwrap();
        claim_pulse_fire(&mut conn, &common::key("g", "h"), b"k", "B").await.unwrap()
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!claim.is_finished(), "the claim did not wait for the locked row");
    // ... and, once the batch commits, finds the fire done: nothing is fired again.
    diesel::sql_query("COMMIT").execute(&mut batch).await.unwrap();
    let claimed = claim.await.unwrap().unwrap();
    assert_eq!((claimed.task_id.as_str(), claimed.done), ("first", true));
}

#[tokio::test]
async fn pulse_queues_are_saved_replaced_and_deleted_with_their_fires() {
    let db = TestDb::new().await;
    let mut conn = db.pool.get().await.unwrap();
    let b = |p: &str| Binding { exchange: "e".into(), routing_key_pattern: p.into() };
    let mut queue = PulseQueue {
        hook_group_id: "g".into(),
        hook_id: "h".into(),
        queue_name: "queue/ns/g/h".into(),
        bindings: vec![b("a")],
    };
    save_pulse_queue(&mut conn, &queue).await.unwrap();
    queue.bindings = vec![b("a"), b("b.#")];
    save_pulse_queue(&mut conn, &queue).await.unwrap();
    assert_eq!(find_pulse_queue(&mut conn, &common::key("g", "h")).await.unwrap(), Some(queue.clone()));
    assert_eq!(list_pulse_queues(&mut conn).await.unwrap(), vec![queue]);

    insert_pulse_fires(&mut conn, &[fire("t", b"k", "A")]).await.unwrap();
    delete_pulse_queue(&mut conn, &common::key("g", "h")).await.unwrap();
    assert!(find_pulse_queue(&mut conn, &common::key("g", "h")).await.unwrap().is_none());
    assert!(
        claim_pulse_fire(&mut conn, &common::key("g", "h"), b"k", "B").await.unwrap().is_none(),
        "its fires went with it"
    );
}

#[tokio::test]
async fn update_hook_definition_replaces_the_definition_keeps_the_secrets_and_lists_new_bindings() {
    let db = TestDb::new().await;
    let keyring = common::keyring();
    let mut conn = db.pool.get().await.unwrap();
    let def = common::definition("g", "h", json!({"bindings": [{"exchange": "e", "routingKeyPattern": "old"}]}));
    create_hook(&mut conn, &keyring, &def, "creator", Utc::now()).await.unwrap();
    let before = find_hook(&mut conn, &keyring, &common::key("g", "h")).await.unwrap().unwrap();
    create_hook(&mut conn, &keyring, &common::definition("g", "plain", json!({})), "creator", Utc::now())
        .await
        .unwrap();

    let changed = common::definition(
        "g",
        "h",
        json!({"bindings": [{"exchange": "e", "routingKeyPattern": "new"}], "schedule": ["0 0 * * * *"]}),
    );
    assert!(update_hook_definition(&mut conn, &changed, "updater", Utc::now()).await.unwrap());
    let after = find_hook(&mut conn, &keyring, &common::key("g", "h")).await.unwrap().unwrap();
    assert_eq!(after.definition, changed);
    assert_eq!(after.trigger_token, before.trigger_token);
    assert_eq!(after.schedule_secret, before.schedule_secret);
    assert!(after.next_scheduled_date.is_some());

    let listed = list_hook_bindings(&mut conn).await.unwrap();
    assert_eq!(listed.len(), 1, "hooks without bindings are not listed");
    assert_eq!(listed[0].bindings[0].routing_key_pattern, "new");
    assert_eq!(find_hook_bindings(&mut conn, &common::key("g", "plain")).await.unwrap().unwrap().bindings, vec![]);
    assert!(find_hook_bindings(&mut conn, &common::key("g", "missing")).await.unwrap().is_none());
    let missing = common::definition("g", "missing", json!({}));
    assert!(!update_hook_definition(&mut conn, &missing, "updater", Utc::now()).await.unwrap());
}
