//! Expiry of old last fires, fire-log events and finished webhook deliveries: only rows older than the retention go, in batches; audit history
//! stays.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::Duration;

use common::Env;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl as _;
use scheduler::expiry::{Expired, ExpiryOptions, expire_once};
use serde_json::json;

const DAY: i64 = 24 * 3600;

/// Inserts `n` last fires of `hook`, `age_days` old (each a second apart).
async fn fires(env: &Env, hook: &str, n: i64, age_days: i64) {
    let mut conn = env.db.pool.get().await.unwrap();
    diesel::sql_query(
        "INSERT INTO last_fires (hook_group_id, hook_id, fired_by, task_id, task_create_time, result, error) \
         SELECT 'sched', $1, 'schedule', $1 || '-' || $3 || '-' || i, now() - make_interval(secs => $2 + i), 'success', '' \
         FROM generate_series(1, $3) AS i",
    )
    .bind::<Text, _>(hook)
    .bind::<BigInt, _>(age_days * DAY)
    .bind::<BigInt, _>(n)
    .execute(&mut conn)
    .await
    .unwrap();
}

/// Inserts `n` fire-log events of `hook`, `age_days` old (each a second apart).
async fn events(env: &Env, hook: &str, n: i64, age_days: i64) {
    let mut conn = env.db.pool.get().await.unwrap();
    diesel::sql_query(
        "INSERT INTO fire_log (hook_group_id, hook_id, time, fired_by, outcome, source) \
         SELECT 'sched', $1, now() - make_interval(secs => $2 + i), 'schedule', 'declined', '{}' \
         FROM generate_series(1, $3) AS i",
    )
    .bind::<Text, _>(hook)
    .bind::<BigInt, _>(age_days * DAY)
    .bind::<BigInt, _>(n)
    .execute(&mut conn)
    .await
    .unwrap();
}

/// Inserts `n` webhook deliveries of `hook` in `state`, `age_days` old.
async fn deliveries(env: &Env, hook: &str, n: i64, age_days: i64, state: &str) {
    let mut conn = env.db.pool.get().await.unwrap();
    diesel::sql_query(
        "INSERT INTO webhook_deliveries (hook_group_id, hook_id, delivery_id, task_id, fire_now, kind, event, state, \
             lease_until, received) \
         SELECT 'sched', $1, $4 || '-' || $2 || '-' || i, 't-' || i, now(), 'github', 'push', $4, now(), \
             now() - make_interval(secs => $2 + i) \
         FROM generate_series(1, $3) AS i",
    )
    .bind::<Text, _>(hook)
    .bind::<BigInt, _>(age_days * DAY)
    .bind::<BigInt, _>(n)
    .bind::<Text, _>(state)
    .execute(&mut conn)
    .await
    .unwrap();
}

async fn count(env: &Env, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = env.db.pool.get().await.unwrap();
    diesel::sql_query(sql).get_result::<Count>(&mut conn).await.unwrap().n
}

fn options(retention_days: u64, batch_size: i64) -> ExpiryOptions {
    ExpiryOptions { retention: Duration::from_secs(retention_days * 24 * 3600), batch_size, ..ExpiryOptions::default() }
}

#[tokio::test]
async fn expiry_deletes_only_fires_older_than_the_retention_in_batches_and_keeps_audit_history() {
    let env = Env::new().await;
    env.hook("a", &[], json!({})).await;
    env.hook("b", &[], json!({})).await;
    fires(&env, "a", 1500, 400).await;
    fires(&env, "b", 1000, 366).await;
    fires(&env, "a", 20, 10).await;
    fires(&env, "b", 5, 364).await;
    events(&env, "a", 1200, 400).await;
    events(&env, "b", 3, 364).await;
    deliveries(&env, "a", 4, 400, "created").await;
    deliveries(&env, "a", 1, 400, "pending").await;
    deliveries(&env, "b", 2, 10, "failed").await;
    let mut conn = env.db.pool.get().await.unwrap();
    diesel::sql_query(
        "INSERT INTO audit_history (hook_group_id, hook_id, client_id, action, created) \
                       VALUES ('sched', 'a', 'old', 'created', now() - interval '3 years')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);
    let audit_before = count(&env, "SELECT count(*) AS n FROM audit_history").await;

    let expired = expire_once(&env.db.pool, &options(365, 1000)).await.unwrap();

    assert_eq!(
        expired,
        Expired { rows: 3704, batches: 6 },
        "last fires 1000 + 1000 + 500, events 1000 + 200, deliveries 4"
    );
    assert_eq!(count(&env, "SELECT count(*) AS n FROM last_fires").await, 25, "the newest are kept");
    assert_eq!(
        count(&env, "SELECT count(*) AS n FROM last_fires WHERE task_create_time < now() - interval '365 days'").await,
        0
    );
    assert_eq!(count(&env, "SELECT count(*) AS n FROM last_fires WHERE hook_id = 'b'").await, 5);
    assert_eq!(count(&env, "SELECT count(*) AS n FROM fire_log").await, 3, "the newest events are kept");
    assert_eq!(count(&env, "SELECT count(*) AS n FROM audit_history").await, audit_before, "audit history is kept");
    assert_eq!(
        count(&env, "SELECT count(*) AS n FROM webhook_deliveries").await,
        3,
        "new deliveries, and an old one still pending, are kept"
    );

    let again = expire_once(&env.db.pool, &options(365, 1000)).await.unwrap();
    assert_eq!(again, Expired { rows: 0, batches: 3 }, "one short batch per table");
}

#[tokio::test]
async fn two_schedulers_expiring_at_once_delete_each_row_once() {
    let env = Env::new().await;
    env.hook("a", &[], json!({})).await;
    fires(&env, "a", 3000, 400).await;
    fires(&env, "a", 7, 1).await;

    let small_batches = options(365, 200);
    let (one, two) = tokio::join!(expire_once(&env.db.pool, &small_batches), expire_once(&env.db.pool, &small_batches));
    let (one, two) = (one.unwrap(), two.unwrap());

    assert_eq!(one.rows + two.rows, 3000);
    assert_eq!(count(&env, "SELECT count(*) AS n FROM last_fires").await, 7);
}
