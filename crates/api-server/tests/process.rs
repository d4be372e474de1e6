//! The real `hooks-api-server` binary stopped with SIGTERM while a request is in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{ApiProcess, hook_body};
use serde_json::json;
use test_support::{FakeTaskcluster, TestDb};

#[tokio::test]
async fn sigterm_finishes_the_requests_in_flight_refuses_new_ones_and_exits_0() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let mut api = ApiProcess::start(&db, &fake, &[]).await;
    let hooks = api.hooks();
    let root_url = api.root_url.clone();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();

    // A slow queue keeps the trigger in flight while SIGTERM arrives.
    fake.delay_create_task(Duration::from_secs(2));
    let in_flight = tokio::spawn(async move { hooks.triggerHook("g", "h", &json!({})).await });
    // The queue records a request only once its delay is over: give the trigger time to get there.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!in_flight.is_finished(), "the trigger is not held by the queue; the test proves nothing");
    let pid = api.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!in_flight.is_finished(), "the queue's delay should still hold the request");
    let fresh = reqwest::Client::new(); // a new connection, not one kept alive from before
    assert!(fresh.get(format!("{root_url}/api/hooks/v1/ping")).send().await.is_err(), "still accepting");

    let reply = in_flight.await.unwrap().expect("the request in flight was answered");
    assert_eq!(fake.create_task_requests().len(), 1);
    assert!(reply["taskId"].is_string(), "{reply}");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = api.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn migrate_creates_the_schema_and_exits() {
    use diesel_async::{AsyncConnection as _, RunQueryDsl as _};
    let name = format!("hooks_test_{}_migrate", std::process::id());
    let url = test_support::db::database_url(&name);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hooks-api-server"))
            .env_clear()
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "warn")
            .args(args)
            .status()
            .unwrap()
    };
    // --no-migrate is for the daemons; the migration job migrates regardless.
    assert!(run(&["--create-database", "--no-migrate", "migrate"]).success());
    let mut conn = diesel_async::AsyncPgConnection::establish(&url).await.unwrap();
    diesel::sql_query("SELECT 1 FROM hooks LIMIT 1").execute(&mut conn).await.expect("the hooks table exists");
    drop(conn);
    assert!(run(&["migrate"]).success(), "a second run finds nothing to do");
    let mut admin = diesel_async::AsyncPgConnection::establish(&test_support::db::server_url()).await.unwrap();
    diesel::sql_query(format!("DROP DATABASE {name}")).execute(&mut admin).await.unwrap();
}
