//! Pausing and resuming a hook (an extension, docs/api.md): the answers, how hook() and getHookStatus show it,
//! triggers refused while paused, scopes, validation, the audit history and the hook-updated announcements.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::Duration;

use common::{HookChanges, LIMITED_TOKEN, TestApp, hawk_header, headline, hook_body, port_of, signed};
use diesel_async::AsyncConnection as _;
use hooks_core::HookKey;
use reqwest::Method;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

async fn post(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    signed(app, Method::POST, path, Some(body)).await
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    signed(app, Method::GET, path, None).await
}

#[tokio::test]
async fn a_paused_hook_shows_its_pause_and_a_resumed_one_reads_back_as_upstream() {
    let app = TestApp::spawn().await;
    let created = app.hooks().createHook("g", "h", &hook_body()).await.unwrap();

    let (status, paused) = post(&app, "/hooks/g/h/pause", &json!({"reason": "maintenance"})).await;
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["paused"]["reason"], "maintenance");
    assert_eq!(paused["paused"]["by"], "tester");
    let since = paused["paused"]["since"].as_str().unwrap().to_owned();
    assert!(chrono::DateTime::parse_from_rfc3339(&since).is_ok(), "{since}");
    let mut without = paused.clone();
    without.as_object_mut().unwrap().remove("paused");
    assert_eq!(without, created, "the definition is unchanged");

    let (_, read) = get(&app, "/hooks/g/h").await;
    assert_eq!(read, paused);
    let (_, status_reply) = get(&app, "/hooks/g/h/status").await;
    assert_eq!(status_reply["paused"], paused["paused"]);

    // Pausing again changes the reason, not when it began.
    let (status, again) = post(&app, "/hooks/g/h/pause", &json!({"reason": "still broken"})).await;
    assert_eq!(status, 200);
    assert_eq!(again["paused"]["reason"], "still broken");
    assert_eq!(again["paused"]["since"], since.as_str());

    // updateHook keeps it paused.
    app.hooks().updateHook("g", "h", &hook_body()).await.unwrap();
    assert_eq!(get(&app, "/hooks/g/h").await.1["paused"]["reason"], "still broken");

    let (status, resumed) = post(&app, "/hooks/g/h/resume", &json!({})).await;
    assert_eq!((status, &resumed), (200, &created));
    assert_eq!(get(&app, "/hooks/g/h").await.1, created);
    let (_, status_reply) = get(&app, "/hooks/g/h/status").await;
    assert!(status_reply.get("paused").is_none(), "{status_reply}");
    // Resuming a hook that is not paused is a no-op.
    assert_eq!(post(&app, "/hooks/g/h/resume", &json!({})).await, (200, created));
}

#[tokio::test]
async fn triggers_of_a_paused_hook_conflict_naming_the_reason() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    let token = hooks.getTriggerToken("g", "h").await.unwrap()["token"].as_str().unwrap().to_owned();
    post(&app, "/hooks/g/h/pause", &json!({"reason": "deploy freeze"})).await;

    let (status, reply) = post(&app, "/hooks/g/h/trigger", &json!({"location": "x"})).await;
    assert_eq!((status, reply["code"].as_str()), (409, Some("RequestConflict")), "{reply}");
    assert!(headline(&reply).contains("deploy freeze"), "{reply}");

    let res = app.http.post(app.url(&format!("/hooks/g/h/trigger/{token}"))).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let reply: Value = res.json().await.unwrap();
    assert!(headline(&reply).contains("deploy freeze"), "{reply}");
    // A wrong token learns nothing about the pause.
    let res = app.http.post(app.url("/hooks/g/h/trigger/wrong")).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(app.fake.created_tasks().is_empty());

    post(&app, "/hooks/g/h/resume", &json!({})).await;
    let (status, reply) = post(&app, "/hooks/g/h/trigger", &json!({"location": "x"})).await;
    assert_eq!(status, 200, "{reply}");
}

#[tokio::test]
async fn pausing_checks_its_scope_the_hook_and_the_body() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();

    for path in ["/hooks/other/h/pause", "/hooks/other/h/resume"] {
        let resource = format!("/api/hooks/v1{path}");
        let limited = hawk_header("limited", LIMITED_TOKEN, "POST", "127.0.0.1", port_of(&app), &resource);
        let res = app.http.post(app.url(path)).header("authorization", limited).json(&json!({"reason": "x"})).send();
        let res = res.await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
        let body: Value = res.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("hooks:modify-hook:other/h"), "{body}");
    }

    for path in ["/hooks/g/nope/pause", "/hooks/g/nope/resume"] {
        let body = if path.ends_with("pause") { json!({"reason": "x"}) } else { json!({}) };
        let (status, reply) = post(&app, path, &body).await;
        assert_eq!((status, reply["code"].as_str()), (404, Some("ResourceNotFound")), "{path}");
    }

    let long = "x".repeat(1001);
    for body in [json!({}), json!({"reason": ""}), json!({"reason": 5}), json!({"reason": long})] {
        let (status, reply) = post(&app, "/hooks/g/h/pause", &body).await;
        assert_eq!((status, reply["code"].as_str()), (400, Some("InputError")), "{body}");
        assert!(headline(&reply).starts_with("reason:"), "{reply}");
    }
    let (status, reply) = post(&app, "/hooks/g/h/pause", &json!({"reason": "x", "until": "later"})).await;
    assert_eq!((status, reply["code"].as_str()), (400, Some("InputError")));
    assert!(headline(&reply).contains("until"), "{reply}");
    let (status, _) = post(&app, "/hooks/g/h/resume", &json!({"reason": "x"})).await;
    assert_eq!(status, 400);
    // None of the refused calls paused it.
    assert!(get(&app, "/hooks/g/h").await.1.get("paused").is_none());
}

#[tokio::test]
async fn pausing_and_resuming_are_audited_and_announced() {
    let app = TestApp::spawn().await;
    let mut changes = HookChanges::tap(&app.names).await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    assert!(changes.next(WAIT).await.is_some(), "hook-created");

    post(&app, "/hooks/g/h/pause", &json!({"reason": "r"})).await;
    let updated = changes.next(WAIT).await.unwrap();
    assert!(updated.exchange.as_str().ends_with("/hook-updated"), "{}", updated.exchange);
    post(&app, "/hooks/g/h/resume", &json!({})).await;
    let updated = changes.next(WAIT).await.unwrap();
    assert!(updated.exchange.as_str().ends_with("/hook-updated"), "{}", updated.exchange);
    // A no-op resume announces nothing.
    post(&app, "/hooks/g/h/resume", &json!({})).await;
    assert!(changes.next(Duration::from_millis(500)).await.is_none());

    let mut conn = diesel_async::AsyncPgConnection::establish(&app.db.url).await.unwrap();
    let key = HookKey::parse("g", "h").unwrap();
    let history = hooks_core::storage::audit_history(&mut conn, &key).await.unwrap();
    let actions: Vec<(&str, &str)> = history.iter().map(|e| (e.action.as_str(), e.client_id.as_str())).collect();
    assert_eq!(actions, [("created", "tester"), ("paused", "tester"), ("resumed", "tester")]);
}
