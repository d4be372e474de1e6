//! Property: whatever template a hook holds and whatever payload triggers it, createHook and triggerHook answer
//! with a verdict (200, or a 4xx naming the problem) within the render bounds, never a 5xx, and the server goes on
//! serving.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::{Duration, Instant};

use common::{TestApp, hook_body, signed};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};
use test_support::templates;

#[test]
fn any_template_and_payload_get_an_answer_within_the_bounds() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let mut runner = TestRunner::new(Config { cases: 32, failure_persistence: None, ..Config::default() });
    let n = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&(templates::template(), templates::payload()), |(template, payload)| {
            let n = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            runtime.block_on(check(&app, n, template, payload))
        })
        .unwrap();
    let (status, _) = runtime.block_on(signed(&app, Method::GET, "/ping", None));
    assert_eq!(status, 200);
}

async fn check(app: &TestApp, n: usize, template: Value, payload: Value) -> Result<(), TestCaseError> {
    let mut body = hook_body();
    body["task"]["extra"] = json!({"t": template});
    body["triggerSchema"] = json!({"type": "object"});
    let path = format!("/hooks/g/p{n}");
    let (status, reply) = signed(app, Method::PUT, &path, Some(&body)).await;
    proptest::prop_assert!(status == 200 || status == 400, "createHook answered {status}: {reply}");
    if status != 200 {
        return Ok(());
    }
    let started = Instant::now();
    let (status, reply) = signed(app, Method::POST, &format!("{path}/trigger"), Some(&payload)).await;
    let took = started.elapsed();
    proptest::prop_assert!(status == 200 || status == 400, "triggerHook answered {status}: {reply}");
    // A hang, not a speed, check: the render's real-time backstop (10 s by default) plus the rest of the request.
    proptest::prop_assert!(took < Duration::from_secs(20), "triggerHook took {took:?}");
    Ok(())
}
