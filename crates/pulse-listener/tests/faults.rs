//! The listener through faults: the broker closing its connection, and the daemon process stopped by SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Env, eventually};
use serde_json::json;
use test_support::logs::{Output, assert_no_secrets};
use test_support::vhost::Vhost;

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_connection_closed_by_the_broker_is_resumed_with_nothing_lost() {
    let vhost = Vhost::new();
    let env = Env::with_url(vhost.url()).await;
    let exchange = env.exchange("steady").await;
    env.create_hook("steady", json!([{"exchange": exchange, "routingKeyPattern": "#"}]), json!({})).await;
    let running = env.start();
    running.consuming(1).await;

    let n = 100;
    for i in 0..n / 2 {
        assert!(env.publish(&exchange, "x", &json!({"i": i})).await);
    }
    vhost.close_all_connections().unwrap();
    env.reconnect().await;
    for i in n / 2..n {
        assert!(env.publish(&exchange, "x", &json!({"i": i})).await);
    }

    let stats = running.until(20 * SECOND, |s| s.reconnects >= 1 && s.consuming == 1).await;
    assert!(stats.reconnects >= 1, "the listener reconnected");
    let tasks = env.fake.wait_for_tasks(n, 20 * SECOND).await;
    assert_eq!(tasks.len(), n, "nothing lost");
    let fired: BTreeSet<i64> = env.fired_messages().iter().map(|m| m["i"].as_i64().unwrap()).collect();
    assert_eq!(fired, (0..n as i64).collect(), "each message fired once");
    let queue = env.queue("steady");
    assert!(eventually(10 * SECOND, || async { env.queue_depth(&queue).await == Some(0) }).await);
    // Give any stray redelivery time to (wrongly) create a task, then check again.
    tokio::time::sleep(SECOND / 2).await;
    assert_eq!(env.fake.created_tasks().len(), n, "nothing duplicated");
    running.stop().await;
}

#[tokio::test]
async fn connections_closed_mid_flight_never_fire_a_message_twice() {
    let vhost = Vhost::new();
    let env = Env::with_url(vhost.url()).await;
    let exchange = env.exchange("busy").await;
    env.create_hook("busy", json!([{"exchange": exchange, "routingKeyPattern": "#"}]), json!({})).await;
    let running = env.start();
    running.consuming(1).await;
    // A slow queue keeps many messages in flight (claimed, firing, recording) when the connections close.
    env.fake.delay_create_task(Duration::from_millis(30));
    let n = 2_000;
    for i in 0..n {
        assert!(env.publish(&exchange, "x", &json!({"i": i})).await);
    }
    for _ in 0..5 {
        tokio::time::sleep(SECOND / 4).await;
        vhost.close_all_connections().unwrap();
    }

    let tasks = env.fake.wait_for_tasks(n, 60 * SECOND).await;
    assert_eq!(tasks.len(), n, "nothing lost");
    let queue = env.queue("busy");
    env.reconnect().await;
    assert!(eventually(20 * SECOND, || async { env.queue_depth(&queue).await == Some(0) }).await);
    tokio::time::sleep(SECOND).await;
    let mut fired: std::collections::BTreeMap<i64, usize> = std::collections::BTreeMap::new();
    for message in env.fired_messages() {
        *fired.entry(message["i"].as_i64().unwrap()).or_default() += 1;
    }
    let twice: Vec<_> = fired.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "messages fired twice, under two taskIds: {twice:?}");
    assert_eq!(fired.len(), n, "every message fired");
    running.stop().await;
}

#[tokio::test]
async fn sigterm_makes_the_daemon_settle_the_message_in_flight_and_exit_zero_logging_no_secret() {
    let env = Env::new().await;
    let exchange = env.exchange("term").await;
    env.create_hook("term", json!([{"exchange": exchange, "routingKeyPattern": "#"}]), json!({})).await;
    // Two failed attempts (1 s and 2 s of backoff) keep the message in flight while SIGTERM arrives.
    env.fake.fail_create_task(2, 500, "InternalServerError");
    let client = env.fake.service_client();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hooks-pulse-listener"))
        // Postgres here trusts local connections: the password is accepted, and must still not show in the logs.
        .env("DATABASE_URL", env.db.url.replacen("postgres@", &format!("postgres:{DB_PASSWORD}@"), 1))
        .env("HOOKS_CRYPTO_KEY", env.crypto_key.expose())
        .env("PULSE_URL", &env.url)
        .env("PULSE_NAMESPACE", &env.namespace)
        .env("TASKCLUSTER_ROOT_URL", env.fake.root_url())
        .env("TASKCLUSTER_CLIENT_ID", &client.client_id)
        .env("TASKCLUSTER_ACCESS_TOKEN", &client.access_token)
        .env("HOOKS_QUEUE_RETRIES", "0")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Output::capture(&mut child);
    let queue = env.queue("term");
    let consumed =
        eventually(20 * SECOND, || async { env.queue_counts(&queue).await.is_some_and(|(_, c)| c == 1) }).await;
    assert!(consumed, "the daemon never consumed from the hook's queue");

    assert!(env.publish(&exchange, "x", &json!({"n": 1})).await);
    assert!(eventually(10 * SECOND, || async { !env.fake.create_task_requests().is_empty() }).await);
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());

    let deadline = std::time::Instant::now() + 30 * SECOND;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(SECOND / 20).await;
    };
    let status = status.expect("the daemon exits within 30 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert_eq!(env.fake.created_tasks().len(), 1, "the message in flight was fired");
    assert_eq!(env.queue_counts(&queue).await, Some((0, 0)), "and acknowledged");
    let secrets = [
        ("service access token", client.access_token.as_str()),
        ("crypto key", env.crypto_key.expose()),
        ("database password", DB_PASSWORD),
    ];
    assert_no_secrets(&output.finish(), &secrets);
}

const DB_PASSWORD: &str = "db-password-never-logged";

/// Runs SQL on the test server's `postgres` database.
async fn admin(sql: &str) {
    use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
    let mut conn = AsyncPgConnection::establish(&test_support::db::server_url()).await.unwrap();
    diesel::sql_query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn a_database_outage_stops_acknowledgements_until_the_database_returns() {
    let env = Env::new().await;
    let exchange = env.exchange("outage").await;
    env.create_hook("outage", json!([{"exchange": exchange, "routingKeyPattern": "#"}]), json!({})).await;
    let running = env.start();
    running.consuming(1).await;
    // Warm the hook cache so that the outage hits the recording of the fire, not the loading of the hook.
    assert!(env.publish(&exchange, "x", &json!({"n": 0})).await);
    running.until(10 * SECOND, |s| s.acked == 1).await;

    let name = env.db.url.rsplit('/').next().unwrap().to_owned();
    admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    admin(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")).await;
    assert!(env.publish(&exchange, "x", &json!({"n": 1})).await);
    let during = running.until(10 * SECOND, |s| s.retries >= 3).await;
    assert!(during.retries >= 3, "the listener keeps retrying: {during:?}");
    assert_eq!(during.acked, 1, "and acknowledges nothing while the database is down");
    assert_eq!(env.fake.created_tasks().len(), 1, "nor creates a task it could not record first");

    admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    let after = running.until(20 * SECOND, |s| s.acked == 2).await;
    assert_eq!(after.acked, 2, "the message is handled once the database is back");
    let fired: BTreeSet<i64> = env.fired_messages().iter().map(|m| m["n"].as_i64().unwrap()).collect();
    assert_eq!(fired, BTreeSet::from([0, 1]));
    assert_eq!(env.fake.created_tasks().len(), 2);
    running.stop().await;
}
