//! The server itself: pings, not found, threads, stopping.

use super::*;
use std::time::Instant;

use taskcluster::{Auth, Notify};

#[tokio::test]
async fn ping_endpoints_answer() {
    let fake = FakeTaskcluster::start_default();
    let root = fake.root_url();
    Queue::new(root.as_str()).unwrap().ping().await.unwrap();
    Auth::new(root.as_str()).unwrap().ping().await.unwrap();
    Notify::new(root.as_str()).unwrap().ping().await.unwrap();
    for svc in ["queue", "auth", "notify"] {
        let (status, _, body) = raw(&root, "GET", &format!("/api/{svc}/v1/ping"), &[], b"");
        assert_eq!(status, 200);
        assert_eq!(body, json!({"alive": true, "uptime": 1}));
    }
    let (status, _, body) = raw(&root, "GET", "/nope", &[], b"");
    assert_eq!((status, body), (404, json!({"error": "Not found"})));
}

#[test]
fn works_from_plain_threads_and_stops_when_dropped() {
    let fake = FakeTaskcluster::start_default();
    let root = fake.root_url();
    let r = root.clone();
    let (status, _, body) = std::thread::spawn(move || raw(&r, "GET", "/api/auth/v1/ping", &[], b"")).join().unwrap();
    assert_eq!((status, body), (200, json!({"alive": true, "uptime": 1})));
    let started = Instant::now();
    drop(fake);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(TcpStream::connect(root.trim_start_matches("http://")).is_err());
}

#[tokio::test]
async fn drop_with_open_client_connections_does_not_hang() {
    let fake = FakeTaskcluster::start_default();
    let addr = fake.addr;
    let q = queue(&fake, creds(fake.service_client()), None);
    q.createTask(&slug(), &task("x")).await.unwrap(); // leaves a keep-alive connection open
    let started = Instant::now();
    drop(fake);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(TcpStream::connect(addr).is_err());
    drop(q);
}

#[tokio::test]
async fn accepted_connections_are_counted_once_each() {
    let fake = FakeTaskcluster::start_default();
    let root = fake.root_url();
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let reply = client.get(format!("{root}/api/queue/v1/ping")).send().await.unwrap();
        reply.bytes().await.unwrap();
    }
    assert_eq!(fake.connections_accepted(), 1, "one keep-alive connection for five requests");

    let r = root.clone();
    tokio::task::spawn_blocking(move || {
        for _ in 0..3 {
            raw(&r, "GET", "/api/auth/v1/ping", &[], b""); // `Connection: close`
        }
    })
    .await
    .unwrap();
    assert_eq!(fake.connections_accepted(), 4);
}
