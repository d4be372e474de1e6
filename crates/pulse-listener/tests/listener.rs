//! The Pulse listener against the real RabbitMQ and Postgres, with a local server playing the queue.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Env, GROUP, Running, eventually};
use hooks_core::metrics::Metrics;
use hooks_core::pulse::Scope;
use hooks_core::sink::{CreateTaskError, TaskSink};
use hooks_core::storage::{list_last_fires, tasks_of_hook};
use hooks_core::{HookGroupId, HookId, TaskId};
use lapin::BasicProperties;
use pulse_listener::Listener;
use serde_json::{Map, Value, json};

const SECOND: Duration = Duration::from_secs(1);

fn binding(exchange: &str, pattern: &str) -> Value {
    json!({"exchange": exchange, "routingKeyPattern": pattern})
}

#[tokio::test]
async fn a_created_hook_is_bound_within_a_second_and_fires_with_the_message_context() {
    let env = Env::new().await;
    let exchange = env.exchange("builds").await;
    let running = env.start();
    running.until(10 * SECOND, |s| s.reconciles >= 1).await;

    env.create_hook("on-build", json!([binding(&exchange, "build.*")]), json!({})).await;
    let committed = Instant::now();
    let body = json!({"build": 7});
    assert!(env.routed_within(SECOND, &exchange, "build.linux", &body).await, "not bound within 1 s");
    assert!(committed.elapsed() <= SECOND);

    let tasks = env.wait_for_tasks(1).await;
    assert_eq!(tasks.len(), 1);
    let extra = &tasks[0].task["extra"];
    assert_eq!(extra["firedBy"], "pulseMessage");
    assert_eq!(extra["exchange"], exchange.as_str());
    assert_eq!(extra["routingKey"], "build.linux");
    assert_eq!(extra["message"], body);
    assert_eq!(extra["taskId"], tasks[0].task_id.as_str());
    assert_eq!(tasks[0].authorized_scopes.as_deref(), Some(&[format!("assume:hook-id:{GROUP}/on-build")][..]));

    // Acknowledged only after the fire was recorded.
    let stats = running.until(5 * SECOND, |s| s.acked == 1).await;
    assert_eq!((stats.fired, stats.acked), (1, 1));
    let mut conn = env.db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("on-build"), 10, None).await.unwrap();
    assert_eq!(fires.len(), 1);
    assert_eq!((fires[0].fired_by.as_str(), fires[0].result.as_str()), ("pulseMessage", "success"));
    assert_eq!(fires[0].task_id, tasks[0].task_id);
    assert_eq!(env.queue_depth(&env.queue("on-build")).await, Some(0));
    running.stop().await;
}

#[tokio::test]
async fn update_hook_binds_new_bindings_and_unbinds_removed_ones_within_a_second() {
    let env = Env::new().await;
    let exchange = env.exchange("events").await;
    env.create_hook("moving", json!([binding(&exchange, "old")]), json!({})).await;
    let running = env.start();
    running.consuming(1).await;
    assert!(env.publish(&exchange, "old", &json!({"phase": "before"})).await);

    env.update_hook("moving", json!([binding(&exchange, "new")]), json!({})).await;
    let committed = Instant::now();
    assert!(env.routed_within(SECOND, &exchange, "new", &json!({"phase": "after"})).await, "not bound in 1 s");
    assert!(env.unrouted_within(SECOND, &exchange, "old", &json!({"phase": "after"})).await, "not unbound in 1 s");
    assert!(committed.elapsed() <= 2 * SECOND);

    // The message routed before the update fires; so may probes on the old binding routed before it was unbound.
    let required = [("new", json!({"phase": "after"})), ("old", json!({"phase": "before"}))];
    let allowed = [required[0].clone(), required[1].clone(), ("old", json!({"phase": "after"}))];
    let fired = || -> BTreeSet<(String, String)> {
        env.fake
            .created_tasks()
            .iter()
            .map(|t| {
                (t.task["extra"]["routingKey"].as_str().unwrap().to_owned(), t.task["extra"]["message"].to_string())
            })
            .collect()
    };
    let pair = |(k, m): &(&str, Value)| (k.to_string(), m.to_string());
    let all_fired = eventually(10 * SECOND, || async { required.iter().all(|r| fired().contains(&pair(r))) }).await;
    assert!(all_fired, "fired: {:?}", fired());
    assert!(fired().iter().all(|f| allowed.iter().any(|a| &pair(a) == f)), "fired: {:?}", fired());
    running.stop().await;
}

#[tokio::test]
async fn a_hook_changed_message_reconciles_the_hook_it_names() {
    let env = Env::new().await;
    let exchange = env.exchange("announced").await;
    env.create_hook("announced", json!([binding(&exchange, "old")]), json!({})).await;
    let running = env.start();
    running.consuming(1).await;
    // Change the hook without the NOTIFY, as if it were missed: only the hook-updated message announces it.
    let mut conn = env.db.pool.get().await.unwrap();
    diesel_async::RunQueryDsl::execute(diesel::sql_query("ALTER TABLE hooks DISABLE TRIGGER hooks_changed"), &mut conn)
        .await
        .unwrap();
    env.update_hook("announced", json!([binding(&exchange, "new")]), json!({})).await;
    assert!(!env.publish(&exchange, "new", &json!({})).await, "nothing announced the change yet");

    let updated = env.names.hook_changed_exchanges()[1].clone();
    assert!(env.publish(&updated, "_", &json!({"hookGroupId": GROUP, "hookId": "announced"})).await);
    assert!(env.routed_within(SECOND, &exchange, "new", &json!({"n": 1})).await, "not bound within 1 s");
    assert!(env.unrouted_within(SECOND, &exchange, "old", &json!({"n": 2})).await, "not unbound within 1 s");
    running.stop().await;
}

#[tokio::test]
async fn routing_key_patterns_with_star_and_hash_route_as_topics_do() {
    let env = Env::new().await;
    let exchange = env.exchange("topics").await;
    env.create_hook("patterns", json!([binding(&exchange, "build.*.done"), binding(&exchange, "deploy.#")]), json!({}))
        .await;
    let running = env.start();
    running.consuming(1).await;

    let cases = [
        ("build.linux.done", true),
        ("build.linux.arm.done", false),
        ("build.done", false),
        ("deploy", true),
        ("deploy.prod.eu", true),
        ("other.deploy", false),
    ];
    for (key, expected) in cases {
        assert_eq!(env.publish(&exchange, key, &json!({"key": key})).await, expected, "{key}");
    }
    env.wait_for_tasks(3).await;
    let fired: BTreeSet<String> =
        env.fake.created_tasks().iter().map(|t| t.task["extra"]["routingKey"].as_str().unwrap().to_owned()).collect();
    assert_eq!(fired, BTreeSet::from(["build.linux.done".into(), "deploy".into(), "deploy.prod.eu".into()]));
    running.stop().await;
}

#[tokio::test]
async fn a_cc_route_matching_a_binding_fires_the_hook() {
    let env = Env::new().await;
    let exchange = env.exchange("tasks").await;
    env.create_hook("routed", json!([binding(&exchange, "route.index.#")]), json!({})).await;
    let running = env.start();
    running.consuming(1).await;
    let mut headers = lapin::types::FieldTable::default();
    let cc = lapin::types::FieldArray::from(vec![lapin::types::AMQPValue::LongString("route.index.project.x".into())]);
    headers.insert("CC".into(), lapin::types::AMQPValue::FieldArray(cc));
    let properties = BasicProperties::default().with_headers(headers);
    assert!(env.publish_raw(&exchange, "primary.task-id", b"{\"n\":1}".to_vec(), properties).await);
    let tasks = env.wait_for_tasks(1).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].task["extra"]["routingKey"], "primary.task-id");
    running.stop().await;
}

#[tokio::test]
async fn message_outcomes_are_counted_in_the_metrics_and_the_broker_shows_in_health() {
    let env = Env::new().await;
    let exchange = env.exchange("outcomes").await;
    let schema = json!({"type": "object", "required": ["action"]});
    env.create_hook("fires", json!([binding(&exchange, "fire")]), json!({"triggerSchema": schema})).await;
    env.create_hook("declines", json!([binding(&exchange, "decline")]), json!({"task": {"$if": "false", "then": {}}}))
        .await;
    let metrics = Metrics::new();
    let listener = Listener::with_metrics(
        env.db.pool.clone(),
        env.keyring.clone(),
        test_support::renderer(),
        env.queue_sink(0),
        env.options(),
        metrics.clone(),
    );
    let broker = listener.broker_health();
    assert!(!broker.connected(), "not connected before it runs");
    let running = Running::spawn(listener);
    running.consuming(2).await;
    assert!(broker.connected());

    assert!(env.publish(&exchange, "fire", &json!({"action": "go"})).await);
    assert!(env.publish(&exchange, "fire", &json!({"no": "action"})).await);
    assert!(env.publish(&exchange, "decline", &json!({})).await);
    running.until(5 * SECOND, |s| s.acked == 3).await;

    let text = metrics.render();
    for (outcome, n) in [("fired", 1), ("invalid", 1), ("declined", 1)] {
        assert!(text.contains(&format!(r#"hooks_pulse_messages_total{{outcome="{outcome}"}} {n}"#)), "{text}");
    }
    assert!(!text.contains(r#"outcome="failed""#), "{text}");
    assert!(text.contains(r#"hooks_fires_total{fired_by="pulseMessage",result="success"} 1"#), "{text}");
    for line in ["hooks_pulse_deliveries_total 3", "hooks_pulse_acks_total 3", "hooks_pulse_consumed_queues 2"] {
        assert!(text.contains(line), "{line} in {text}");
    }
    running.stop().await;
}

#[tokio::test]
async fn a_payload_the_trigger_schema_refuses_is_acknowledged_counted_and_not_fired() {
    let env = Env::new().await;
    let exchange = env.exchange("prs").await;
    let schema = json!({
        "type": "object",
        "properties": {"action": {"enum": ["opened"]}},
        "required": ["action"],
    });
    env.create_hook("prs", json!([binding(&exchange, "#")]), json!({"triggerSchema": schema})).await;
    let running = env.start();
    running.consuming(1).await;

    assert!(env.publish(&exchange, "pr", &json!({"action": "closed"})).await);
    assert!(env.publish(&exchange, "pr", &json!({"action": "opened"})).await);
    let stats = running.until(5 * SECOND, |s| s.schema_invalid == 1 && s.fired == 1 && s.acked == 2).await;
    assert_eq!((stats.schema_invalid, stats.fired, stats.acked), (1, 1, 2));
    assert_eq!(env.fired_messages(), vec![json!({"action": "opened"})]);
    assert_eq!(env.queue_depth(&env.queue("prs")).await, Some(0));
    running.stop().await;
}

#[tokio::test]
async fn remove_hook_deletes_its_queue_within_a_second() {
    let env = Env::new().await;
    let exchange = env.exchange("gone").await;
    env.create_hook("doomed", json!([binding(&exchange, "#")]), json!({})).await;
    let running = env.start();
    running.consuming(1).await;
    let queue = env.queue("doomed");
    assert_eq!(env.queue_depth(&queue).await, Some(0));

    env.delete_hook("doomed").await;
    assert!(eventually(SECOND, || async { env.queue_depth(&queue).await.is_none() }).await, "queue still there");
    running.until(SECOND, |s| s.consuming == 0).await;
    assert!(!env.publish(&exchange, "x", &json!({})).await);
    running.stop().await;
}

#[tokio::test]
async fn a_queue_deleted_behind_the_listeners_back_comes_back_with_all_its_bindings() {
    let env = Env::new().await;
    let a = env.exchange("a").await;
    let b = env.exchange("b").await;
    env.create_hook("resilient", json!([binding(&a, "one"), binding(&b, "two.#")]), json!({})).await;
    let running = env.start();
    running.consuming(1).await;

    env.delete_queue(&env.queue("resilient")).await;
    eprintln!("DEBUG after delete {:?}", env.queue_counts(&env.queue("resilient")).await);
    tokio::time::sleep(SECOND).await;
    eprintln!("DEBUG after 1s {:?} {:?}", env.queue_counts(&env.queue("resilient")).await, running.stats());
    let out = std::process::Command::new("rabbitmqctl")
        .args(["list_bindings", "source_name", "destination_name", "routing_key"])
        .output()
        .unwrap();
    eprintln!(
        "DEBUG {}",
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(&env.namespace))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Upstream (issue #8040) would re-create the queue bare; here both bindings come back.
    assert!(env.routed_within(5 * SECOND, &a, "one", &json!({"via": "a"})).await, "binding to a not restored");
    eprintln!("DEBUG counts {:?} stats {:?}", env.queue_counts(&env.queue("resilient")).await, running.stats());
    assert!(env.routed_within(5 * SECOND, &b, "two.x", &json!({"via": "b"})).await, "binding to b not restored");
    env.wait_for_tasks(2).await;
    let fired: BTreeSet<String> = env.fired_messages().iter().map(|m| m["via"].to_string()).collect();
    assert_eq!(fired, BTreeSet::from(["\"a\"".to_owned(), "\"b\"".to_owned()]));
    running.stop().await;
}

#[tokio::test]
async fn a_binding_to_an_exchange_that_does_not_exist_yet_is_made_once_it_does() {
    let env = Env::new().await;
    let later = env.exchange_name("later");
    env.create_hook("patient", json!([binding(&later, "#")]), json!({})).await;
    let running = env.start();
    // The queue exists and is consumed from; only the binding waits for its exchange.
    running.consuming(1).await;
    running.until(5 * SECOND, |s| s.reconciles >= 2).await;

    let exchange = env.exchange("later").await;
    assert_eq!(exchange, later);
    assert!(env.routed_within(5 * SECOND, &exchange, "x", &json!({"late": true})).await, "never bound");
    assert_eq!(env.wait_for_tasks(1).await.len(), 1);
    running.stop().await;
}

#[tokio::test]
async fn byte_identical_messages_published_twice_fire_twice() {
    let env = Env::new().await;
    let exchange = env.exchange("ticks").await;
    env.create_hook("ticker", json!([binding(&exchange, "tick")]), json!({})).await;
    let running = env.start();
    running.consuming(1).await;
    assert!(env.publish(&exchange, "tick", &json!({})).await);
    assert!(env.publish(&exchange, "tick", &json!({})).await);
    let tasks = env.wait_for_tasks(2).await;
    assert_eq!(tasks.len(), 2);
    assert_ne!(tasks[0].task_id, tasks[1].task_id);
    running.stop().await;
}

#[tokio::test]
async fn a_5xx_from_the_queue_is_retried_and_the_message_fires_once() {
    let env = Env::new().await;
    let exchange = env.exchange("flaky").await;
    env.create_hook("flaky", json!([binding(&exchange, "#")]), json!({})).await;
    env.fake.fail_create_task(3, 500, "InternalServerError");
    let running = env.start();
    running.consuming(1).await;
    assert!(env.publish(&exchange, "x", &json!({"n": 1})).await);

    let stats = running.until(10 * SECOND, |s| s.acked == 1).await;
    assert_eq!((stats.fired, stats.retries, stats.dead_lettered), (1, 3, 0));
    let requests = env.fake.create_task_requests();
    assert_eq!(requests.len(), 4);
    assert!(requests.iter().all(|r| r.task_id == requests[0].task_id), "every retry uses the same taskId");
    assert!(requests.iter().all(|r| r.task == requests[0].task), "every retry renders the identical task");
    assert_eq!(env.fake.created_tasks().len(), 1);
    let mut conn = env.db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("flaky"), 10, None).await.unwrap();
    assert_eq!(fires.len(), 1);
    assert_eq!(fires[0].result.as_str(), "success");
    running.stop().await;
}

#[tokio::test]
async fn a_message_that_keeps_failing_ends_in_the_dead_letter_queue() {
    let env = Env::new().await;
    let exchange = env.exchange("broken").await;
    env.create_hook("broken", json!([binding(&exchange, "#")]), json!({})).await;
    env.fake.fail_create_task(100, 503, "ServiceUnavailable");
    let mut options = env.options();
    options.fire_attempts = 3;
    let running = env.start_with(options, env.queue_sink(0));
    running.consuming(1).await;
    assert!(env.publish(&exchange, "x", &json!({"n": 1})).await);

    let stats = running.until(10 * SECOND, |s| s.dead_lettered == 1).await;
    assert_eq!((stats.dead_lettered, stats.fired, stats.retries), (1, 0, 2));
    assert_eq!(env.fake.create_task_requests().len(), 3);
    let dead_letters = env.names.dead_letter_queue();
    assert!(eventually(5 * SECOND, || async { env.queue_depth(&dead_letters).await == Some(1) }).await);
    assert_eq!(env.queue_depth(&env.queue("broken")).await, Some(0));
    let mut conn = env.db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("broken"), 10, None).await.unwrap();
    assert_eq!((fires.len(), fires[0].result.as_str()), (1, "error"));
    running.stop().await;
}

#[tokio::test]
async fn a_body_that_is_not_json_goes_to_the_dead_letter_queue() {
    let env = Env::new().await;
    let exchange = env.exchange("garbage").await;
    env.create_hook("strict", json!([binding(&exchange, "#")]), json!({})).await;
    let running = env.start();
    running.consuming(1).await;
    assert!(env.publish_raw(&exchange, "x", b"not json {".to_vec(), BasicProperties::default()).await);
    let stats = running.until(5 * SECOND, |s| s.dead_lettered == 1).await;
    assert_eq!(stats.dead_lettered, 1);
    let dead_letters = env.names.dead_letter_queue();
    assert!(eventually(5 * SECOND, || async { env.queue_depth(&dead_letters).await == Some(1) }).await);
    assert!(env.fake.create_task_requests().is_empty());
    running.stop().await;
}

#[tokio::test]
async fn an_overflowing_queue_moves_its_oldest_messages_to_the_dead_letter_queue_and_says_so() {
    let env = Env::new().await;
    let exchange = env.exchange("burst").await;
    env.create_hook("small", json!([binding(&exchange, "#")]), json!({})).await;
    let mut options = env.options();
    options.queue.max_length = 5;
    // Declare the queue, then stop consuming so that messages pile up.
    let running = env.start_with(options.clone(), env.queue_sink(0));
    running.consuming(1).await;
    running.stop().await;

    for n in 0..8 {
        assert!(env.publish(&exchange, "x", &json!({"n": n})).await);
    }
    let dead_letters = env.names.dead_letter_queue();
    assert!(eventually(5 * SECOND, || async { env.queue_depth(&dead_letters).await == Some(3) }).await);

    let running = env.start_with(options, env.queue_sink(0));
    env.wait_for_tasks(5).await;
    let fired: BTreeSet<i64> = env.fired_messages().iter().map(|m| m["n"].as_i64().unwrap()).collect();
    assert_eq!(fired, (3..8).collect());
    let stats = running.until(5 * SECOND, |s| s.dead_letter_depth == 3).await;
    assert_eq!(stats.dead_letter_depth, 3, "the dead letters are counted");
    running.stop().await;
}

#[tokio::test]
async fn the_embedded_sink_stores_the_fired_task() {
    let env = Env::new().await;
    let exchange = env.exchange("local").await;
    env.create_hook("local", json!([binding(&exchange, "#")]), json!({})).await;
    let running = env.start_with(env.options(), env.embedded_sink());
    running.consuming(1).await;
    assert!(env.publish(&exchange, "k", &json!({"n": 1})).await);
    running.until(5 * SECOND, |s| s.acked == 1).await;
    let mut conn = env.db.pool.get().await.unwrap();
    let tasks = tasks_of_hook(&mut conn, &common::key("local")).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].definition["extra"]["message"], json!({"n": 1}));
    assert_eq!(tasks[0].definition["extra"]["routingKey"], "k");
    running.stop().await;
}

/// Creates the task, then hangs as a process would that dies before recording and acknowledging.
struct DiesAfterCreating {
    inner: Arc<dyn TaskSink>,
    created: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl TaskSink for DiesAfterCreating {
    async fn create_task(
        &self,
        hook_group_id: &HookGroupId,
        hook_id: &HookId,
        task_id: &TaskId,
        task: &Map<String, Value>,
    ) -> Result<(), CreateTaskError> {
        self.inner.create_task(hook_group_id, hook_id, task_id, task).await?;
        self.created.notify_one();
        std::future::pending().await
    }

    async fn task_state(
        &self,
        task_id: &TaskId,
    ) -> Result<Option<hooks_core::sink::TaskState>, hooks_core::sink::TaskLookupError> {
        self.inner.task_state(task_id).await
    }

    fn name(&self) -> &'static str {
        "dies-after-creating"
    }
}

#[tokio::test]
async fn a_crash_between_create_task_and_acknowledgement_makes_no_second_task() {
    let env = Env::new().await;
    let exchange = env.exchange("crash").await;
    env.create_hook("crash", json!([binding(&exchange, "#")]), json!({})).await;
    let dying = Arc::new(DiesAfterCreating { inner: env.queue_sink(0), created: tokio::sync::Notify::new() });
    let first = env.start_with(env.options(), dying.clone());
    first.consuming(1).await;
    assert!(env.publish(&exchange, "x", &json!({"n": 1})).await);
    tokio::time::timeout(10 * SECOND, dying.created.notified()).await.expect("the task is created");
    first.crash().await;

    let second = env.start();
    let stats = second.until(10 * SECOND, |s| s.acked == 1).await;
    assert_eq!(stats.acked, 1, "the redelivered message is handled");
    let requests = env.fake.create_task_requests();
    assert_eq!(requests.len(), 2, "the redelivery created the task again");
    assert_eq!(requests[0].task_id, requests[1].task_id);
    assert_eq!(requests[0].task, requests[1].task, "and rendered it identically");
    assert_eq!(env.fake.created_tasks().len(), 1, "so the queue holds one task");
    let mut conn = env.db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("crash"), 10, None).await.unwrap();
    assert_eq!((fires.len(), fires[0].result.as_str()), (1, "success"));
    assert_eq!(env.queue_depth(&env.queue("crash")).await, Some(0));
    second.stop().await;
}

#[tokio::test]
async fn two_replicas_together_fire_each_message_once() {
    let env = Env::new().await;
    let exchange = env.exchange("shared").await;
    for h in 0..4 {
        env.create_hook(&format!("h{h}"), json!([binding(&exchange, &format!("h{h}"))]), json!({})).await;
    }
    let one = env.start();
    let two = env.start();
    one.consuming(4).await;
    two.consuming(4).await;

    let n = 200;
    for i in 0..n {
        assert!(env.publish(&exchange, &format!("h{}", i % 4), &json!({"i": i})).await);
    }
    let tasks = env.wait_for_tasks(n).await;
    assert_eq!(tasks.len(), n);
    let fired: BTreeSet<i64> = env.fired_messages().iter().map(|m| m["i"].as_i64().unwrap()).collect();
    assert_eq!(fired, (0..n as i64).collect(), "each message fired once");
    assert_eq!(env.fake.create_task_requests().len(), n, "and only once");
    // Counted once recorded, a moment after the queue has the task.
    eventually(5 * SECOND, || async { one.stats().fired + two.stats().fired == n as u64 }).await;
    let (a, b) = (one.stats(), two.stats());
    assert!(a.fired > 0 && b.fired > 0, "both replicas did work: {} and {}", a.fired, b.fired);
    assert_eq!(a.fired + b.fired, n as u64);
    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn a_replica_restricted_by_exchanges_serves_only_hooks_bound_to_them() {
    let env = Env::new().await;
    let mine = env.exchange("mine").await;
    let theirs = env.exchange("theirs").await;
    env.create_hook("mine", json!([binding(&mine, "#")]), json!({})).await;
    env.create_hook("theirs", json!([binding(&theirs, "#")]), json!({})).await;
    let mut options = env.options();
    options.scope = Scope::exchanges(&regex_escape(&mine)).unwrap();
    let running = env.start_with(options, env.queue_sink(0));
    running.consuming(1).await;
    running.until(5 * SECOND, |s| s.reconciles >= 1).await;

    assert!(env.publish(&mine, "x", &json!({"to": "mine"})).await);
    assert_eq!(env.wait_for_tasks(1).await.len(), 1);
    // The other hook's queue is neither declared nor consumed by this replica.
    assert_eq!(env.queue_depth(&env.queue("theirs")).await, None);
    assert!(!env.publish(&theirs, "x", &json!({"to": "theirs"})).await);
    assert_eq!(env.fired_messages(), vec![json!({"to": "mine"})]);
    running.stop().await;
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '/' || c == '-' { c.to_string() } else { format!("\\{c}") })
        .collect()
}

#[tokio::test]
async fn shutdown_finishes_the_message_in_flight_and_acknowledges_it() {
    let env = Env::new().await;
    let exchange = env.exchange("slow").await;
    env.create_hook("slow", json!([binding(&exchange, "#")]), json!({})).await;
    // The first attempts fail, so the message is still in flight when shutdown begins.
    env.fake.fail_create_task(3, 500, "InternalServerError");
    let mut options = env.options();
    options.retry_base = Duration::from_millis(200);
    let running = env.start_with(options, env.queue_sink(0));
    running.consuming(1).await;
    assert!(env.publish(&exchange, "x", &json!({"n": 1})).await);
    running.until(5 * SECOND, |s| s.retries >= 1).await;
    let listener = running.listener.clone();
    running.stop().await;

    let stats = listener.stats();
    assert_eq!((stats.fired, stats.acked), (1, 1), "finished and acknowledged before stopping");
    assert_eq!(env.fake.created_tasks().len(), 1);
    assert_eq!(env.queue_depth(&env.queue("slow")).await, Some(0));
}
