//! Hostile scheduled hooks: templates that pass createHook but go past a render bound at every slot (memory, a
//! panic inside json-e, output size, CPU time) sit next to a good per-second hook. The good hook fires every slot;
//! each hostile slot is recorded as an `error` last fire naming the bound, emailed to the owner, and the hostile
//! hook moves on to its next slot; and so it goes on after a restart, of a scheduler in this process and of the
//! real `hooks-scheduler` binary.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::collections::HashSet;
use std::process::{Child, Stdio};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::Env;
use hooks_core::storage::{LastFire, list_last_fires};
use scheduler::SchedulerOptions;
use serde_json::{Value, json};
use test_support::eventually;

const EVERY_SECOND: &[&str] = &["* * * * * *"];
const GOOD: &str = "good";
/// Long enough for several slots on a loaded machine; the polls end as soon as enough have fired.
const WAIT: Duration = Duration::from_secs(15);

/// A scheduled hook whose template goes past one bound at every slot.
struct Hostile {
    id: &'static str,
    /// The task template's `payload` field.
    task_payload: Value,
    /// What its last fires say (for a panic: how they start; the panic's text follows).
    says: &'static str,
}

fn hostiles() -> [Hostile; 4] {
    [
        Hostile {
            id: "hostile-memory",
            task_payload: json!({"list": {"$eval": "range(0, 100000000)"}}),
            says: "render exceeded its 64 MiB memory limit",
        },
        Hostile {
            id: "hostile-panic",
            task_payload: json!({"when": {"$fromNow": "100000000000 years"}}),
            says: "JSON-e error: the renderer failed on this template: ",
        },
        Hostile {
            id: "hostile-output",
            // About 2 MiB of JSON, well within the memory limit.
            task_payload: json!({"list": {"$eval": "range(0, 300000)"}}),
            says: "render exceeded its 1 MiB output limit (the rendered task is larger)",
        },
        Hostile {
            id: "hostile-cpu",
            // Nested as deep as createHook allows, and unterminated: the parser backtracks through every level.
            task_payload: json!({"slow": {"$eval": "a[1+".repeat(hooks_core::MAX_EXPRESSION_NESTING)}}),
            says: "render exceeded its 200 ms CPU time limit",
        },
    ]
}

impl Hostile {
    fn says(&self, text: &str) -> bool {
        if self.says.ends_with(": ") { text.starts_with(self.says) } else { text == self.says }
    }
}

/// The good per-second hook and the hostile ones, all due from the next second.
async fn hooks_side_by_side(env: &Env) {
    for hostile in hostiles() {
        let extra = json!({
            "metadata": {"name": "n", "description": "d", "owner": "owner@example.com", "emailOnError": true},
            "task": {"provisionerId": "p", "workerType": "w", "payload": hostile.task_payload},
        });
        env.hook(hostile.id, EVERY_SECOND, extra).await;
    }
    env.hook(GOOD, EVERY_SECOND, json!({})).await;
}

/// The slots the good hook created tasks for, in order.
fn good_slots(env: &Env) -> Vec<DateTime<Utc>> {
    let role = format!("assume:hook-id:sched/{GOOD}");
    let mut slots: Vec<DateTime<Utc>> = env
        .fake
        .created_tasks()
        .iter()
        .filter(|t| t.authorized_scopes.as_ref().is_some_and(|s| s[0] == role))
        .map(|t| t.task["slot"].as_str().unwrap().parse().unwrap())
        .collect();
    slots.sort_unstable();
    slots
}

fn assert_every_slot(slots: &[DateTime<Utc>]) {
    assert!(
        slots.windows(2).all(|w| w[1] - w[0] == TimeDelta::seconds(1)),
        "the good hook skipped or repeated a slot: {slots:?}"
    );
}

async fn fires_of(env: &Env, id: &str) -> Vec<LastFire> {
    let mut conn = env.db.pool.get().await.unwrap();
    list_last_fires(&mut conn, &common::key(id), 1000, None).await.unwrap()
}

/// Whether every hostile hook has recorded at least `n` fires.
async fn hostile_fires_at_least(env: &Env, n: usize) -> bool {
    for hostile in hostiles() {
        if fires_of(env, hostile.id).await.len() < n {
            return false;
        }
    }
    true
}

/// Each hostile hook's fires are errors naming its bound, one per slot (distinct task ids: the slot moved on
/// instead of being retried), and its next slot lies after them.
async fn assert_hostile_slots_failed_and_moved_on(env: &Env) {
    assert!(env.fake.created_tasks().iter().all(|t| !t.authorized_scopes.as_ref().unwrap()[0].contains("hostile")));
    for hostile in hostiles() {
        let fires = fires_of(env, hostile.id).await;
        for fire in &fires {
            assert_eq!((fire.fired_by.as_str(), fire.result.as_str()), ("schedule", "error"), "{}", hostile.id);
            assert!(hostile.says(&fire.error), "{}: {:?}", hostile.id, fire.error);
        }
        let task_ids: HashSet<&str> = fires.iter().map(|f| f.task_id.as_str()).collect();
        assert_eq!(task_ids.len(), fires.len(), "{}: a slot was fired twice", hostile.id);
        let latest = fires.iter().map(|f| f.task_create_time).max().unwrap();
        assert!(env.next_of(hostile.id).await.unwrap() > latest - TimeDelta::seconds(1), "{} is stuck", hostile.id);
        let emailed = env
            .fake
            .emails()
            .iter()
            .filter(|e| e["subject"].as_str().unwrap().contains(&format!("sched/{}", hostile.id)))
            .all(|e| e["content"].as_str().unwrap().contains(hostile.says));
        assert!(emailed, "{}: {:?}", hostile.id, env.fake.emails());
    }
    let emailed: HashSet<String> =
        env.fake.emails().iter().map(|e| e["subject"].as_str().unwrap().to_owned()).collect();
    assert_eq!(emailed.len(), hostiles().len(), "each hostile hook's owner is emailed: {emailed:?}");
}

#[tokio::test]
async fn a_good_hook_fires_every_slot_beside_hostile_ones_and_goes_on_after_a_restart() {
    let env = Env::new().await;
    hooks_side_by_side(&env).await;

    let running = env.run(SchedulerOptions::default());
    let fired = eventually(WAIT, || async { good_slots(&env).len() >= 4 && hostile_fires_at_least(&env, 3).await });
    assert!(fired.await, "good slots {:?}", good_slots(&env));
    running.stop().await;
    let before = good_slots(&env);
    assert_every_slot(&before);
    assert_hostile_slots_failed_and_moved_on(&env).await;
    let hostile_before = fires_of(&env, "hostile-cpu").await.len();

    // A new scheduler finds the same hooks, hostile ones included, and carries on.
    let running = env.run(SchedulerOptions::default());
    let fired = eventually(WAIT, || async {
        good_slots(&env).len() >= before.len() + 3 && hostile_fires_at_least(&env, hostile_before + 2).await
    });
    assert!(fired.await, "after the restart: good slots {:?}", good_slots(&env));
    running.stop().await;
    let after = good_slots(&env);
    assert_every_slot(&after[before.len()..]);
    assert!(after[before.len()] > *before.last().unwrap());
    assert_hostile_slots_failed_and_moved_on(&env).await;
}

fn spawn_scheduler(env: &Env) -> Child {
    env.scheduler_command().stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("starting hooks-scheduler")
}

fn assert_running(child: &mut Child) {
    assert!(child.try_wait().unwrap().is_none(), "hooks-scheduler exited: {:?}", child.try_wait());
}

#[tokio::test]
async fn the_scheduler_process_keeps_firing_a_good_hook_beside_hostile_ones_across_a_kill_and_restart() {
    let env = Env::new().await;
    hooks_side_by_side(&env).await;

    let mut first = spawn_scheduler(&env);
    let fired = eventually(WAIT, || async { good_slots(&env).len() >= 3 && hostile_fires_at_least(&env, 2).await });
    assert!(fired.await, "good slots {:?}", good_slots(&env));
    assert_running(&mut first);
    first.kill().unwrap();
    first.wait().unwrap();
    let before = good_slots(&env);
    assert_every_slot(&before);

    let mut second = spawn_scheduler(&env);
    let hostile_before = fires_of(&env, "hostile-memory").await.len();
    let fired = eventually(WAIT, || async {
        good_slots(&env).len() >= before.len() + 3 && hostile_fires_at_least(&env, hostile_before + 2).await
    });
    assert!(fired.await, "after the restart: good slots {:?}", good_slots(&env));
    assert_running(&mut second);
    second.kill().unwrap();
    second.wait().unwrap();
    let after = good_slots(&env);
    assert_every_slot(&after[before.len()..]);
    assert_hostile_slots_failed_and_moved_on(&env).await;
}
