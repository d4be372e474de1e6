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

const WEBHOOK_SECRET: &str = "webhook-secret-never-logged-0123";

/// A signed GitHub delivery, a forged one and a wrong one, then a generated secret read back; returns that secret.
async fn webhook_calls(http: &reqwest::Client, root_url: &str, port: u16) -> String {
    let path = "/api/hooks/v1/hooks/g/h/webhook";
    let hawk = |method: &str| common::hawk_header("tester", TESTER_TOKEN, method, "127.0.0.1", port, path);
    let set = |body: serde_json::Value| {
        http.put(format!("{root_url}{path}")).header("authorization", hawk("PUT")).json(&body).send()
    };
    assert_eq!(set(json!({"kind": "github", "secret": WEBHOOK_SECRET})).await.unwrap().status().as_u16(), 200);
    let body = r#"{"location": "here"}"#;
    let deliver = |secret: &str, delivery: &str| {
        let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes()), body.as_bytes());
        let signature = format!("sha256={}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>());
        http.post(format!("{root_url}{path}"))
            .header("content-type", "application/json")
            .header("x-github-event", "push")
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
    };
    assert_eq!(deliver(WEBHOOK_SECRET, "d-1").await.unwrap().status().as_u16(), 200);
    assert_eq!(deliver("a-wrong-secret-0123456789", "d-2").await.unwrap().status().as_u16(), 401);
    let generated = set(json!({"kind": "standard"})).await.unwrap().json::<serde_json::Value>().await.unwrap();
    let secret_path = format!("{path}/secret");
    let read = http
        .get(format!("{root_url}{secret_path}"))
        .header("authorization", common::hawk_header("tester", TESTER_TOKEN, "GET", "127.0.0.1", port, &secret_path))
        .send()
        .await
        .unwrap();
    let read: serde_json::Value = read.json().await.unwrap();
    assert_eq!(read["secret"], generated["secret"]);
    read["secret"].as_str().unwrap().to_owned()
}

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
    let webhook_secret = webhook_calls(&http, &root_url, port).await;

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
        ("webhook secret", WEBHOOK_SECRET.to_owned()),
        ("generated webhook secret", webhook_secret),
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
