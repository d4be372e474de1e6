//! Webhook deliveries: each delivery id fires once; a delivery left pending (its api-server stopped, or the queue
//! failed) is fired by whoever takes it once its lease runs out, with the same taskId and `now`; a failed one is
//! fired again on redelivery.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::sync::Arc;

use chrono::Utc;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl as _;
use hooks_core::sink::TaskSink;
use hooks_core::storage::{DeliveryState, StoredDelivery, create_hook, find_hook};
use hooks_core::webhook::{Delivery, WebhookKind};
use hooks_core::{Accepted, CallFires, FireOutcome, Firer, Hook, Keyring, ReadyDelivery, WebhookDeliveries};
use serde_json::json;
use test_support::{FakeTaskcluster, TestDb};

struct Env {
    db: TestDb,
    fake: FakeTaskcluster,
    keyring: Keyring,
    firer: Firer,
    calls: CallFires,
    deliveries: WebhookDeliveries,
    hook: Hook,
}

impl Env {
    async fn new() -> Self {
        let db = TestDb::new().await;
        let fake = FakeTaskcluster::start_default();
        let sink: Arc<dyn TaskSink> = Arc::new(fake.queue_sink(0));
        let keyring = common::keyring();
        let task = json!({"task": {
            "provisionerId": "p", "workerType": "w",
            "payload": {
                "ref": {"$eval": "payload.ref"}, "nul": {"$eval": "len(payload.nul)"},
                "delivery": "${webhook.deliveryId}", "now": "${now}",
            },
            "metadata": {"name": "t", "description": "d", "owner": "o@example.com", "source": "http://example.com"},
        }});
        let def = common::definition("g", "h", task);
        let mut conn = db.pool.get().await.unwrap();
        create_hook(&mut conn, &keyring, &def, "test", Utc::now()).await.unwrap();
        let hook = find_hook(&mut conn, &keyring, &def.key()).await.unwrap().unwrap();
        drop(conn);
        Self {
            firer: Firer::new(test_support::renderer(), sink),
            calls: CallFires::start(db.pool.clone()),
            deliveries: WebhookDeliveries::start(db.pool.clone()),
            db,
            fake,
            keyring,
            hook,
        }
    }

    /// Claims the delivery and renders its task; dropping what it answers is an api-server stopping there.
    async fn accept(&self, id: &str) -> Accepted {
        let delivery = Delivery { kind: WebhookKind::Github, event: "push".into(), delivery_id: Some(id.into()) };
        // U+0000, which jsonb refuses, is kept too.
        let payload = json!({"ref": format!("ref-of-{id}"), "nul": "a\u{0}b"});
        self.deliveries.accept(&self.firer, &self.hook, &delivery, payload).await.unwrap()
    }

    async fn create(&self, ready: ReadyDelivery) -> Result<FireOutcome, hooks_core::FireError> {
        self.deliveries.create(&self.firer, &self.calls, ready).await
    }

    /// As if the api-server holding the delivery had stopped long ago.
    async fn end_lease(&self, id: &str) {
        let mut conn = self.db.pool.get().await.unwrap();
        diesel::sql_query(
            "UPDATE webhook_deliveries SET lease_until = now() - interval '1 second' WHERE delivery_id = $1",
        )
        .bind::<Text, _>(id)
        .execute(&mut conn)
        .await
        .unwrap();
    }

    async fn row(&self, id: &str) -> (String, Option<String>) {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            state: String,
            #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
            payload: Option<String>,
        }
        let mut conn = self.db.pool.get().await.unwrap();
        let row: Row = diesel::sql_query("SELECT state, payload FROM webhook_deliveries WHERE delivery_id = $1")
            .bind::<Text, _>(id)
            .get_result(&mut conn)
            .await
            .unwrap();
        (row.state, row.payload)
    }

    async fn finish_left_behind(&self) -> usize {
        self.deliveries.finish_left_behind(&self.keyring, &self.firer, &self.calls).await.unwrap()
    }
}

fn claimed(accepted: Accepted) -> ReadyDelivery {
    match accepted {
        Accepted::Ready(d) => d,
        Accepted::Earlier(d) => panic!("not claimed: {d:?}"),
    }
}

fn earlier(accepted: Accepted) -> StoredDelivery {
    match accepted {
        Accepted::Earlier(d) => d,
        Accepted::Ready(d) => panic!("claimed again: {d:?}"),
    }
}

#[tokio::test]
async fn a_delivery_fires_once_and_keeps_its_payload_only_while_pending() {
    let env = Env::new().await;
    let first = claimed(env.accept("d-1").await);
    let task_id = first.task_id().to_string();
    // Accepted but not yet fired: a redelivery finds it pending, with the same taskId.
    let pending = earlier(env.accept("d-1").await);
    assert_eq!((pending.state, &pending.task_id), (DeliveryState::Pending, &task_id));
    let outcome = env.create(first).await.unwrap();
    assert!(matches!(outcome, FireOutcome::Created { task_id: ref id } if id.to_string() == task_id));
    // The end is written in the background, batched: wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while env.row("d-1").await.0 != "created" {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(env.row("d-1").await, ("created".to_owned(), None), "the payload is dropped once done");
    let done = earlier(env.accept("d-1").await);
    assert_eq!((done.state, &done.task_id), (DeliveryState::Created, &task_id));
    assert_eq!(env.fake.created_count(), 1);
    // The taskId comes from the hook's secret and the delivery id: another id, another task.
    let other = claimed(env.accept("d-2").await);
    assert_ne!(other.task_id().to_string(), task_id);
}

#[tokio::test]
async fn a_delivery_left_pending_is_fired_by_whoever_takes_it_once_its_lease_runs_out() {
    let env = Env::new().await;
    // Accepted, then its api-server stopped before firing it.
    let lost = claimed(env.accept("lost").await);
    let (lost_task, lost_now) = (lost.task_id().to_string(), lost.fire_now());
    drop(lost);
    assert_eq!(env.finish_left_behind().await, 0, "its lease still holds");
    env.end_lease("lost").await;
    assert_eq!(env.finish_left_behind().await, 1);
    let tasks = env.fake.wait_for_tasks(1, std::time::Duration::from_secs(5)).await;
    assert_eq!(tasks[0].task_id, lost_task);
    assert_eq!(tasks[0].task["payload"]["ref"], "ref-of-lost", "fired with the payload it was accepted with");
    // The queue takes no U+0000 in a task, so the template only measures it: three characters, U+0000 kept.
    assert_eq!(tasks[0].task["payload"]["nul"], 3, "U+0000 and all");
    assert_eq!(tasks[0].task["payload"]["now"], hooks_core::time::to_json(lost_now), "and its `now`");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while env.row("lost").await.0 != "created" {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(env.finish_left_behind().await, 0, "nothing left");
}

#[tokio::test]
async fn a_transient_failure_stays_pending_and_a_permanent_one_is_fired_again_on_redelivery() {
    let env = Env::new().await;
    env.fake.fail_create_task(1, 500, "InternalServerError");
    let first = claimed(env.accept("flaky").await);
    let flaky_task = first.task_id().to_string();
    assert!(env.create(first).await.is_err());
    assert_eq!(env.row("flaky").await.0, "pending", "a transient failure is retried, not given up");
    assert!(env.row("flaky").await.1.is_some(), "with its payload");
    env.end_lease("flaky").await;
    assert_eq!(env.finish_left_behind().await, 1);
    let tasks = env.fake.wait_for_tasks(1, std::time::Duration::from_secs(5)).await;
    assert_eq!(tasks[0].task_id, flaky_task);

    env.fake.fail_create_task(1, 400, "InvalidRequestArguments");
    let refused = claimed(env.accept("refused").await);
    let (refused_task, refused_now) = (refused.task_id().to_string(), refused.fire_now());
    assert!(env.create(refused).await.is_err());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while env.row("refused").await.0 != "failed" {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The sender redelivers: it is claimed again, with the first attempt's taskId and `now`.
    let again = claimed(env.accept("refused").await);
    assert_eq!((again.task_id().to_string(), again.fire_now()), (refused_task, refused_now));
    env.create(again).await.unwrap();
    assert_eq!(env.fake.created_count(), 2);
}

#[tokio::test]
async fn concurrent_deliveries_of_one_id_claim_it_once() {
    let env = Env::new().await;
    let accepted = futures::future::join_all((0..8).map(|_| env.accept("same"))).await;
    let claims = accepted.iter().filter(|a| matches!(a, Accepted::Ready(_))).count();
    assert_eq!(claims, 1);
}
