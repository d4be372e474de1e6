//! The project's extensions to the API (docs/api.md): render previews of a stored hook (renderHook) and of a
//! definition before it is saved (renderDefinition), which create and record nothing, and a hook's upcoming slots
//! (hookSchedule).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use common::{LIMITED_TOKEN, TestApp, hawk_header, headline, hook_body, port_of, signed};
use reqwest::Method;
use serde_json::{Value, json};

async fn post(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    signed(app, Method::POST, path, Some(body)).await
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    signed(app, Method::GET, path, None).await
}

/// A hook whose task shows what its template saw: each context key, when the context has it.
fn context_hook() -> Value {
    let mut body = hook_body();
    let seen = |key: &str| json!({"$if": format!("defined('{key}')"), "then": {"$eval": key}});
    body["task"]["payload"] = json!({
        "firedBy": seen("firedBy"), "taskId": seen("taskId"), "now": seen("now"), "clientId": seen("clientId"),
        "payload": seen("payload"), "exchange": seen("exchange"), "routingKey": seen("routingKey"),
    });
    body
}

/// What the template saw when `body` is previewed on `g/ctx`.
async fn seen(app: &TestApp, body: Value) -> Value {
    let (status, reply) = post(app, "/hooks/g/ctx/render", &body).await;
    assert_eq!(status, 200, "{reply}");
    reply["task"]["payload"].clone()
}

/// The code and the message without its request details.
fn refusal(status: u16, body: &Value) -> (u16, String, String) {
    (status, body["code"].as_str().unwrap().to_owned(), headline(body).to_owned())
}

#[tokio::test]
async fn a_preview_renders_the_task_with_defaults_filled_and_creates_or_records_nothing() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();

    let body = json!({"payload": {"location": "here"}, "now": "2026-12-05T10:00:00.000Z"});
    let (status, reply) = post(&app, "/hooks/g/h/render", &body).await;

    assert_eq!(status, 200, "{reply}");
    let task = &reply["task"];
    assert_eq!(task["provisionerId"], "no-provisioner");
    assert_eq!(task["payload"], json!({"from": "triggerHook"}));
    assert_eq!(task["created"], "2026-12-05T10:00:00.000Z");
    assert_eq!(task["deadline"], "2026-12-06T10:00:00.000Z");
    assert_eq!(task["expires"], "2027-01-04T10:00:00.000Z");
    assert_eq!(task["taskGroupId"].as_str().unwrap().len(), 22, "a fresh taskId: {task}");
    assert!(app.fake.create_task_requests().is_empty(), "the queue was never asked to create a task");
    assert_eq!(app.fake.created_count(), 0);
    let (status, _) = get(&app, "/hooks/g/h/last-fires").await;
    assert_eq!(status, 404, "no last fire was recorded");
    assert_eq!(get(&app, "/hooks/g/h/fire-log").await, (200, json!({"events": []})), "no fire-log event");
}

#[tokio::test]
async fn a_template_that_declines_previews_as_a_null_task() {
    let app = TestApp::spawn().await;
    let mut body = hook_body();
    body["task"] = json!({"$if": "payload.location == 'go'", "then": body["task"].clone()});
    app.hooks().createHook("g", "h", &body).await.unwrap();

    let (status, reply) = post(&app, "/hooks/g/h/render", &json!({"payload": {"location": "stay"}})).await;
    assert_eq!((status, reply), (200, json!({"task": null})));
    let (status, reply) = post(&app, "/hooks/g/h/render", &json!({"payload": {"location": "go"}})).await;
    assert_eq!(status, 200);
    assert_eq!(reply["task"]["payload"], json!({"from": "triggerHook"}));
    assert_eq!(app.fake.created_count(), 0);
}

#[tokio::test]
async fn refusals_and_render_errors_are_answered_as_trigger_hook_answers_them() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let mut broken = hook_body();
    broken["task"]["payload"] = json!({"x": {"$eval": "nosuchvariable"}});
    app.hooks().createHook("g", "broken", &broken).await.unwrap();

    let payload = json!({"location": 12345});
    let (status, triggered) = post(&app, "/hooks/g/h/trigger", &payload).await;
    let (status2, previewed) = post(&app, "/hooks/g/h/render", &json!({"payload": payload})).await;
    assert_eq!(refusal(status2, &previewed), refusal(status, &triggered));
    assert_eq!((status, triggered["code"].as_str()), (400, Some("InputError")), "{triggered}");

    let (status, triggered) = post(&app, "/hooks/g/broken/trigger", &json!({})).await;
    let (status2, previewed) = post(&app, "/hooks/g/broken/render", &json!({"payload": {}})).await;
    assert_eq!(refusal(status2, &previewed), refusal(status, &triggered));
    assert_eq!(status, 400);
    assert!(headline(&previewed).contains("nosuchvariable"), "{previewed}");

    // A body that is not an object is refused as triggerHook refuses one.
    let (status, triggered) = post(&app, "/hooks/g/h/trigger", &json!([1])).await;
    let (status2, previewed) = post(&app, "/hooks/g/h/render", &json!({"payload": [1]})).await;
    assert_eq!(refusal(status2, &previewed), refusal(status, &triggered));
    assert_eq!(status, 400);

    // Only the triggerHook calls were recorded (g/h: its refused payload), and no call made a task.
    let (_, log) = get(&app, "/hooks/g/h/fire-log").await;
    assert_eq!(log["events"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(app.fake.created_count(), 0);
}

#[tokio::test]
async fn fired_by_now_and_the_message_fields_make_the_context_the_fire_would_see() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "ctx", &context_hook()).await.unwrap();

    let by_call = seen(&app, json!({"payload": {"location": "x"}, "now": "2026-12-05T11:00:00+01:00"})).await;
    assert_eq!(by_call["firedBy"], "triggerHook");
    assert_eq!(by_call["clientId"], "tester");
    assert_eq!(by_call["payload"], json!({"location": "x"}));
    assert_eq!(by_call["now"], "2026-12-05T10:00:00.000Z", "`now` is honoured, in UTC with milliseconds");
    assert!(by_call.get("exchange").is_none(), "{by_call}");

    let webhook = seen(&app, json!({"firedBy": "triggerHookWithToken", "payload": {}})).await;
    assert_eq!(webhook["firedBy"], "triggerHookWithToken");
    assert!(webhook.get("clientId").is_none(), "a webhook has no caller: {webhook}");
    let now = DateTime::parse_from_rfc3339(webhook["now"].as_str().unwrap()).unwrap();
    assert!((Utc::now() - now.with_timezone(&Utc)).abs() < Duration::minutes(1), "no `now` given: the current time");

    let scheduled = seen(&app, json!({"firedBy": "schedule"})).await;
    assert_eq!(scheduled["firedBy"], "schedule");
    assert!(scheduled.get("payload").is_none() && scheduled.get("clientId").is_none(), "{scheduled}");

    let message = json!({"firedBy": "pulseMessage", "payload": {}, "exchange": "exchange/x/v1/y", "routingKey": "a.b"});
    let by_message = seen(&app, message).await;
    assert_eq!(by_message["firedBy"], "pulseMessage");
    assert_eq!((&by_message["exchange"], &by_message["routingKey"]), (&json!("exchange/x/v1/y"), &json!("a.b")));
    assert!(by_message.get("clientId").is_none());

    // The payload's taskId is the task's, as triggerHook takes it; otherwise each preview has a fresh one.
    let named = seen(&app, json!({"payload": {"taskId": "fN1SbArXTPSVFNUvaOlinQ"}})).await;
    assert_eq!(named["taskId"], "fN1SbArXTPSVFNUvaOlinQ");
    assert_ne!(seen(&app, json!({})).await["taskId"], seen(&app, json!({})).await["taskId"]);

    for (body, field) in [
        (json!({"firedBy": "pulseMessage", "routingKey": "a"}), "exchange"),
        (json!({"firedBy": "triggerHook", "routingKey": "a"}), "routingKey"),
        (json!({"firedBy": "schedule", "payload": {}}), "payload"),
        (json!({"firedBy": "cron"}), "firedBy"),
        (json!({"now": "yesterday"}), "now"),
        (json!({"payload": {}, "extra": 1}), "extra"),
        (json!({"payload": {"taskId": "not a slug"}}), "taskId"),
    ] {
        let (status, reply) = post(&app, "/hooks/g/ctx/render", &body).await;
        assert_eq!((status, reply["code"].as_str()), (400, Some("InputError")), "{body}: {reply}");
        assert!(headline(&reply).contains(field), "{body}: {reply}");
    }
}

#[tokio::test]
async fn previews_need_their_scope_and_an_existing_hook() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();

    let (status, reply) = post(&app, "/hooks/g/nope/render", &json!({})).await;
    assert_eq!((status, reply["code"].as_str()), (404, Some("ResourceNotFound")));

    // `limited` may read and modify g's hooks but not trigger them.
    let resource = "/api/hooks/v1/hooks/g/h/render";
    let limited = hawk_header("limited", LIMITED_TOKEN, "POST", "127.0.0.1", port_of(&app), resource);
    let res =
        app.http.post(app.url("/hooks/g/h/render")).header("authorization", limited).json(&json!({})).send().await;
    let res = res.unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("hooks:trigger-hook:g/h"), "{body}");
}

#[tokio::test]
async fn a_definition_is_validated_as_create_hook_validates_it_and_previewed_unsaved() {
    let app = TestApp::spawn().await;

    let (status, reply) = post(&app, "/render", &json!({"hook": hook_body(), "payload": {"location": "x"}})).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["task"]["payload"], json!({"from": "triggerHook"}));
    assert_eq!(get(&app, "/hooks").await, (200, json!({"groups": []})), "nothing was stored");
    assert_eq!(app.fake.created_count(), 0);

    let mut bad_schedule = hook_body();
    bad_schedule["schedule"] = json!(["0 0 0 * * 8"]);
    let mut no_metadata = hook_body();
    no_metadata.as_object_mut().unwrap().remove("metadata");
    for definition in [bad_schedule, no_metadata] {
        let (status, created) = signed(&app, Method::PUT, "/hooks/g/new", Some(&definition)).await;
        let (status2, previewed) = post(&app, "/render", &json!({"hook": definition})).await;
        assert_eq!(status, 400, "{created}");
        assert_eq!(refusal(status2, &previewed), refusal(status, &created));
    }

    // The definition's triggerSchema applies to the preview's payload.
    let (status, reply) = post(&app, "/render", &json!({"hook": hook_body(), "payload": {"other": 1}})).await;
    assert_eq!((status, reply["code"].as_str()), (400, Some("InputError")), "{reply}");
    let (status, reply) = post(&app, "/render", &json!({"payload": {}})).await;
    assert_eq!(status, 400);
    assert!(headline(&reply).contains("hook"), "{reply}");
}

#[tokio::test]
async fn previewing_a_definition_takes_any_client_but_not_an_anonymous_caller() {
    let app = TestApp::spawn().await;
    let body = json!({"hook": hook_body()});

    let anonymous = app.http.post(app.url("/render")).json(&body).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let reply: Value = anonymous.json().await.unwrap();
    assert_eq!(reply["code"], "AuthenticationFailed", "{reply}");

    let limited = hawk_header("limited", LIMITED_TOKEN, "POST", "127.0.0.1", port_of(&app), "/api/hooks/v1/render");
    let res = app.http.post(app.url("/render")).header("authorization", limited).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200, "any client with valid credentials");
}

/// The next `count` times after `after` of "weekdays at 9 and 21, every day at 21", worked out day by day.
fn weekday_mornings_and_every_evening(after: DateTime<Utc>, count: usize) -> Vec<String> {
    let mut slots = Vec::new();
    let mut day = after.date_naive();
    while slots.len() < count {
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let hours: &[u32] = if weekend { &[21] } else { &[9, 21] };
        for hour in hours {
            let slot = day.and_time(NaiveTime::from_hms_opt(*hour, 0, 0).unwrap()).and_utc();
            if slot > after && slots.len() < count {
                slots.push(slot.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            }
        }
        day = day.succ_opt().unwrap();
    }
    slots
}

#[tokio::test]
async fn upcoming_slots_merge_the_patterns_and_honour_count() {
    let app = TestApp::spawn().await;
    let mut body = hook_body();
    body["schedule"] = json!(["0 0 9,21 * * 1-5", "0 0 21 * * *"]);
    app.hooks().createHook("g", "h", &body).await.unwrap();
    app.hooks().createHook("g", "unscheduled", &hook_body()).await.unwrap();

    for (query, count) in [("", 10), ("?count=3", 3), ("?count=100", 100)] {
        let before = Utc::now();
        let (status, reply) = get(&app, &format!("/hooks/g/h/schedule{query}")).await;
        let after = Utc::now();
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["schedule"], body["schedule"]);
        let slots: Vec<String> =
            reply["nextSlots"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
        // A slot may pass while the call is under way: either instant's answer is right.
        let expected =
            [weekday_mornings_and_every_evening(before, count), weekday_mornings_and_every_evening(after, count)];
        assert!(expected.contains(&slots), "{query}: {slots:?}");
    }

    let (status, reply) = get(&app, "/hooks/g/unscheduled/schedule").await;
    assert_eq!((status, reply), (200, json!({"schedule": [], "nextSlots": []})));
}

#[tokio::test]
async fn upcoming_slots_refuse_bad_counts_unknown_hooks_and_callers_without_the_scope() {
    let app = TestApp::spawn().await;
    let mut body = hook_body();
    body["schedule"] = json!(["@daily"]);
    app.hooks().createHook("g", "h", &body).await.unwrap();

    for count in ["0", "101", "ten", "-1", "1.5", ""] {
        let (status, reply) = get(&app, &format!("/hooks/g/h/schedule?count={count}")).await;
        assert_eq!((status, reply["code"].as_str()), (400, Some("InputError")), "count={count}: {reply}");
        assert!(headline(&reply).starts_with("count:"), "{reply}");
    }
    let (status, _) = get(&app, "/hooks/g/h/schedule?limit=3").await;
    assert_eq!(status, 400, "an undeclared query parameter");

    let (status, reply) = get(&app, "/hooks/g/nope/schedule").await;
    assert_eq!((status, reply["code"].as_str()), (404, Some("ResourceNotFound")));

    // `limited` holds hook()'s `hooks:get:g:*`, which is enough; for another group it holds neither form.
    app.hooks().createHook("other", "h", &body).await.unwrap();
    let limited_get = |route: &str| {
        let resource = format!("/api/hooks/v1{route}");
        let limited = hawk_header("limited", LIMITED_TOKEN, "GET", "127.0.0.1", port_of(&app), &resource);
        app.http.get(app.url(route)).header("authorization", limited).send()
    };
    let res = limited_get("/hooks/g/h/schedule").await.unwrap();
    assert_eq!(res.status(), 200);
    let res = limited_get("/hooks/other/h/schedule").await.unwrap();
    assert_eq!(res.status(), 403);
    let reply: Value = res.json().await.unwrap();
    let message = reply["message"].as_str().unwrap();
    assert!(message.contains("hooks:get:other/h") && message.contains("hooks:get:other:h"), "{reply}");
}
