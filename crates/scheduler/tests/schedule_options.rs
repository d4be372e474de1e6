//! A hook's own `timeZone` and `catchUp` through the real scheduler, a real Postgres and the queue stand-in: a hook
//! read in another zone fires at that zone's wall time as a UTC instant, and after an outage each hook's own
//! catch-up policy decides what fires in place of the scheduler's.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Timelike as _, Utc};
use common::{Env, key, minute_floor};
use hooks_core::CatchUp;
use hooks_core::storage::{EventOutcome, find_hook, list_fire_log};
use hooks_core::time::to_json;
use scheduler::SchedulerOptions;
use serde_json::json;
use test_support::CreatedTask;

/// The slots `id`'s tasks were created for, in the order they were created, up to `until`.
fn slots_of(tasks: &[CreatedTask], id: &str, until: DateTime<Utc>) -> Vec<String> {
    let role = format!("assume:hook-id:sched/{id}");
    tasks
        .iter()
        .filter(|t| t.authorized_scopes.as_ref().is_some_and(|s| s[0] == role))
        .map(|t| t.task["slot"].as_str().unwrap().to_owned())
        // A run that crosses into the next minute also fires that minute's slot; it is not what these tests are about.
        .filter(|s| *s <= to_json(until))
        .collect()
}

fn minutes_back(floor: DateTime<Utc>, minutes: std::ops::RangeInclusive<i64>) -> Vec<String> {
    minutes.rev().map(|m| to_json(floor - TimeDelta::minutes(m))).collect()
}

#[tokio::test]
async fn a_hook_in_another_zone_fires_at_that_zones_wall_time_as_a_utc_instant() {
    let env = Env::new().await;
    // Kathmandu is 5:45 ahead of UTC all year: the pattern names a wall time there, three seconds from now.
    let slot = DateTime::from_timestamp(Utc::now().timestamp() + 3, 0).unwrap();
    let local = slot + TimeDelta::minutes(5 * 60 + 45);
    let pattern = format!("{} {} {} * * *", local.second(), local.minute(), local.hour());
    env.hook("kathmandu", &[&pattern], json!({"timeZone": "Asia/Kathmandu"})).await;
    assert_eq!(env.next_of("kathmandu").await, Some(slot), "the next slot is the zone's wall time in UTC");

    let running = env.run(SchedulerOptions::default());
    let tasks = env.fake.wait_for_tasks(1, Duration::from_secs(15)).await;
    running.stop().await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    // `now` and the taskId come from the UTC instant, as for any slot.
    assert_eq!(tasks[0].task["slot"], to_json(slot));
    let mut conn = env.db.pool.get().await.unwrap();
    let hook = find_hook(&mut conn, &env.keyring, &key("kathmandu")).await.unwrap().unwrap();
    let def = &hook.definition;
    assert_eq!(tasks[0].task_id, hook.schedule_secret.task_id(&def.hook_group_id, &def.hook_id, slot).as_str());
    let requests = env.fake.create_task_requests();
    assert!(requests[0].received >= slot, "created at {:?}, before its slot {slot:?}", requests[0].received);
    assert_eq!(hook.next_scheduled_date, Some(slot + TimeDelta::days(1)));
}

#[tokio::test]
async fn two_schedulers_fire_each_slot_of_zoned_hooks_once() {
    let env = Env::new().await;
    let zones = ["Australia/Lord_Howe", "America/New_York", "Europe/Berlin"];
    for zone in zones {
        env.hook(&zone.replace('/', "-"), &["* * * * * *"], json!({"timeZone": zone})).await;
    }
    let running = [env.run(SchedulerOptions::default()), env.run(SchedulerOptions::default())];
    tokio::time::sleep(Duration::from_secs(4)).await;
    for r in running {
        r.stop().await;
    }
    let requests = env.fake.create_task_requests();
    let mut task_ids: Vec<&str> = requests.iter().map(|r| r.task_id.as_str()).collect();
    task_ids.sort_unstable();
    let created = task_ids.len();
    task_ids.dedup();
    assert_eq!(task_ids.len(), created, "a slot's task was created twice");
    for zone in zones {
        let slots = slots_of(&env.fake.created_tasks(), &zone.replace('/', "-"), Utc::now());
        assert!(slots.len() >= 3, "{zone}: {slots:?}");
        let mut distinct = slots.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), slots.len(), "{zone}: a slot fired twice: {slots:?}");
    }
}

#[tokio::test]
async fn after_an_outage_each_hooks_own_policy_takes_the_place_of_the_schedulers() {
    let env = Env::new().await;
    env.hook("latest", &["0 * * * * *"], json!({"catchUp": {"policy": "latest"}})).await;
    env.hook("none", &["0 0 0 1 1 *"], json!({"catchUp": {"policy": "none"}})).await;
    env.hook("default", &["0 * * * * *"], json!({})).await;
    let now = Utc::now();
    let floor = minute_floor(now);
    env.set_next("latest", floor - TimeDelta::minutes(10)).await;
    env.set_next("default", floor - TimeDelta::minutes(10)).await;
    // Its only slot this year was on 1 January: missed by far more than a minute.
    let new_year: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    env.set_next("none", new_year).await;
    // The scheduler's own policy fires every missed slot of the last day.
    let options = SchedulerOptions { catch_up: CatchUp::All { window: TimeDelta::days(1) }, ..Default::default() };
    env.scheduler(options).run_until_idle().await.unwrap();

    let tasks = env.fake.created_tasks();
    assert_eq!(slots_of(&tasks, "default", floor), minutes_back(floor, 0..=10), "the scheduler's policy");
    assert_eq!(slots_of(&tasks, "latest", floor), [to_json(floor)], "only the most recent missed slot");
    assert!(slots_of(&tasks, "none", floor).is_empty(), "{tasks:?}");
    assert_eq!(env.next_of("none").await, Some("2027-01-01T00:00:00Z".parse().unwrap()));
    let mut conn = env.db.pool.get().await.unwrap();
    let log = list_fire_log(&mut conn, &key("none"), 10, None).await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    let skipped = &log[0].event;
    assert_eq!((skipped.outcome, skipped.task_id.as_deref()), (EventOutcome::SkippedSlot, None));
    assert_eq!(skipped.source["slot"], to_json(new_year));
    let reason = skipped.error.as_deref().unwrap();
    assert!(reason.contains("catch-up none") && reason.contains("none is fired instead"), "{reason}");
}

#[tokio::test]
async fn a_hooks_catch_up_all_fires_every_missed_slot_in_its_window_oldest_first() {
    let env = Env::new().await;
    let now = Utc::now();
    let floor = minute_floor(now);
    // Windows whose edges sit 30 s away from any slot, so a slow run can't move a slot across them: 4m30s and
    // 2m30s back from the current minute.
    let into_minute = now - floor;
    let own_window = format!("{}s", (TimeDelta::seconds(4 * 60 + 30) + into_minute).num_seconds());
    env.hook("all", &["0 * * * * *"], json!({"catchUp": {"policy": "all", "window": own_window}})).await;
    env.hook("all-default-window", &["0 * * * * *"], json!({"catchUp": {"policy": "all"}})).await;
    env.hook("default", &["0 * * * * *"], json!({})).await;
    for id in ["all", "all-default-window", "default"] {
        env.set_next(id, floor - TimeDelta::minutes(10)).await;
    }
    // The scheduler fires only the latest missed slot; its --catch-up-window is what `all` without a window uses.
    let options = SchedulerOptions {
        catch_up: CatchUp::Latest,
        retry_window: TimeDelta::seconds(2 * 60 + 30) + into_minute,
        ..SchedulerOptions::default()
    };
    env.scheduler(options).run_until_idle().await.unwrap();

    let tasks = env.fake.created_tasks();
    assert_eq!(slots_of(&tasks, "all", floor), minutes_back(floor, 0..=4), "its own window, oldest first");
    assert_eq!(slots_of(&tasks, "all-default-window", floor), minutes_back(floor, 0..=2));
    assert_eq!(slots_of(&tasks, "default", floor), [to_json(floor)], "the scheduler's policy");
}

#[tokio::test]
async fn catch_up_none_still_fires_a_slot_reached_on_time() {
    let env = Env::new().await;
    env.hook("every-second", &["* * * * * *"], json!({"catchUp": {"policy": "none"}})).await;
    let second = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    env.set_next("every-second", second - TimeDelta::seconds(3)).await;
    // One batch: the hook is due again every second.
    let batch = env.scheduler(SchedulerOptions::default()).run_next().await.unwrap().unwrap();
    assert_eq!(batch.fired, 1);
    let tasks = env.fake.created_tasks();
    assert_eq!(tasks.len(), 1);
    let slot: DateTime<Utc> = tasks[0].task["slot"].as_str().unwrap().parse().unwrap();
    assert!(slot >= second, "the slot fired ({slot}) is the current one, not one missed before {second}");
}
