//! What operators see of the api-server: `/metrics` by API method name, and a heartbeat that checks the database.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, hook_body};
use serde_json::{Value, json};

async fn metrics(app: &TestApp) -> String {
    let resp = app.http.get(format!("{}/metrics", app.root_url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_by_api_method_name_and_status() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    hooks.triggerHook("g", "h", &json!({})).await.unwrap();
    hooks.triggerHook("g", "h", &json!({})).await.unwrap();
    let missing = hooks.hook("g", "missing").await.unwrap_err();
    assert_eq!(common::status_of(&missing), Some(404));
    app.http.get(format!("{}/no/such/route", app.root_url)).send().await.unwrap();

    let text = metrics(&app).await;

    assert!(text.contains(r#"http_requests_total{method="triggerHook",status="200"} 2"#), "{text}");
    assert!(text.contains(r#"http_requests_total{method="createHook",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"http_requests_total{method="hook",status="404"} 1"#), "{text}");
    assert!(text.contains(r#"http_requests_total{method="unknown",status="404"} 1"#), "{text}");
    assert!(text.contains(r#"http_request_duration_seconds_count{method="triggerHook"} 2"#), "{text}");
    assert!(text.contains(r#"hooks_fires_total{fired_by="triggerHook",result="success"} 2"#), "{text}");
    assert!(text.contains(r#"hooks_db_pool_connections{pool="main",state="idle"}"#), "{text}");
    assert!(!text.contains(r#"hookId"#) && !text.contains("/g/h"), "no hook ids in labels");
}

#[tokio::test]
async fn heartbeat_is_200_while_the_database_answers() {
    let app = TestApp::spawn().await;
    for path in ["/__heartbeat__", "/api/hooks/v1/__heartbeat__"] {
        let resp = app.http.get(format!("{}{path}", app.root_url)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.json::<Value>().await.unwrap(), json!({}));
    }
}

#[tokio::test]
async fn heartbeat_is_503_naming_the_database_when_it_is_unreachable() {
    // Nothing listens on a port the system just handed out and took back.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = TestApp::spawn_with_database_url(&format!("postgres://postgres@127.0.0.1:{port}/hooks")).await;

    let resp = app.http.get(format!("{}/__heartbeat__", app.root_url)).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert!(body["down"]["database"].is_string(), "{body}");
    let lb = app.http.get(format!("{}/__lbheartbeat__", app.root_url)).send().await.unwrap();
    assert_eq!(lb.status(), 200, "the process itself still serves");
}

#[tokio::test]
async fn version_names_the_git_commit() {
    let app = TestApp::spawn().await;
    let version: Value =
        app.http.get(format!("{}/__version__", app.root_url)).send().await.unwrap().json().await.unwrap();
    let commit = version["commit"].as_str().unwrap();
    assert!(commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()), "{version}");
}
