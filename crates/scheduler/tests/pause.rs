//! A paused hook's slots pass without firing, each logged as skipped-slot, and it fires again once resumed.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use chrono::{TimeDelta, Utc};
use common::{Env, YEARLY, key, minute_floor};
use hooks_core::storage::{EventOutcome, list_fire_log, pause_hook, resume_hook};
use hooks_core::time::to_json;
use scheduler::SchedulerOptions;
use serde_json::json;

#[tokio::test]
async fn a_paused_hooks_due_slot_is_logged_skipped_and_it_fires_again_after_resume() {
    let env = Env::new().await;
    env.hook("paused", &[YEARLY], json!({})).await;
    let mut conn = env.db.pool.get().await.unwrap();
    pause_hook(&mut conn, &key("paused"), "maintenance", "tester", Utc::now()).await.unwrap().unwrap();
    let slot = minute_floor(Utc::now()) - TimeDelta::seconds(1);
    env.set_next("paused", slot).await;

    env.scheduler(SchedulerOptions::default()).run_until_idle().await.unwrap();
    assert!(env.fake.created_tasks().is_empty(), "a paused hook does not fire");
    let log = list_fire_log(&mut conn, &key("paused"), 10, None).await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    let event = &log[0].event;
    assert_eq!(event.outcome, EventOutcome::SkippedSlot);
    assert_eq!(event.source["slot"], json!(to_json(slot)));
    assert_eq!(event.source["skippedSlots"], 1);
    assert!(event.error.as_deref().unwrap().contains("paused"), "{event:?}");
    let next = env.next_of("paused").await.unwrap();
    assert!(next > Utc::now(), "moved on to its next slot: {next}");

    resume_hook(&mut conn, &key("paused"), "tester").await.unwrap();
    let slot = minute_floor(Utc::now()) - TimeDelta::seconds(1);
    env.set_next("paused", slot).await;
    env.scheduler(SchedulerOptions::default()).run_until_idle().await.unwrap();
    assert_eq!(env.fake.created_tasks().len(), 1, "resumed: its next slot fires");
}

#[tokio::test]
async fn two_schedulers_pass_a_paused_hooks_slots_once_each_and_fire_each_slot_once_after_resume() {
    let env = Env::new().await;
    env.hook("every-second", &["* * * * * *"], json!({})).await;
    let mut conn = env.db.pool.get().await.unwrap();
    pause_hook(&mut conn, &key("every-second"), "maintenance", "tester", Utc::now()).await.unwrap().unwrap();
    let running = [env.run(SchedulerOptions::default()), env.run(SchedulerOptions::default())];

    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert!(env.fake.created_tasks().is_empty(), "a paused hook does not fire on either scheduler");
    let log = list_fire_log(&mut conn, &key("every-second"), 100, None).await.unwrap();
    assert!(log.len() >= 2, "its slots are logged as they pass: {log:?}");
    assert!(log.iter().all(|e| e.event.outcome == EventOutcome::SkippedSlot), "{log:?}");
    let mut slots: Vec<String> = log.iter().map(|e| e.event.source["slot"].as_str().unwrap().to_owned()).collect();
    let logged = slots.len();
    slots.sort();
    slots.dedup();
    assert_eq!(slots.len(), logged, "no slot is passed by both schedulers: {log:?}");

    let resumed = Utc::now();
    resume_hook(&mut conn, &key("every-second"), "tester").await.unwrap();
    let tasks = env.fake.wait_for_tasks(3, std::time::Duration::from_secs(10)).await;
    for r in running {
        r.stop().await;
    }
    let tasks = env.fake.created_tasks().len().max(tasks.len());
    assert!(tasks >= 3, "resumed: it fires again ({tasks} tasks)");
    let mut fired: Vec<String> =
        env.fake.created_tasks().iter().map(|t| t.task["slot"].as_str().unwrap().to_owned()).collect();
    let created = fired.len();
    fired.sort();
    fired.dedup();
    assert_eq!(fired.len(), created, "each slot is created once across the two schedulers");
    assert!(fired.iter().all(|s| s.as_str() > to_json(resumed - TimeDelta::seconds(2)).as_str()), "{fired:?}");
}
