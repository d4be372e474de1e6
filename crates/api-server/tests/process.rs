//! The real `hooks-api-server` binary stopped with SIGTERM while a request is in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TESTER_TOKEN, hook_body};
use hooks_core::crypto::Keyring;
use serde_json::json;
use taskcluster::{ClientBuilder, Credentials, Hooks};
use test_support::{FakeTaskcluster, TestDb};

#[tokio::test]
async fn sigterm_finishes_the_requests_in_flight_refuses_new_ones_and_exits_0() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let service = fake.service_client();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let clients = json!([{"clientId": "tester", "accessToken": TESTER_TOKEN, "scopes": ["*"]}]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hooks-api-server"))
        .env_clear()
        .env("HOOKS_LISTEN", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &db.url)
        .env("HOOKS_NO_MIGRATE", "true")
        .env("HOOKS_CRYPTO_KEY", Keyring::generate_key().unwrap().expose())
        .env("TASKCLUSTER_ROOT_URL", fake.root_url())
        .env("TASKCLUSTER_CLIENT_ID", &service.client_id)
        .env("TASKCLUSTER_ACCESS_TOKEN", &service.access_token)
        .env("HOOKS_STATIC_CLIENTS", clients.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting hooks-api-server");
    let root_url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{root_url}/api/hooks/v1/ping")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the api-server never answered ping");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hooks =
        Hooks::new(ClientBuilder::new(&root_url).credentials(Credentials::new("tester", TESTER_TOKEN))).unwrap();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();

    // A slow queue keeps the trigger in flight while SIGTERM arrives.
    fake.delay_create_task(Duration::from_secs(2));
    let in_flight = tokio::spawn(async move { hooks.triggerHook("g", "h", &json!({})).await });
    // The queue records a request only once its delay is over: give the trigger time to get there.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!in_flight.is_finished(), "the trigger is not held by the queue; the test proves nothing");
    let pid = child.id().to_string();
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
        if let Some(status) = child.try_wait().unwrap() {
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
