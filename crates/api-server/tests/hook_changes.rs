//! Hook changes announced on `exchange/<ns>/v1/hook-created|hook-updated|hook-deleted`, on the real broker.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::{Duration, Instant};

use common::{HookChanges, TestApp, hook_body};
use lapin::message::Delivery;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_secs(10);

/// The exchange's last segment and the body of an announcement, after checking how upstream publishes it.
fn announced(delivery: &Delivery) -> (String, Value) {
    assert_eq!(delivery.routing_key.as_str(), "_");
    let properties = &delivery.properties;
    assert_eq!(properties.delivery_mode(), &Some(2), "persistent");
    assert_eq!(properties.content_type().as_ref().map(|t| t.as_str()), Some("application/json"));
    let exchange = delivery.exchange.as_str().rsplit('/').next().unwrap().to_owned();
    (exchange, serde_json::from_slice(&delivery.data).unwrap())
}

#[tokio::test]
async fn create_update_and_remove_are_announced_as_upstream() {
    let app = TestApp::spawn().await;
    let mut changes = HookChanges::tap(&app.names).await;
    let hooks = app.hooks();
    let ids = json!({"hookGroupId": "grp", "hookId": "a/b"});

    hooks.createHook("grp", "a/b", &hook_body()).await.unwrap();
    assert_eq!(announced(&changes.next(WAIT).await.unwrap()), ("hook-created".into(), ids.clone()));
    // An identical re-creation is announced again, as upstream does.
    hooks.createHook("grp", "a/b", &hook_body()).await.unwrap();
    assert_eq!(announced(&changes.next(WAIT).await.unwrap()).0, "hook-created");

    hooks.updateHook("grp", "a/b", &hook_body()).await.unwrap();
    assert_eq!(announced(&changes.next(WAIT).await.unwrap()), ("hook-updated".into(), ids.clone()));

    hooks.removeHook("grp", "a/b").await.unwrap();
    assert_eq!(announced(&changes.next(WAIT).await.unwrap()), ("hook-deleted".into(), ids.clone()));
    // Removing what is not there still announces it.
    hooks.removeHook("grp", "a/b").await.unwrap();
    assert_eq!(announced(&changes.next(WAIT).await.unwrap()), ("hook-deleted".into(), ids));

    // A failed call announces nothing.
    assert!(hooks.updateHook("grp", "absent", &hook_body()).await.is_err());
    assert!(changes.next(Duration::from_millis(500)).await.is_none());
}

/// Forwards every connection accepted on `listener` to the real broker.
async fn forward(listener: TcpListener) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else { return };
        tokio::spawn(async move {
            let Ok(mut outbound) = TcpStream::connect("127.0.0.1:5672").await else { return };
            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
        });
    }
}

#[tokio::test]
async fn a_broker_outage_fails_no_call_and_the_changes_are_announced_once_it_is_back() {
    // A port with nothing behind it yet plays the broker that is down.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let app = TestApp::spawn_with_broker(&format!("amqp://guest:guest@127.0.0.1:{port}/%2f")).await;
    let mut changes = HookChanges::tap(&app.names).await;
    let hooks = app.hooks();

    let started = Instant::now();
    hooks.createHook("grp", "one", &hook_body()).await.unwrap();
    hooks.createHook("grp", "two", &hook_body()).await.unwrap();
    hooks.removeHook("grp", "one").await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "the calls waited for the broker");
    assert!(changes.next(Duration::from_millis(300)).await.is_none());

    // The broker comes back: everything is announced, in order.
    tokio::spawn(forward(TcpListener::bind(("127.0.0.1", port)).await.unwrap()));
    let mut got = Vec::new();
    for _ in 0..3 {
        let (exchange, body) =
            announced(&changes.next(Duration::from_secs(20)).await.expect("announced after the outage"));
        got.push(format!("{exchange} {}", body["hookId"].as_str().unwrap()));
    }
    assert_eq!(got, ["hook-created one", "hook-created two", "hook-deleted one"]);
}
