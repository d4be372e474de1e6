//! What operators see: fire counters, the operations port (metrics, heartbeat, version) and its health checks.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::sync::Arc;

use chrono::Utc;
use hooks_core::metrics::{FireResult, Metrics};
use hooks_core::pulse::BrokerHealth;
use hooks_core::sink::{EmbeddedSink, TaskSink};
use hooks_core::storage::{self, Pool, create_hook};
use hooks_core::{FireContext, FireOptions, FiredBy, Firer, Health, HookDefinition, OpsServer, SecretString};
use serde_json::{Value, json};
use test_support::{FakeTaskcluster, TestDb};

async fn stored(db: &TestDb, def: &HookDefinition) {
    let mut conn = db.pool.get().await.unwrap();
    create_hook(&mut conn, &common::keyring(), def, "test", Utc::now()).await.unwrap();
}

fn queue_sink(fake: &FakeTaskcluster) -> Arc<dyn TaskSink> {
    Arc::new(fake.queue_sink(0))
}

/// A pool whose database can't be reached: nothing listens on the port.
fn unreachable_pool() -> Pool {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    storage::pool(&format!("postgres://postgres@127.0.0.1:{port}/nothing"), 2).unwrap()
}

async fn get(url: &str) -> (u16, String) {
    let res = reqwest::get(url).await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn fire_counters_move_by_fired_by_and_result() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let ok = common::definition("g", "ok", json!({}));
    let declines = common::definition("g", "declines", json!({"task": {"$if": "false", "then": {"a": 1}}}));
    let broken = common::definition("g", "broken", json!({"task": {"$if": "uhoh, this is invalid"}}));
    for def in [&ok, &declines, &broken] {
        stored(&db, def).await;
    }
    let metrics = Metrics::new();
    let firer = Firer::new(test_support::renderer(), queue_sink(&fake)).with_metrics(metrics.clone());
    let trigger = || FireContext::trigger_hook(json!({}), "someone");

    firer.attempt(&ok, trigger(), FireOptions::default()).await.into_parts().0.unwrap();
    firer.attempt(&ok, FireContext::schedule(), FireOptions::default()).await.into_parts().0.unwrap();
    firer.attempt(&declines, trigger(), FireOptions::default()).await.into_parts().0.unwrap();
    firer.attempt(&broken, trigger(), FireOptions::default()).await.into_parts().0.unwrap_err();
    fake.fail_create_task(1, 403, "InsufficientScopes");
    firer
        .attempt(&ok, FireContext::trigger_hook_with_token(json!({})), FireOptions::default())
        .await
        .into_parts()
        .0
        .unwrap_err();

    let count = |by, result| metrics.fires(by, result);
    assert_eq!(count(FiredBy::TriggerHook, FireResult::Success), 1);
    assert_eq!(count(FiredBy::Schedule, FireResult::Success), 1);
    assert_eq!(count(FiredBy::TriggerHook, FireResult::Declined), 1);
    assert_eq!(count(FiredBy::TriggerHook, FireResult::Error), 1, "the render error");
    assert_eq!(count(FiredBy::TriggerHookWithToken, FireResult::Error), 1, "the queue's refusal");
    assert_eq!(count(FiredBy::TriggerHookWithToken, FireResult::Success), 0);
    let text = metrics.render();
    assert!(text.contains(r#"hooks_fires_total{fired_by="schedule",result="success"} 1"#), "{text}");
    assert!(text.contains(r#"hooks_task_create_duration_seconds_count{sink="queue"} 3"#), "{text}");
}

#[tokio::test]
async fn ops_server_serves_metrics_version_and_a_heartbeat_that_checks_the_database() {
    let db = TestDb::new().await;
    let metrics = Metrics::new();
    metrics.register_pool("main", db.pool.clone());
    let firer = Firer::new(test_support::renderer(), Arc::new(EmbeddedSink::new(db.pool.clone())))
        .with_metrics(metrics.clone());
    let def = common::definition("g", "h", json!({}));
    stored(&db, &def).await;
    firer.attempt(&def, FireContext::schedule(), FireOptions::default()).await.into_parts().0.unwrap();
    let server = OpsServer::start("127.0.0.1:0", Health::new(db.pool.clone()), metrics).await.unwrap();
    let base = format!("http://{}", server.local_addr());

    let (status, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert!(text.contains(r#"hooks_fires_total{fired_by="schedule",result="success"} 1"#), "{text}");
    assert!(text.contains(r#"hooks_db_pool_connections{pool="main",state="idle"}"#), "{text}");
    assert!(text.contains(r#"hooks_db_pool_max_connections{pool="main"} 8"#), "{text}");

    let (status, body) = get(&format!("{base}/__heartbeat__")).await;
    assert_eq!((status, body.as_str()), (200, "{}"));
    assert_eq!(get(&format!("{base}/__lbheartbeat__")).await.0, 200);

    let (status, body) = get(&format!("{base}/__version__")).await;
    assert_eq!(status, 200);
    let version: Value = serde_json::from_str(&body).unwrap();
    let commit = version["commit"].as_str().unwrap();
    assert!(commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()), "a git commit: {version}");
    for key in ["source", "version", "build"] {
        assert!(version[key].is_string(), "{key} in {version}");
    }
    assert_eq!(get(&format!("{base}/nothing")).await.0, 404);
}

#[tokio::test]
async fn heartbeat_is_503_naming_the_database_when_it_cannot_be_reached() {
    let server = OpsServer::start("127.0.0.1:0", Health::new(unreachable_pool()), Metrics::new()).await.unwrap();
    let base = format!("http://{}", server.local_addr());

    let (status, body) = get(&format!("{base}/__heartbeat__")).await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(body["down"]["database"].is_string(), "{body}");
    assert!(!body.to_string().contains("postgres://"), "no URL in {body}");
    assert_eq!(get(&format!("{base}/__lbheartbeat__")).await.0, 200, "the load balancer still sees us serving");
}

#[tokio::test]
async fn heartbeat_is_503_naming_the_broker_while_it_is_not_connected() {
    let db = TestDb::new().await;
    let broker = BrokerHealth::default();
    let report = Health::new(db.pool.clone()).with_broker(broker.clone()).check().await;
    assert_eq!(report.status(), 503);
    assert_eq!(report.body(), json!({"down": {"broker": "not connected"}}));

    let url = std::env::var("PULSE_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let connection = hooks_core::pulse::connect(&SecretString::new(url), "health-test").await.unwrap();
    let connection = Arc::new(connection);
    broker.set(connection.clone());
    let report = Health::new(db.pool.clone()).with_broker(broker.clone()).check().await;
    assert_eq!((report.status(), report.body()), (200, json!({})));

    connection.close(200, "test over".into()).await.unwrap();
    assert!(!broker.connected(), "a closed connection is down even before it is cleared");
}
