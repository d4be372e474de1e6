//! No secret reaches the logs: the api-server is run with every log line switched on (`RUST_LOG=trace`, both
//! formats) through calls that handle each secret, and its output is searched for them.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TESTER_TOKEN, hook_body};
use hooks_core::Keyring;
use serde_json::json;
use taskcluster::{ClientBuilder, Credentials, Hooks};
use test_support::logs::{Output, assert_no_secrets};
use test_support::{FakeTaskcluster, TestDb};

/// Postgres here trusts every local connection, so a password in the URL is accepted and must still not show.
const DB_PASSWORD: &str = "db-password-never-logged";

async fn logs_of_a_busy_run(format: &str) -> (String, Vec<(&'static str, String)>) {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let service = fake.service_client().clone();
    let key = Keyring::generate_key().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let clients = json!([{"clientId": "tester", "accessToken": TESTER_TOKEN, "scopes": ["*"]}]);
    let url = db.url.replacen("postgres@", &format!("postgres:{DB_PASSWORD}@"), 1);
    assert_ne!(url, db.url, "the database URL has no user to add a password to");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hooks-api-server"))
        .env_clear()
        .env("HOOKS_LISTEN", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &url)
        .env("HOOKS_CRYPTO_KEY", key.expose())
        .env("TASKCLUSTER_ROOT_URL", fake.root_url())
        .env("TASKCLUSTER_CLIENT_ID", &service.client_id)
        .env("TASKCLUSTER_ACCESS_TOKEN", &service.access_token)
        .env("HOOKS_STATIC_CLIENTS", clients.to_string())
        .env("HOOKS_QUEUE_RETRIES", "0")
        .env("HOOKS_LOG_FORMAT", format)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Output::capture(&mut child);
    let root_url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{root_url}/api/hooks/v1/ping")).await.is_err() {
        assert!(Instant::now() < deadline, "the api-server never answered ping");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hooks =
        Hooks::new(ClientBuilder::new(&root_url).credentials(Credentials::new("tester", TESTER_TOKEN))).unwrap();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    let token = hooks.getTriggerToken("g", "h").await.unwrap()["token"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let webhook = format!("{root_url}/api/hooks/v1/hooks/g/h/trigger/{token}");
    assert_eq!(http.post(&webhook).json(&json!({})).send().await.unwrap().status().as_u16(), 200);
    // A failing queue, a wrong token and a bad signature take the error paths.
    fake.fail_create_task(1, 500, "InternalServerError");
    assert_eq!(http.post(&webhook).json(&json!({})).send().await.unwrap().status().as_u16(), 400);
    let wrong = format!("{root_url}/api/hooks/v1/hooks/g/h/trigger/{token}x");
    assert_eq!(http.post(&wrong).json(&json!({})).send().await.unwrap().status().as_u16(), 401);
    let forged =
        Hooks::new(ClientBuilder::new(&root_url).credentials(Credentials::new("tester", "x".repeat(44)))).unwrap();
    assert!(forged.hook("g", "h").await.is_err());
    let reset = hooks.resetTriggerToken("g", "h").await.unwrap()["token"].as_str().unwrap().to_owned();

    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    child.wait().unwrap();
    let logs = output.finish();
    let secrets = vec![
        ("client access token", TESTER_TOKEN.to_owned()),
        ("service access token", service.access_token.clone()),
        ("crypto key", key.expose().to_owned()),
        ("database password", DB_PASSWORD.to_owned()),
        ("trigger token", token),
        ("reset trigger token", reset),
    ];
    (logs, secrets)
}

#[tokio::test]
async fn no_secret_appears_in_the_logs_at_any_level_in_either_format() {
    for format in ["text", "json"] {
        let (logs, secrets) = logs_of_a_busy_run(format).await;
        let secrets: Vec<(&str, &str)> = secrets.iter().map(|(n, s)| (*n, s.as_str())).collect();
        assert_no_secrets(&logs, &secrets);
    }
}
