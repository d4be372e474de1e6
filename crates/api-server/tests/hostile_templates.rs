//! Hostile templates through the API: a hook whose template passes createHook but goes past a render bound when
//! triggered (memory, a panic inside json-e, output size, CPU time) is answered 400 InputError naming the bound
//! within seconds and recorded as an `error` last fire, while the server goes on serving everyone else.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::{Duration, Instant};

use common::{ApiProcess, TestApp, headline, hook_body, signed, status_of};
use reqwest::Method;
use serde_json::{Value, json};
use test_support::{FakeTaskcluster, TestDb};

/// How long a hostile trigger may take to be refused: the bounds stop a render in well under a second; this
/// leaves room for a loaded machine and a debug build, and is far below what an unbounded render would take.
const REFUSED_WITHIN: Duration = Duration::from_secs(5);
/// Triggers of the good hook sent while the hostile ones are in flight.
const GOOD_TRIGGERS: usize = 12;

/// A template that passes createHook and goes past one bound when rendered with `payload`.
struct Hostile {
    /// The task template's `payload` field.
    task_payload: Value,
    /// The trigger payload.
    payload: Value,
    /// What the refusal and the last fire say (for a panic: how they start, the panic's text follows).
    says: &'static str,
}

fn memory() -> Hostile {
    Hostile {
        task_payload: json!({"list": {"$eval": "range(0, 100000000)"}}),
        payload: json!({}),
        says: "render exceeded its 64 MiB memory limit",
    }
}

fn panic() -> Hostile {
    Hostile {
        task_payload: json!({"when": {"$fromNow": "100000000000 years"}}),
        payload: json!({}),
        says: "JSON-e error: the renderer failed on this template: ",
    }
}

fn output() -> Hostile {
    Hostile {
        task_payload: json!({"echo": {"$eval": "payload"}}),
        payload: json!({"big": "x".repeat(1_200_000)}),
        says: "render exceeded its 1 MiB output limit (the rendered task is larger)",
    }
}

fn cpu() -> Hostile {
    // Nested exactly as deep as createHook allows, and unterminated: the parser backtracks through every level
    // (about 1.3 s of CPU in a release build, far more in a debug one).
    Hostile {
        task_payload: json!({"slow": {"$eval": "a[1+".repeat(hooks_core::MAX_EXPRESSION_NESTING)}}),
        payload: json!({}),
        says: "render exceeded its 200 ms CPU time limit",
    }
}

fn good_body() -> Value {
    let mut body = hook_body();
    body["triggerSchema"] = json!({"type": "object"});
    body
}

fn hostile_body(hostile: &Hostile) -> Value {
    let mut body = good_body();
    body["task"]["payload"] = hostile.task_payload.clone();
    body
}

/// Whether `text` is what `hostile` says.
fn says(hostile: &Hostile, text: &str) -> bool {
    if hostile.says.ends_with(": ") { text.starts_with(hostile.says) } else { text == hostile.says }
}

/// triggerHook, signed by `tester`: the status and the body.
async fn trigger(app: &TestApp, hook_id: &str, payload: &Value) -> (u16, Value) {
    signed(app, Method::POST, &format!("/hooks/g/{hook_id}/trigger"), Some(payload)).await
}

/// triggerHookWithToken, unauthenticated: the status and the body.
async fn trigger_with_token(app: &TestApp, hook_id: &str, token: &str, payload: &Value) -> (u16, Value) {
    let res =
        app.http.post(app.url(&format!("/hooks/g/{hook_id}/trigger/{token}"))).json(payload).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn assert_refused(hostile: &Hostile, method: &str, (status, body): &(u16, Value)) {
    assert_eq!((*status, body["code"].as_str()), (400, Some("InputError")), "{method}: {body}");
    let message = headline(body);
    let reason = message.strip_prefix("While firing hook:\n\n").unwrap_or_else(|| panic!("{method}: {message:?}"));
    assert!(says(hostile, reason), "{method} said {reason:?}, not {:?}", hostile.says);
    assert_eq!(body["requestInfo"]["method"], method, "{body}");
}

/// Triggers the hostile hook both ways while the good hook is triggered [`GOOD_TRIGGERS`] times at once; then
/// checks the refusals, the good fires, the last fires, and that the server still serves.
async fn assert_hostile_triggers_are_refused_and_the_server_serves_others(hostile: Hostile) {
    let app = &TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "good", &good_body()).await.unwrap();
    hooks.createHook("g", "hostile", &hostile_body(&hostile)).await.unwrap();
    let token = hooks.getTriggerToken("g", "hostile").await.unwrap()["token"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let refused = async {
        let (by_call, by_token) = tokio::join!(
            trigger(app, "hostile", &hostile.payload),
            trigger_with_token(app, "hostile", &token, &hostile.payload),
        );
        (by_call, by_token, started.elapsed())
    };
    let good = futures::future::join_all(
        (0..GOOD_TRIGGERS).map(|i| async move { trigger(app, "good", &json!({"i": i})).await }),
    );
    let ((by_call, by_token, refused_in), good) = tokio::join!(refused, good);

    assert_refused(&hostile, "triggerHook", &by_call);
    assert_refused(&hostile, "triggerHookWithToken", &by_token);
    assert!(refused_in < REFUSED_WITHIN, "the hostile triggers took {refused_in:?}");
    for (status, body) in &good {
        assert_eq!(*status, 200, "a good trigger beside the hostile ones: {body}");
    }
    let created = app.fake.created_tasks();
    assert_eq!(created.len(), GOOD_TRIGGERS, "only the good hook created tasks");
    assert!(created.iter().all(|t| t.authorized_scopes.as_deref() == Some(&["assume:hook-id:g/good".to_owned()][..])));

    // The server, and its renderer, go on serving.
    let ping = app.http.get(app.url("/ping")).send().await.unwrap();
    assert_eq!(ping.status(), 200);
    assert_eq!(trigger(app, "good", &json!({})).await.0, 200);

    let listed = hooks.listLastFires("g", "hostile", None, None).await.unwrap();
    let fires = listed["lastFires"].as_array().unwrap();
    let mut fired_by: Vec<&str> = fires.iter().map(|f| f["firedBy"].as_str().unwrap()).collect();
    fired_by.sort_unstable();
    assert_eq!(fired_by, ["triggerHook", "triggerHookWithToken"], "{fires:?}");
    for fire in fires {
        assert_eq!(fire["result"], "error", "{fire}");
        assert!(says(&hostile, fire["error"].as_str().unwrap()), "{fire}");
    }
}

#[tokio::test]
async fn a_template_exhausting_memory_is_refused_naming_the_memory_limit_while_good_triggers_succeed() {
    assert_hostile_triggers_are_refused_and_the_server_serves_others(memory()).await;
}

#[tokio::test]
async fn a_template_panicking_json_e_is_refused_as_a_json_e_error_while_good_triggers_succeed() {
    assert_hostile_triggers_are_refused_and_the_server_serves_others(panic()).await;
}

#[tokio::test]
async fn a_task_over_the_output_limit_is_refused_naming_the_output_limit_while_good_triggers_succeed() {
    assert_hostile_triggers_are_refused_and_the_server_serves_others(output()).await;
}

#[tokio::test]
async fn a_template_burning_cpu_is_refused_naming_the_cpu_limit_while_good_triggers_succeed() {
    assert_hostile_triggers_are_refused_and_the_server_serves_others(cpu()).await;
}

#[tokio::test]
async fn the_server_process_survives_every_hostile_trigger_and_goes_on_serving() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let mut api = ApiProcess::start(&db, &fake, &[]).await;
    let hooks = api.hooks();
    hooks.createHook("g", "good", &good_body()).await.unwrap();
    for (i, hostile) in [memory(), panic(), output(), cpu()].iter().enumerate() {
        let id = format!("hostile-{i}");
        hooks.createHook("g", &id, &hostile_body(hostile)).await.unwrap();
        let err = hooks.triggerHook("g", &id, &hostile.payload).await.unwrap_err();
        assert_eq!(status_of(&err), Some(400), "{err}");
        assert!(err.to_string().contains(hostile.says), "{err}");
        assert!(api.child.try_wait().unwrap().is_none(), "the api-server exited after the {id} trigger");
    }
    let ping = reqwest::get(format!("{}/api/hooks/v1/ping", api.root_url)).await.unwrap();
    assert_eq!(ping.status(), 200);
    let reply = hooks.triggerHook("g", "good", &json!({})).await.unwrap();
    assert!(reply["taskId"].is_string(), "{reply}");
    assert_eq!(fake.created_tasks().len(), 1);
    assert!(api.child.try_wait().unwrap().is_none(), "the api-server exited");
}
