//! What the scheduler writes into the fire log: each slot's outcome with its slot time, the slots it passes over,
//! and nothing for a slot it is still retrying.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use chrono::{TimeDelta, Utc};
use common::{Env, YEARLY, minute_floor};
use hooks_core::FiredBy;
use hooks_core::storage::{EventOutcome, FireEvent, list_fire_log};
use hooks_core::time::to_json;
use scheduler::SchedulerOptions;
use serde_json::json;

async fn log_of(env: &Env, id: &str) -> Vec<FireEvent> {
    let mut conn = env.db.pool.get().await.unwrap();
    list_fire_log(&mut conn, &hooks_core::HookKey::parse("sched", id).unwrap(), 100, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

#[tokio::test]
async fn a_slot_fired_after_missed_ones_logs_the_missed_slots_and_the_fire_with_its_slot() {
    let env = Env::new().await;
    env.hook("hourly", &["0 0 * * * *"], json!({})).await;
    let first_missed = minute_floor(Utc::now()) - TimeDelta::hours(5) - TimeDelta::minutes(1);
    env.set_next("hourly", first_missed).await;
    env.scheduler(SchedulerOptions::default()).run_until_idle().await.unwrap();

    let task = &env.fake.created_tasks()[0];
    let log = log_of(&env, "hourly").await;
    let outcomes: Vec<EventOutcome> = log.iter().map(|e| e.outcome).collect();
    assert_eq!(outcomes, [EventOutcome::Created, EventOutcome::SkippedSlot], "{log:?}");
    let (created, skipped) = (&log[0], &log[1]);
    assert_eq!(created.fired_by, FiredBy::Schedule);
    assert_eq!(created.task_id.as_deref(), Some(task.task_id.as_str()));
    assert_eq!(created.source["slot"], task.task["slot"], "the slot the task was created for");
    assert_eq!(skipped.source["slot"], json!(to_json(first_missed)));
    let skipped_slots = skipped.source["skippedSlots"].as_u64().unwrap();
    assert!((5..=6).contains(&skipped_slots), "{skipped:?}");
    assert!(skipped.error.as_deref().unwrap().contains("only the latest missed slot fires"), "{skipped:?}");
}

#[tokio::test]
async fn a_declined_slot_is_logged_though_it_leaves_no_last_fire() {
    let env = Env::new().await;
    env.hook("quiet", &[YEARLY], json!({"task": {"$if": "false", "then": {}}})).await;
    env.set_next("quiet", minute_floor(Utc::now()) - TimeDelta::seconds(1)).await;
    env.scheduler(SchedulerOptions::default()).run_until_idle().await.unwrap();

    let log = log_of(&env, "quiet").await;
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].outcome, log[0].task_id.as_deref()), (EventOutcome::Declined, None));
    assert!(log[0].source.contains_key("slot"));
    let mut conn = env.db.pool.get().await.unwrap();
    let last_fires = hooks_core::storage::list_last_fires(
        &mut conn,
        &hooks_core::HookKey::parse("sched", "quiet").unwrap(),
        10,
        None,
    )
    .await
    .unwrap();
    assert!(last_fires.is_empty());
}

#[tokio::test]
async fn a_slot_being_retried_is_not_logged_until_it_is_given_up() {
    let env = Env::new().await;
    env.hook("down", &[YEARLY], json!({})).await;
    let slot = minute_floor(Utc::now()) - TimeDelta::seconds(1);
    env.set_next("down", slot).await;
    env.fake.fail_create_task(2, 500, "InternalServerError");
    env.scheduler(SchedulerOptions::default()).run_until_idle().await.unwrap();
    assert!(log_of(&env, "down").await.is_empty(), "kept for a retry: nothing happened yet");

    // The retry is due a second later; this time the window is closed.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let options = SchedulerOptions { retry_window: TimeDelta::zero(), ..SchedulerOptions::default() };
    env.scheduler(options).run_until_idle().await.unwrap();
    let log = log_of(&env, "down").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].outcome, EventOutcome::SkippedSlot);
    assert_eq!(log[0].source["slot"], json!(to_json(slot)));
    let error = log[0].error.as_deref().unwrap();
    assert!(error.contains("retry window") && error.contains("500"), "{error}");
}
