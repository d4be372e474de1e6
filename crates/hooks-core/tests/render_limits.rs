//! Render bounds, end to end through the render worker processes: whatever a template or payload does, the render
//! answers within its bounds with a task or an error naming the bound, and the renderer goes on serving others.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

use std::time::{Duration, Instant};

use chrono::Utc;
use hooks_core::TaskId;
use hooks_core::render::{Bound, RenderError, RenderLimits, Renderer};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use test_support::templates::{self, nested};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

async fn render(r: &Renderer, template: Value, context: Value) -> Result<Option<Map<String, Value>>, RenderError> {
    r.render(&obj(template), &obj(context), &TaskId::generate(), Utc::now()).await
}

/// A render that must work, after (or beside) a hostile one.
async fn still_renders(r: &Renderer) {
    let task = render(r, json!({"n": {"$eval": "payload.n + 1"}}), json!({"payload": {"n": 41}})).await;
    assert_eq!(task.unwrap().unwrap()["n"], 42);
}

#[tokio::test]
async fn exponential_expression_parsing_stops_at_the_cpu_limit() {
    let r = test_support::renderer();
    let e = render(&r, json!({"a": {"$eval": nested("(", ")", 40)}}), json!({})).await.unwrap_err();
    assert_eq!(e, RenderError::Exceeded(Bound::CpuMillis(200)));
    assert_eq!(e.to_string(), "render exceeded its 200 ms CPU time limit");
    still_renders(&r).await;
}

#[tokio::test]
async fn finding_where_a_costly_render_failed_stays_within_the_cpu_limit() {
    // Each of the 100 levels the search goes down renders the costly part again: all of them would take far
    // past the limit; the search stops in time and says as much of the place as it found.
    let costly = json!({
        "$let": {"x": {"$reduce": {"$eval": "range(0, 3000)"}, "initial": 0, "each(acc, v)": {"$eval": "acc + v"}}},
        "in": {"$eval": "x + foo"},
    });
    let template = (0..100).fold(costly, |inner, _| json!({"a": inner}));
    let r = test_support::renderer();
    let e = render(&r, template, json!({})).await.unwrap_err();
    let RenderError::JsonE(text) = &e else { panic!("{e:?}") };
    assert!(text.starts_with("InterpreterError at template.a"), "{text}");
    assert!(text.ends_with(": unknown context value foo"), "{text}");
    still_renders(&r).await;
}

#[tokio::test]
async fn an_allocation_sized_by_the_template_stops_at_the_memory_limit() {
    let r = test_support::renderer();
    let e = render(&r, json!({"a": {"$eval": "range(0, 100000000)"}}), json!({})).await.unwrap_err();
    assert_eq!(e.to_string(), "render exceeded its 64 MiB memory limit");
    still_renders(&r).await;
}

#[tokio::test]
async fn deep_recursion_stops_at_the_stack_limit() {
    let r = test_support::renderer();
    let e = render(&r, json!({"a": {"$eval": nested("[", "]", 200_000)}}), json!({})).await.unwrap_err();
    assert_eq!(e, RenderError::Exceeded(Bound::Stack(16 * 1024 * 1024)));
    still_renders(&r).await;
}

#[tokio::test]
async fn a_panic_in_json_e_is_a_render_error_without_a_backtrace() {
    let r = test_support::renderer();
    let e = render(&r, json!({"a": {"$fromNow": "100000000000 years"}}), json!({})).await.unwrap_err();
    let RenderError::Failed(message) = &e else { panic!("{e:?}") };
    assert!(!message.contains("backtrace") && message.len() < 200, "{message}");
    assert!(e.to_string().starts_with("JSON-e error:"), "{e}");
    still_renders(&r).await;
}

/// A renderer of the test's own, so that other tests' hostile renders don't share its workers.
fn own_renderer(limits: RenderLimits) -> Renderer {
    Renderer::start(hooks_core::render::default_program().unwrap(), limits).unwrap()
}

#[tokio::test]
async fn a_task_larger_than_the_output_limit_is_refused() {
    let r = own_renderer(RenderLimits { output: 64 * 1024, ..RenderLimits::default() });
    let big: Vec<String> = (0..100).map(|i| format!("{i:01000}")).collect();
    let e = render(&r, json!({"a": {"$eval": "payload"}}), json!({"payload": big})).await.unwrap_err();
    assert_eq!(e.to_string(), "render exceeded its 64 KiB output limit (the rendered task is larger)");
    still_renders(&r).await;
}

#[tokio::test]
async fn a_template_multiplying_a_large_payload_stops_at_a_bound() {
    let r = test_support::renderer();
    let list: Vec<u32> = (0..3_000).collect();
    let template = json!({"a": {"$map": {"$eval": "payload"}, "each(x)": {"$eval": "payload"}}});
    let e = render(&r, template, json!({"payload": list})).await.unwrap_err();
    assert!(matches!(e, RenderError::Exceeded(_)), "{e:?}");
    still_renders(&r).await;
}

#[tokio::test]
async fn a_hostile_render_does_not_hold_up_others() {
    let r = own_renderer(RenderLimits { workers: 2, ..RenderLimits::default() });
    let hostile = async {
        let result = render(&r, json!({"a": {"$eval": nested("(", ")", 40)}}), json!({})).await;
        (result, Instant::now())
    };
    let good = async {
        // Started just after the hostile one, and served by the other worker meanwhile.
        tokio::time::sleep(Duration::from_millis(20)).await;
        for _ in 0..20 {
            still_renders(&r).await;
        }
        Instant::now()
    };
    let ((hostile, hostile_done), good_done) = tokio::join!(hostile, good);
    assert!(matches!(hostile, Err(RenderError::Exceeded(Bound::CpuMillis(_)))), "{hostile:?}");
    assert!(good_done < hostile_done, "the good renders waited for the hostile one");
}

#[tokio::test]
async fn the_renderer_refuses_to_start_on_a_program_that_does_not_render() {
    for program in ["/bin/false", "/bin/cat"] {
        let e = Renderer::start(program.into(), RenderLimits::default()).unwrap_err();
        assert!(e.to_string().starts_with(&format!("the render worker {program} does not work")), "{e}");
    }
    let e = Renderer::start("/nonexistent/hooks-render".into(), RenderLimits::default()).unwrap_err();
    assert!(e.to_string().contains("No such file"), "{e}");
}

#[tokio::test]
async fn a_worker_that_stops_answering_is_killed_at_the_time_limit() {
    let dir = std::env::temp_dir().join(format!("hooks-render-sleeper-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("sleeper");
    std::fs::write(&program, "#!/bin/sh\nexec sleep 60\n").unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&program).status().unwrap();
    let started = Instant::now();
    let e = Renderer::start(program, RenderLimits { cpu: Duration::from_millis(10), ..RenderLimits::default() });
    let e = e.unwrap_err().to_string();
    assert!(e.contains("render exceeded its 10000 ms time limit"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(dir);
}

// Random templates built from JSON-e's operators and expression pieces (the hostile ones included), with random
// payloads: every render answers within its bounds, and the renderer keeps working.
proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn any_template_and_payload_answer_within_the_bounds(t in templates::template(), p in templates::payload()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let r = test_support::renderer();
        let started = Instant::now();
        let result = runtime.block_on(render(&r, json!({"t": t}), json!({"payload": p})));
        let elapsed = started.elapsed();
        prop_assert!(elapsed < r.limits().wall_time(), "took {:?}", elapsed);
        prop_assert!(!matches!(result, Err(RenderError::Unavailable(_))), "{:?}", result);
        if let Ok(Some(task)) = &result {
            prop_assert!(serde_json::to_vec(task).unwrap().len() as u64 <= r.limits().output + 1024);
        }
        runtime.block_on(still_renders(&r));
    }
}
