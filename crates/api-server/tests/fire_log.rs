//! What a user reads about a hook's fires: each listed fire's real task state (from the queue, `unknown` when the
//! queue can't say in time) and the fire log, with every outcome and its source.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::{Duration, Instant};

use common::{LIMITED_TOKEN, TESTER_TOKEN, TestApp, hawk_header, hook_body, port_of, signed, status_of};
use reqwest::Method;
use serde_json::{Value, json};
use test_support::fake_taskcluster::TaskState;

/// The taskState listLastFires shows for each taskId.
async fn states(app: &TestApp) -> Vec<(String, String)> {
    let fires = app.hooks().listLastFires("g", "h", None, None).await.unwrap();
    let state = |f: &Value| (f["taskId"].as_str().unwrap().to_owned(), f["taskState"].as_str().unwrap().to_owned());
    fires["lastFires"].as_array().unwrap().iter().map(state).collect()
}

#[tokio::test]
async fn last_fires_show_each_tasks_state_as_the_queue_reports_it() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    let mut fired = Vec::new();
    for _ in 0..3 {
        fired.push(hooks.triggerHook("g", "h", &json!({})).await.unwrap()["taskId"].as_str().unwrap().to_owned());
    }
    app.fake.fail_create_task(1, 400, "InputError");
    hooks.triggerHook("g", "h", &json!({})).await.unwrap_err();
    app.fake.set_task_state(&fired[0], TaskState::Completed);
    app.fake.set_task_state(&fired[1], TaskState::Failed);

    let listed = states(&app).await;
    assert_eq!(listed.len(), 4);
    let of = |id: &str| listed.iter().find(|(t, _)| t == id).unwrap().1.clone();
    assert_eq!([of(&fired[0]), of(&fired[1]), of(&fired[2])], ["completed", "failed", "pending"]);
    let failed = listed.iter().find(|(t, _)| !fired.contains(t)).unwrap();
    assert_eq!(failed.1, "unknown", "a fire that created no task has no state");

    // A final state is kept: the queue is not asked again for it (here it would answer differently).
    app.fake.set_task_state(&fired[0], TaskState::Running);
    let again = states(&app).await;
    assert!(again.contains(&(fired[0].clone(), "completed".to_owned())), "{again:?}");
}

#[tokio::test]
async fn a_slow_or_failing_queue_leaves_states_unknown_and_never_fails_or_stalls_the_listing() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    hooks.triggerHook("g", "h", &json!({})).await.unwrap();

    app.fake.fail_task_status(1000, 503, "ServiceUnavailable");
    assert_eq!(states(&app).await[0].1, "unknown");

    app.fake.fail_task_status(0, 503, "ServiceUnavailable");
    app.fake.delay_task_status(Duration::from_secs(30));
    let started = Instant::now();
    assert_eq!(states(&app).await[0].1, "unknown");
    // The bound is the listing's own budget (800 ms) plus the request itself; far below the queue's 30 s.
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

async fn fire_log(app: &TestApp, query: &str) -> (u16, Value) {
    signed(app, Method::GET, &format!("/hooks/g/h/fire-log{query}"), None).await
}

#[tokio::test]
async fn the_fire_log_lists_every_outcome_with_its_source_newest_first_in_pages() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    assert_eq!(fire_log(&app, "").await, (200, json!({"events": []})), "an existing hook with no events");

    let created = hooks.triggerHook("g", "h", &json!({"location": "here"})).await.unwrap();
    let err = hooks.triggerHook("g", "h", &json!({"location": 12345})).await.unwrap_err();
    assert_eq!(status_of(&err), Some(400));
    let token = hooks.getTriggerToken("g", "h").await.unwrap()["token"].as_str().unwrap().to_owned();
    let webhook = app
        .http
        .post(app.url(&format!("/hooks/g/h/trigger/{token}")))
        .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 200);

    let (status, log) = fire_log(&app, "").await;
    assert_eq!(status, 200);
    let events = log["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{log}");
    let (webhook, refused, fired) = (&events[0], &events[1], &events[2]);
    assert_eq!(fired["outcome"], "created");
    assert_eq!(fired["firedBy"], "triggerHook");
    assert_eq!(fired["taskId"], created["taskId"]);
    assert_eq!(fired["source"], json!({"clientId": "tester"}));
    assert!(fired.get("error").is_none());
    assert_eq!(refused["outcome"], "payload-rejected");
    assert!(refused.get("taskId").is_none());
    let error = refused["error"].as_str().unwrap();
    assert!(error.contains("payload/location"), "{error}");
    assert!(!error.contains("12345"), "the payload is never in the log: {error}");
    assert_eq!(webhook["outcome"], "created");
    assert_eq!(webhook["firedBy"], "triggerHookWithToken");
    assert_eq!(webhook["source"], json!({"deliveryId": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}));
    assert!(!webhook.to_string().contains(&token), "the trigger token is never in the log");

    // Pages of one, following the token, give the same events in the same order.
    let mut paged = Vec::new();
    let mut query = "?limit=1".to_owned();
    loop {
        let (status, page) = fire_log(&app, &query).await;
        assert_eq!(status, 200);
        paged.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["continuationToken"].as_str() {
            Some(token) => query = format!("?limit=1&continuationToken={token}"),
            None => break,
        }
    }
    assert_eq!(&paged, events);
}

#[tokio::test]
async fn the_fire_log_refuses_unknown_hooks_bad_tokens_and_callers_without_the_scope() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();

    let (status, body) = signed(&app, Method::GET, "/hooks/g/nope/fire-log", None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("ResourceNotFound")));
    let (status, body) = fire_log(&app, "?continuationToken=not-a-token").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("InputError")));
    let (status, _) = fire_log(&app, "?limit=ten").await;
    assert_eq!(status, 400);

    let resource = "/api/hooks/v1/hooks/g/h/fire-log";
    let limited = hawk_header("limited", LIMITED_TOKEN, "GET", "127.0.0.1", port_of(&app), resource);
    let res = app.http.get(app.url("/hooks/g/h/fire-log")).header("authorization", limited).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("hooks:list-last-fires:g/h"), "{body}");
    // The tester (every scope) is let in: the 403 above is the scope, not the signature.
    let tester = hawk_header("tester", TESTER_TOKEN, "GET", "127.0.0.1", port_of(&app), resource);
    let res = app.http.get(app.url("/hooks/g/h/fire-log")).header("authorization", tester).send().await.unwrap();
    assert_eq!(res.status(), 200);
}
