//! The fire log: every API call's event, whatever became of it, with its source; pages; events kept once; a
//! removed hook's log goes with it.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use hooks_core::sink::TaskSink;
use hooks_core::storage::Pool;
use hooks_core::storage::list_last_fires;
use hooks_core::storage::{EventOutcome, FireEvent, LoggedEvent, list_fire_log, record_fire_events};
use hooks_core::storage::{create_hook, delete_hook};
use hooks_core::{CallFires, FireContext, FireOptions, FiredBy, Firer, HookDefinition, HookKey};
use serde_json::{Map, json};
use test_support::{FakeTaskcluster, TestDb};

async fn stored(db: &TestDb, def: &HookDefinition) {
    let mut conn = db.pool.get().await.unwrap();
    create_hook(&mut conn, &common::keyring(), def, "test", Utc::now()).await.unwrap();
}

async fn log_of(pool: &Pool, g: &str, h: &str) -> Vec<LoggedEvent> {
    list_fire_log(&mut pool.get().await.unwrap(), &key(g, h), 100, None).await.unwrap()
}

fn key(g: &str, h: &str) -> HookKey {
    HookKey::parse(g, h).unwrap()
}

fn with_task(task: serde_json::Value) -> serde_json::Value {
    json!({"task": task})
}

#[tokio::test]
async fn every_api_call_is_in_the_fire_log_with_its_outcome_and_caller() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let sink: Arc<dyn TaskSink> = Arc::new(fake.queue_sink(0));
    let firer = Firer::new(test_support::renderer(), sink);
    let calls = CallFires::start(db.pool.clone());
    let task = json!({
        "$if": "payload.go",
        "then": {
            "provisionerId": "p", "workerType": "w", "payload": {"x": {"$eval": "payload.x"}},
            "metadata": {"name": "t", "description": "d", "owner": "o@example.com", "source": "http://example.com"},
        },
    });
    let def = common::definition("g", "h", with_task(task));
    stored(&db, &def).await;
    let fire = |payload: serde_json::Value| {
        calls.fire(&firer, &def, FireContext::trigger_hook(payload, "caller-1"), FireOptions::default())
    };

    let created = fire(json!({"go": true, "x": 1})).await.unwrap();
    fire(json!({"go": false})).await.unwrap();
    fire(json!({"go": true})).await.unwrap_err(); // payload.x is missing: a render error
    fake.fail_create_task(1, 400, "InvalidRequestArguments");
    fire(json!({"go": true, "x": 2})).await.unwrap_err();

    let log = log_of(&db.pool, "g", "h").await;
    let outcomes: Vec<EventOutcome> = log.iter().rev().map(|e| e.event.outcome).collect();
    assert_eq!(
        outcomes,
        [EventOutcome::Created, EventOutcome::Declined, EventOutcome::RenderError, EventOutcome::CreateFailed]
    );
    for logged in &log {
        assert_eq!(logged.event.fired_by, FiredBy::TriggerHook);
        assert_eq!(logged.event.source, Map::from_iter([("clientId".to_owned(), json!("caller-1"))]));
    }
    let [failed, render_error, declined, first] = &log[..] else { panic!("{log:?}") };
    let hooks_core::FireOutcome::Created { task_id } = created else { panic!("declined") };
    assert_eq!(first.event.task_id.as_deref(), Some(task_id.as_str()));
    assert_eq!(first.event.error, None);
    assert_eq!(declined.event.task_id, None, "a declined fire attempted no task");
    assert!(render_error.event.error.as_deref().unwrap().contains("no property"), "{render_error:?}");
    assert!(failed.event.error.as_deref().unwrap().contains("InvalidRequestArguments"), "{failed:?}");
    // Only what fired (or tried to create a task) is a last fire; the log has the declined fire too.
    let last_fires = list_last_fires(&mut db.pool.get().await.unwrap(), &key("g", "h"), 100, None).await.unwrap();
    assert_eq!(last_fires.len(), 3);
}

#[tokio::test]
async fn a_refused_payload_is_logged_by_where_it_is_wrong_never_by_what_it_holds() {
    let db = TestDb::new().await;
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}});
    let def = common::definition("g", "h", json!({"triggerSchema": schema}));
    stored(&db, &def).await;
    let calls = CallFires::start(db.pool.clone());
    let refused = def.trigger_schema.validate(&json!({"n": -12345})).unwrap_err();
    assert_eq!(refused.to_string(), "data/n must be >= 0", "callers are told in Ajv's words, as upstream");

    let key = HookKey::new(def.hook_group_id.clone(), def.hook_id.clone());
    let error = refused.locations.join("; ");
    let source = Map::from_iter([("clientId".to_owned(), json!("c"))]);
    calls
        .record_refused(FireEvent::without_task(
            &key,
            FiredBy::TriggerHook,
            EventOutcome::PayloadRejected,
            error,
            source,
        ))
        .await;

    let log = log_of(&db.pool, "g", "h").await;
    assert_eq!(log.len(), 1);
    let error = log[0].event.error.as_deref().unwrap();
    assert_eq!(log[0].event.outcome, EventOutcome::PayloadRejected);
    assert!(error.contains("payload/n") && error.contains("minimum"), "{error}");
    assert!(!error.contains("12345"), "the payload's value is not kept: {error}");
}

fn event(g: &str, h: &str, seconds_ago: i64, outcome: EventOutcome, task_id: Option<&str>) -> FireEvent {
    FireEvent {
        hook_group_id: g.into(),
        hook_id: h.into(),
        time: hooks_core::time::truncate_to_millis(Utc::now() - TimeDelta::seconds(seconds_ago)),
        fired_by: FiredBy::Schedule,
        outcome,
        task_id: task_id.map(str::to_owned),
        error: None,
        source: Map::new(),
    }
}

#[tokio::test]
async fn pages_run_newest_first_without_gaps_or_repeats_while_events_arrive() {
    let db = TestDb::new().await;
    stored(&db, &common::definition("g", "h", json!({}))).await;
    let mut conn = db.pool.get().await.unwrap();
    // 25 events, some sharing a time (ties broken by id).
    let events: Vec<FireEvent> = (0..25).map(|i| event("g", "h", i / 2, EventOutcome::Declined, None)).collect();
    record_fire_events(&mut conn, &events).await.unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = list_fire_log(&mut conn, &key("g", "h"), 10, after).await.unwrap();
        // A newer event arriving between pages never shows up in a later page.
        record_fire_events(&mut conn, &[event("g", "h", -5, EventOutcome::Declined, None)]).await.unwrap();
        seen.extend(page.iter().map(|e| e.cursor));
        if page.len() < 10 {
            break;
        }
        after = page.last().map(|e| e.cursor);
    }
    assert_eq!(seen.len(), 25);
    assert!(seen.windows(2).all(|w| (w[0].time, w[0].id) > (w[1].time, w[1].id)), "strictly newest first");
}

#[tokio::test]
async fn an_event_written_twice_is_kept_once_and_a_removed_hooks_log_goes_with_it() {
    let db = TestDb::new().await;
    let def = common::definition("g", "h", json!({}));
    stored(&db, &def).await;
    let mut conn = db.pool.get().await.unwrap();
    let created = event("g", "h", 0, EventOutcome::Created, Some("fUAQbIjsRkOAhHY9q3Zkgw"));
    // A retried write (its first commit's answer lost), and an event of a hook that does not exist.
    record_fire_events(&mut conn, &[created.clone(), event("g", "gone", 0, EventOutcome::Declined, None)])
        .await
        .unwrap();
    record_fire_events(&mut conn, &[created]).await.unwrap();
    assert_eq!(log_of(&db.pool, "g", "h").await.len(), 1);
    assert!(log_of(&db.pool, "g", "gone").await.is_empty());

    delete_hook(&mut conn, &key("g", "h"), "test").await.unwrap();
    stored(&db, &def).await;
    assert!(log_of(&db.pool, "g", "h").await.is_empty(), "a hook created again starts with an empty log");
}

#[tokio::test]
async fn a_source_holding_nul_is_kept_escaped_and_does_not_fail_the_batch() {
    // A Pulse routing key may hold U+0000, which jsonb refuses: the listener would retry the batch forever.
    let db = TestDb::new().await;
    stored(&db, &common::definition("g", "h", with_task(json!({})))).await;
    let mut with_nul = event("g", "h", 1, EventOutcome::DeadLettered, None);
    with_nul.fired_by = FiredBy::PulseMessage;
    with_nul.source = json!({"routingKey": "case.1.a\u{0}b", "exchange": "e"}).as_object().unwrap().clone();
    let plain = event("g", "h", 0, EventOutcome::Declined, None);
    let mut conn = db.pool.get().await.unwrap();
    record_fire_events(&mut conn, &[with_nul, plain]).await.unwrap();

    let log = log_of(&db.pool, "g", "h").await;
    assert_eq!(log.len(), 2, "both events of the batch are kept");
    assert_eq!(log[1].event.source["routingKey"], "case.1.a\\u0000b");
}
