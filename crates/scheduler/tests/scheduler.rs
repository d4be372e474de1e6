//! The scheduler against a real Postgres and a local server playing the queue and notify.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Timelike as _, Utc};
use common::{Env, YEARLY, minute_floor};
use diesel_async::RunQueryDsl as _;
use hooks_core::CatchUp;
use hooks_core::storage::list_last_fires;
use scheduler::{Scheduler, SchedulerOptions};
use serde_json::json;

#[tokio::test]
async fn a_due_slot_fires_with_the_slot_as_now_and_the_hook_moves_to_its_next_slot() {
    let env = Env::new().await;
    env.hook("hourly", &["0 0 * * * *"], json!({})).await;
    let slot = Utc.with_ymd_and_hms(2026, 1, 1, 5, 0, 0).unwrap();
    // Due long ago: the default catch-up fires the most recent missed slot only.
    env.set_next("hourly", slot).await;
    let scheduler = env.scheduler(SchedulerOptions::default());
    scheduler.run_until_idle().await.unwrap();

    let tasks = env.fake.created_tasks();
    assert_eq!(tasks.len(), 1);
    let latest = Utc.timestamp_opt(Utc::now().timestamp() - Utc::now().timestamp() % 3600, 0).unwrap();
    assert_eq!(tasks[0].task["slot"], hooks_core::time::to_json(latest));
    assert_eq!(tasks[0].task["created"], hooks_core::time::to_json(latest));
    assert_eq!(tasks[0].task["by"], "schedule");
    assert_eq!(tasks[0].authorized_scopes.as_deref(), Some(&["assume:hook-id:sched/hourly".to_owned()][..]));
    assert_eq!(env.next_of("hourly").await, Some(latest + TimeDelta::hours(1)));
    let mut conn = env.db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("hourly"), 10, None).await.unwrap();
    assert_eq!((fires.len(), fires[0].fired_by.as_str(), fires[0].result.as_str()), (1, "schedule", "success"));
    assert_eq!(fires[0].task_id, tasks[0].task_id);
}

#[tokio::test]
async fn a_slot_claimed_ahead_is_created_on_its_second_not_before() {
    let env = Env::new().await;
    env.hook("soon", &["0 0 0 1 1 *"], json!({})).await;
    // Due 300 ms from now, within the default 500 ms claim-ahead: this pass claims it, waits, then fires.
    let slot = DateTime::from_timestamp_millis((Utc::now() + TimeDelta::milliseconds(300)).timestamp_millis()).unwrap();
    env.set_next("soon", slot).await;
    let batch = env.scheduler(SchedulerOptions::default()).run_next().await.unwrap();
    assert_eq!(batch.map(|b| b.claimed), Some(1));
    let requests = env.fake.create_task_requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].received >= slot, "created at {:?}, before its slot {slot:?}", requests[0].received);
    assert_eq!(requests[0].task["slot"], hooks_core::time::to_json(slot));

    // With no claim-ahead, the same pass finds nothing due yet.
    env.set_next("soon", Utc::now() + TimeDelta::milliseconds(300)).await;
    let options = SchedulerOptions { claim_ahead: Duration::ZERO, ..SchedulerOptions::default() };
    assert_eq!(env.scheduler(options).run_next().await.unwrap(), None);
}

#[tokio::test]
async fn an_update_waiting_for_a_slot_claimed_ahead_moves_the_hook_past_that_slot() {
    let env = Env::new().await;
    env.hook("every-second", &["* * * * * *"], json!({})).await;
    // A whole second at least 600 ms away, claimed at once with a 2 s claim-ahead.
    let soon = Utc::now() + TimeDelta::milliseconds(1600);
    let slot = DateTime::from_timestamp(soon.timestamp(), 0).unwrap();
    env.set_next("every-second", slot).await;
    let options = SchedulerOptions { claim_ahead: Duration::from_secs(2), ..SchedulerOptions::default() };
    let scheduler = env.scheduler(options);
    let updating = async {
        // Starts before the slot and waits for the claim's lock: the new schedule must start after the slot that
        // batch fires, not at it again.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(Utc::now() < slot);
        env.reschedule("every-second", &["* * * * * *"]).await;
    };
    let (batch, ()) = tokio::join!(scheduler.run_next(), updating);
    assert_eq!(batch.unwrap().map(|b| b.claimed), Some(1));
    assert_eq!(env.fake.create_task_requests().len(), 1);
    let next = env.next_of("every-second").await.unwrap();
    assert!(next > slot, "the update put the hook back on the slot just fired ({next:?})");
}

#[tokio::test]
async fn nothing_fires_before_its_slot_and_unscheduled_hooks_never_fire() {
    let env = Env::new().await;
    env.hook("future", &["0 0 0 1 1 *"], json!({})).await;
    env.hook("never", &[], json!({})).await;
    assert_eq!(env.next_of("never").await, None);
    env.scheduler(SchedulerOptions::default()).run_until_idle().await.unwrap();
    assert!(env.fake.create_task_requests().is_empty());
}

#[tokio::test]
async fn catch_up_all_fires_every_missed_slot_in_the_window_oldest_first() {
    let env = Env::new().await;
    env.hook("minutely", &["0 * * * * *"], json!({})).await;
    let now = Utc::now();
    env.set_next("minutely", minute_floor(now) - TimeDelta::minutes(10)).await;
    // The window reaches back to 4m30s before the current minute: the slots at -4, -3, -2, -1 and 0 minutes. Its
    // edge sits 30 s away from any slot, so a slow test run can't move a slot across it.
    let window = TimeDelta::seconds(4 * 60 + 30) + (now - minute_floor(now));
    let options = SchedulerOptions { catch_up: CatchUp::All { window }, ..SchedulerOptions::default() };
    env.scheduler(options).run_until_idle().await.unwrap();
    let current = hooks_core::time::to_json(minute_floor(now));
    // A run that crosses into the next minute also fires that minute's slot; it is not what this test is about.
    let slots: Vec<String> = env
        .fake
        .created_tasks()
        .iter()
        .map(|t| t.task["slot"].as_str().unwrap().to_owned())
        .filter(|s| *s <= current)
        .collect();
    let expected: Vec<String> =
        (0..=4).rev().map(|m| hooks_core::time::to_json(minute_floor(now) - TimeDelta::minutes(m))).collect();
    assert_eq!(slots, expected);
}

#[tokio::test]
async fn a_5xx_keeps_the_slot_and_the_retry_uses_the_same_task_id() {
    let env = Env::new().await;
    env.hook("flaky", &[YEARLY], json!({})).await;
    let slot = minute_floor(Utc::now()) - TimeDelta::seconds(1);
    env.set_next("flaky", slot).await;
    env.fake.fail_create_task(1, 500, "InternalServerError");
    let scheduler = env.scheduler(SchedulerOptions::default());
    scheduler.run_until_idle().await.unwrap();
    assert_eq!(env.next_of("flaky").await, Some(slot), "the slot is not advanced");
    assert!(env.fake.created_tasks().is_empty());

    // The retry is due a second later.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    scheduler.run_until_idle().await.unwrap();
    let requests = env.fake.create_task_requests();
    assert_eq!(requests.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 200]);
    assert_eq!(requests[0].task_id, requests[1].task_id);
    assert_eq!(requests[0].task, requests[1].task);
    assert!(env.next_of("flaky").await.unwrap() > slot);
    let mut conn = env.db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("flaky"), 10, None).await.unwrap();
    assert_eq!((fires.len(), fires[0].result.as_str()), (1, "success"));
    assert!(env.fake.emails().is_empty());
}

#[tokio::test]
async fn a_slot_failing_transiently_past_its_next_slot_is_retried_not_recorded_nor_emailed() {
    // A per-second hook whose slot fails after the next ones are due (the queue's 5xx outlasted the second): the
    // slot is kept and retried under its taskId, with no error row and no email; once created, the catch-up policy
    // (latest) passes over the slots missed meanwhile, counting them.
    let env = Env::new().await;
    env.hook("busy", &["* * * * * *"], json!({})).await;
    let slot = Utc::now().with_nanosecond(0).unwrap() - TimeDelta::seconds(3);
    env.set_next("busy", slot).await;
    // The slot failed once already (its retry is due): it is retried itself, not passed over for a later one.
    let mut conn = env.db.pool.get().await.unwrap();
    diesel::sql_query("UPDATE hooks SET schedule_retry_at = now(), schedule_failures = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    env.fake.fail_create_task(1, 503, "ServiceUnavailable");
    let metrics = hooks_core::metrics::Metrics::new();
    let scheduler = env.scheduler(SchedulerOptions::default()).with_metrics(metrics.clone());
    scheduler.run_until_idle().await.unwrap();
    assert_eq!(env.next_of("busy").await, Some(slot), "the slot is kept");
    assert!(list_last_fires(&mut conn, &common::key("busy"), 10, None).await.unwrap().is_empty(), "no error row");

    // Its second failure waits 2 s.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    scheduler.run_until_idle().await.unwrap();
    let requests = env.fake.create_task_requests();
    assert_eq!((requests[0].status, requests[1].status), (503, 200));
    assert_eq!(requests[0].task_id, requests[1].task_id, "retried under the same taskId");
    assert_eq!(requests[1].task["slot"], hooks_core::time::to_json(slot));
    let fires = list_last_fires(&mut conn, &common::key("busy"), 10, None).await.unwrap();
    assert!(fires.iter().all(|f| f.result.as_str() == "success"), "{fires:?}");
    assert!(metrics.skipped_slots() >= 3, "the slots missed meanwhile are counted: {}", metrics.skipped_slots());
    assert!(env.fake.emails().is_empty(), "{:?}", env.fake.emails());
}

#[tokio::test]
async fn a_slot_failing_transiently_for_the_whole_retry_window_is_skipped_unrecorded() {
    let env = Env::new().await;
    env.hook("down", &[YEARLY], json!({})).await;
    let slot = minute_floor(Utc::now()) - TimeDelta::seconds(1);
    env.set_next("down", slot).await;
    env.fake.fail_create_task(1, 500, "InternalServerError");
    let metrics = hooks_core::metrics::Metrics::new();
    let options = SchedulerOptions { retry_window: TimeDelta::zero(), ..SchedulerOptions::default() };
    env.scheduler(options).with_metrics(metrics.clone()).run_until_idle().await.unwrap();
    assert!(env.next_of("down").await.unwrap() > slot, "the slot is given up");
    assert_eq!(metrics.skipped_slots(), 1);
    let mut conn = env.db.pool.get().await.unwrap();
    assert!(list_last_fires(&mut conn, &common::key("down"), 10, None).await.unwrap().is_empty());
    assert!(env.fake.emails().is_empty());
}

#[tokio::test]
async fn permanent_failures_email_the_owner_at_most_once_an_hour_counting_the_rest() {
    let env = Env::new().await;
    // Yearly: each slot set below is the only one due, and fires under a taskId of its own.
    env.hook("denied", &["0 0 0 1 1 *"], json!({})).await;
    let scheduler = env.scheduler(SchedulerOptions::default());
    let first = Utc::now().with_nanosecond(0).unwrap() - TimeDelta::seconds(10);
    for i in 0..3 {
        env.set_next("denied", first + TimeDelta::seconds(i)).await;
        env.fake.fail_create_task(1, 403, "InsufficientScopes");
        scheduler.run_until_idle().await.unwrap();
    }
    let mut conn = env.db.pool.get().await.unwrap();
    assert_eq!(
        list_last_fires(&mut conn, &common::key("denied"), 10, None).await.unwrap().len(),
        3,
        "each is recorded"
    );
    assert_eq!(env.fake.emails().len(), 1, "one email within the hour");

    // An hour later, the next failure's email counts the two not told.
    diesel::sql_query("UPDATE hooks SET failure_emailed_at = now() - interval '61 minutes'")
        .execute(&mut conn)
        .await
        .unwrap();
    env.set_next("denied", first + TimeDelta::seconds(3)).await;
    env.fake.fail_create_task(1, 403, "InsufficientScopes");
    scheduler.run_until_idle().await.unwrap();
    let emails = env.fake.emails();
    assert_eq!(emails.len(), 2);
    let content = emails[1]["content"].as_str().unwrap();
    assert!(content.contains("It also failed 2 times since the last email"), "{content}");
}

#[tokio::test]
async fn a_4xx_is_recorded_the_slot_advances_and_the_owner_is_emailed_once() {
    let env = Env::new().await;
    env.hook("denied", &[YEARLY], json!({})).await;
    env.hook(
        "quiet",
        &[YEARLY],
        json!({"metadata": {"name": "n", "description": "d", "owner": "q@example.com", "emailOnError": false}}),
    )
    .await;
    let slot = minute_floor(Utc::now()) - TimeDelta::seconds(1);
    env.set_next("denied", slot).await;
    env.set_next("quiet", slot).await;
    env.fake.fail_create_task(2, 403, "InsufficientScopes");
    let scheduler = env.scheduler(SchedulerOptions::default());
    scheduler.run_until_idle().await.unwrap();
    scheduler.run_until_idle().await.unwrap();

    assert!(env.next_of("denied").await.unwrap() > slot);
    assert!(env.next_of("quiet").await.unwrap() > slot);
    let emails = env.fake.emails();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["address"], "owner@example.com");
    assert!(emails[0]["subject"].as_str().unwrap().contains("sched/denied"));
    assert!(emails[0]["content"].as_str().unwrap().contains("InsufficientScopes"));
    let mut conn = env.db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("denied"), 10, None).await.unwrap();
    assert_eq!(fires[0].result.as_str(), "error");
}

#[tokio::test]
async fn two_schedulers_fire_every_second_slot_exactly_once() {
    let env = Env::new().await;
    for i in 0..5 {
        env.hook(&format!("every-second-{i}"), &["* * * * * *"], json!({})).await;
    }
    let (a, b) =
        (Arc::new(env.scheduler(SchedulerOptions::default())), Arc::new(env.scheduler(SchedulerOptions::default())));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let run = |s: Arc<Scheduler>, mut stop: tokio::sync::watch::Receiver<bool>| {
        tokio::spawn(async move {
            let wake = Arc::new(tokio::sync::Notify::new());
            s.run(wake, async move {
                let _ = stop.changed().await;
            })
            .await;
        })
    };
    let started = Utc::now();
    let handles = [run(a, stop_rx.clone()), run(b, stop_rx)];
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop_tx.send(true).unwrap();
    for h in handles {
        h.await.unwrap();
    }

    let requests = env.fake.create_task_requests();
    let mut per_task: HashMap<String, usize> = HashMap::new();
    let mut per_hook: HashMap<String, Vec<String>> = HashMap::new();
    for r in &requests {
        *per_task.entry(r.task_id.clone()).or_default() += 1;
        per_hook
            .entry(r.authorized_scopes.clone().unwrap()[0].clone())
            .or_default()
            .push(r.task["slot"].as_str().unwrap().to_owned());
    }
    assert!(per_task.values().all(|&n| n == 1), "a task was created twice: {per_task:?}");
    assert_eq!(per_hook.len(), 5);
    for (hook, mut slots) in per_hook {
        slots.sort();
        let before = slots.len();
        slots.dedup();
        assert_eq!(before, slots.len(), "{hook} fired a slot twice");
        // Created just after `started`, the hooks' first slot is the next second; 10 s give 9 or 10 slots.
        assert!((9..=11).contains(&slots.len()), "{hook}: {} slots from {started}", slots.len());
        let times: Vec<DateTime<Utc>> = slots.iter().map(|s| s.parse().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[1] - w[0] == TimeDelta::seconds(1)), "{hook} skipped a slot: {slots:?}");
    }
}

#[tokio::test]
async fn a_removed_hook_never_fires_again() {
    let env = Env::new().await;
    env.hook("removed", &["0 0 * * * *"], json!({})).await;
    env.set_next("removed", Utc::now() - TimeDelta::seconds(1)).await;
    let mut conn = env.db.pool.get().await.unwrap();
    hooks_core::storage::delete_hook(&mut conn, &common::key("removed"), "test").await.unwrap();
    env.scheduler(SchedulerOptions::default()).run_until_idle().await.unwrap();
    assert!(env.fake.create_task_requests().is_empty());
}

#[tokio::test]
async fn last_day_nth_weekday_and_both_sundays_fire_on_their_days() {
    let env = Env::new().await;
    let cases = [
        ("last-day", "0 0 0 L * *", "2026-10-31T00:00:00Z", "2026-11-30T00:00:00Z"),
        ("second-monday", "0 0 0 * * 1#2", "2026-11-09T00:00:00Z", "2026-12-14T00:00:00Z"),
        ("last-friday", "0 0 0 * * 5L", "2026-10-30T00:00:00Z", "2026-11-27T00:00:00Z"),
        ("sunday-0", "0 30 2 * * 0", "2026-11-22T02:30:00Z", "2026-11-29T02:30:00Z"),
        ("sunday-7", "0 0 0 * * 7", "2026-11-22T00:00:00Z", "2026-11-29T00:00:00Z"),
    ];
    for (id, pattern, slot, next) in cases {
        env.hook(id, &[pattern], json!({})).await;
        let slot: DateTime<Utc> = slot.parse().unwrap();
        // Pretend the scheduler was down since `slot`: catch-up "all" fires exactly that slot first.
        env.set_next(id, slot).await;
        let options = SchedulerOptions {
            catch_up: CatchUp::All { window: TimeDelta::days(3650) },
            ..SchedulerOptions::default()
        };
        // Fire only this slot: with catch-up "all" the oldest due slot goes first, so one batch fires it.
        env.scheduler(SchedulerOptions { batch_size: 1, ..options }).run_next().await.unwrap();
        let task = env
            .fake
            .created_tasks()
            .into_iter()
            .find(|t| t.authorized_scopes.as_ref().unwrap()[0].ends_with(id))
            .unwrap();
        assert_eq!(task.task["slot"], hooks_core::time::to_json(slot), "{id}");
        assert_eq!(env.next_of(id).await, Some(next.parse().unwrap()), "{id}");
        // Park it far in the future so later iterations don't fire it again.
        env.set_next(id, "2999-01-01T00:00:00Z".parse().unwrap()).await;
    }
}

#[tokio::test]
async fn a_new_hook_wakes_an_idle_scheduler_at_once() {
    let env = Env::new().await;
    let running = env.run(SchedulerOptions::default());
    // With no hooks at all the scheduler sleeps for a minute unless a NOTIFY wakes it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.hook("new", &["* * * * * *"], json!({})).await;
    let tasks = env.fake.wait_for_tasks(1, Duration::from_secs(5)).await;
    running.stop().await;
    assert!(!tasks.is_empty(), "the new hook did not fire within 5 s");
}

#[tokio::test]
async fn an_updated_schedule_takes_effect_at_once() {
    let env = Env::new().await;
    env.hook("yearly", &["0 0 0 1 1 *"], json!({})).await;
    let running = env.run(SchedulerOptions::default());
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.reschedule("yearly", &["* * * * * *"]).await;
    let next = env.next_of("yearly").await.unwrap();
    assert!(next - Utc::now() <= TimeDelta::seconds(1), "next slot {next} was not recomputed");
    let tasks = env.fake.wait_for_tasks(2, Duration::from_secs(5)).await;
    assert!(tasks.len() >= 2, "the every-second schedule did not fire twice within 5 s");

    // And back: no more fires once the update commits.
    env.reschedule("yearly", &["0 0 0 1 1 *"]).await;
    let after_update = env.fake.created_tasks().len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    running.stop().await;
    assert!(env.fake.created_tasks().len() <= after_update + 1, "kept firing on the old schedule");
    assert!(env.next_of("yearly").await.unwrap() > Utc::now() + TimeDelta::days(1));
}
