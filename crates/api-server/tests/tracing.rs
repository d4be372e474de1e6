//! Traces: the request's trace id comes from `x-taskcluster-trace-id` and goes back in `x-for-trace-id`, and the
//! spans of a request (down to render and task creation) are exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is set.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::Duration;

use common::{ApiProcess, hook_body};
use test_support::otlp::Collector;
use test_support::{FakeTaskcluster, TestDb, eventually};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

#[tokio::test]
async fn a_request_joins_the_callers_trace_and_its_spans_are_exported() {
    let (db, fake, collector) = (TestDb::new().await, FakeTaskcluster::start_default(), Collector::start());
    let endpoint = collector.endpoint();
    let api = ApiProcess::start(
        &db,
        &fake,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "100")],
    )
    .await;
    api.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let token = api.hooks().getTriggerToken("g", "h").await.unwrap()["token"].as_str().unwrap().to_owned();

    let res = reqwest::Client::new()
        .post(format!("{}/api/hooks/v1/hooks/g/h/trigger/{token}", api.root_url))
        .header("x-taskcluster-trace-id", TRACE_ID)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["x-for-trace-id"], TRACE_ID);
    assert!(!res.headers()["x-for-request-id"].is_empty());

    let exported = eventually(Duration::from_secs(10), || async {
        collector.received(&hex_bytes(TRACE_ID))
            && collector.received(b"triggerHookWithToken")
            && collector.received(b"create_task")
            && collector.received(b"record_last_fire")
            && collector.received(b"db.find_hook")
    })
    .await;
    assert!(exported, "the request's spans were not exported under the caller's trace id");
}

#[tokio::test]
async fn without_a_collector_every_response_still_carries_a_trace_and_request_id() {
    let (db, fake) = (TestDb::new().await, FakeTaskcluster::start_default());
    let api = ApiProcess::start(&db, &fake, &[]).await;
    let http = reqwest::Client::new();
    let ping = format!("{}/api/hooks/v1/ping", api.root_url);
    let first = http.get(&ping).send().await.unwrap();
    let trace = first.headers()["x-for-trace-id"].to_str().unwrap().to_owned();
    assert_eq!(trace.len(), 32, "{trace}");
    assert!(trace.bytes().all(|b| b.is_ascii_hexdigit()), "{trace}");
    let second = http.get(&ping).send().await.unwrap();
    assert_ne!(second.headers()["x-for-trace-id"].to_str().unwrap(), trace, "each request its own trace");
    assert_ne!(second.headers()["x-for-request-id"], first.headers()["x-for-request-id"]);
    // A caller's trace id is kept even when traces are not exported.
    let joined = http.get(&ping).header("x-taskcluster-trace-id", TRACE_ID).send().await.unwrap();
    assert_eq!(joined.headers()["x-for-trace-id"], TRACE_ID);
}
