//! The last wire gaps closed against upstream: createHook's echo, `x-for-trace-id` verbatim, the content-type
//! error's `null`, compressed answers and `charset=utf-8`, `__version__`'s source, and Ajv's texts for payloads
//! and request bodies. Raw HTTP where headers matter, signed with Hawk as the official clients sign.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::io::Read as _;

use common::{TESTER_TOKEN, TestApp, hawk_header, headline, hook_body, port_of, signed};
use reqwest::Method;
use serde_json::{Value, json};

/// A client that neither asks for nor decodes compressed answers by itself, so the test sees the bytes sent.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder().no_gzip().no_deflate().no_brotli().no_zstd().build().unwrap()
}

/// `GET /api/hooks/v1{path}` signed by `tester`, with an `Accept-Encoding` when given.
async fn get(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> reqwest::Response {
    let resource = format!("/api/hooks/v1{path}");
    let authorization = hawk_header("tester", TESTER_TOKEN, "GET", "127.0.0.1", port_of(app), &resource);
    let mut request = raw_client().get(app.url(path)).header("authorization", authorization);
    if let Some(accept) = accept_encoding {
        request = request.header("accept-encoding", accept);
    }
    request.send().await.unwrap()
}

fn header<'r>(res: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

/// A hook whose definition is several KiB of JSON, so `hook()` answers above the compression threshold.
async fn create_large_hook(app: &TestApp) -> Value {
    let mut body = hook_body();
    body["metadata"]["description"] = json!("a long description. ".repeat(200));
    app.hooks().createHook("g", "h", &body).await.unwrap()
}

#[tokio::test]
async fn create_hook_echoes_the_request_so_bindings_only_when_sent() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    let mut without = hook_body();
    without.as_object_mut().unwrap().remove("bindings");
    let created = hooks.createHook("g", "no-bindings", &without).await.unwrap();
    assert!(created.get("bindings").is_none(), "{created}");
    let mut stored = hooks.hook("g", "no-bindings").await.unwrap();
    assert_eq!(stored["bindings"], json!([]));
    stored.as_object_mut().unwrap().remove("bindings");
    assert_eq!(created, stored, "everything else is the hook as stored");

    // Sent, even empty: echoed, and the answer is the hook itself.
    let created = hooks.createHook("g", "with-bindings", &hook_body()).await.unwrap();
    assert_eq!(created["bindings"], json!([]));
    assert_eq!(created, hooks.hook("g", "with-bindings").await.unwrap());

    // updateHook answers the stored hook, bindings included (kept from before when left out), as upstream.
    let updated = hooks.updateHook("g", "with-bindings", &without).await.unwrap();
    assert_eq!(updated["bindings"], json!([]));
}

#[tokio::test]
async fn the_callers_trace_id_is_echoed_verbatim_whatever_its_shape() {
    let app = TestApp::spawn().await;
    let ping = app.url("/ping");
    for id in ["foo/123", "6c1e0b5e-2d1f-4c51-9d0a-3e1f2b7c8a90", "0af7651916cd43dd8448eb211c80319c"] {
        let res = raw_client().get(&ping).header("x-taskcluster-trace-id", id).send().await.unwrap();
        assert_eq!(header(&res, "x-for-trace-id"), Some(id));
    }

    let exactly_the_limit = "t".repeat(256);
    let res = raw_client().get(&ping).header("x-taskcluster-trace-id", &exactly_the_limit).send().await.unwrap();
    assert_eq!(header(&res, "x-for-trace-id"), Some(exactly_the_limit.as_str()));

    // Too long: a fresh id instead (32 hex digits), never the caller's.
    let oversized = "t".repeat(257);
    let res = raw_client().get(&ping).header("x-taskcluster-trace-id", &oversized).send().await.unwrap();
    let answered = header(&res, "x-for-trace-id").unwrap();
    assert_ne!(answered, oversized);
    assert_eq!(answered.len(), 32, "{answered}");
    assert!(answered.bytes().all(|b| b.is_ascii_hexdigit()), "{answered}");
}

#[tokio::test]
async fn a_schema_endpoint_without_content_type_says_null() {
    let app = TestApp::spawn().await;
    let resource = "/api/hooks/v1/hooks/g/h";
    let authorization = hawk_header("tester", TESTER_TOKEN, "PUT", "127.0.0.1", port_of(&app), resource);
    let res = raw_client().put(app.url("/hooks/g/h")).header("authorization", authorization).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "MalformedPayload");
    assert_eq!(headline(&body), "Payload must be JSON with content-type: application/json got content-type: null");
}

#[tokio::test]
async fn large_answers_are_gzipped_when_accepted_and_decode_to_the_same_json() {
    let app = TestApp::spawn().await;
    create_large_hook(&app).await;

    let plain = get(&app, "/hooks/g/h", None).await;
    assert_eq!(plain.status().as_u16(), 200);
    assert_eq!(header(&plain, "content-encoding"), None);
    assert_eq!(header(&plain, "vary"), Some("Accept-Encoding"));
    let plain_bytes = plain.bytes().await.unwrap();
    assert!(plain_bytes.len() >= 1024, "the answer must be above the threshold: {} bytes", plain_bytes.len());
    let expected: Value = serde_json::from_slice(&plain_bytes).unwrap();

    let gzipped = get(&app, "/hooks/g/h", Some("gzip, deflate, br")).await;
    assert_eq!(header(&gzipped, "content-encoding"), Some("gzip"));
    assert_eq!(header(&gzipped, "vary"), Some("Accept-Encoding"));
    assert_eq!(header(&gzipped, "content-type"), Some("application/json; charset=utf-8"));
    let compressed = gzipped.bytes().await.unwrap();
    assert!(compressed.len() < plain_bytes.len(), "{} >= {}", compressed.len(), plain_bytes.len());
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut decoded).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&decoded).unwrap(), expected);

    // deflate is HTTP's zlib format, as Node's createDeflate writes it.
    let deflated = get(&app, "/hooks/g/h", Some("deflate")).await;
    assert_eq!(header(&deflated, "content-encoding"), Some("deflate"));
    let mut decoded = Vec::new();
    flate2::read::ZlibDecoder::new(&deflated.bytes().await.unwrap()[..]).read_to_end(&mut decoded).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&decoded).unwrap(), expected);

    // Codings upstream never answers with are not used.
    let br = get(&app, "/hooks/g/h", Some("br")).await;
    assert_eq!(header(&br, "content-encoding"), None);
    assert_eq!(serde_json::from_slice::<Value>(&br.bytes().await.unwrap()).unwrap(), expected);
}

#[tokio::test]
async fn small_answers_and_head_are_never_compressed() {
    let app = TestApp::spawn().await;
    let small = get(&app, "/ping", Some("gzip")).await;
    assert_eq!(small.status().as_u16(), 200);
    assert_eq!(header(&small, "content-encoding"), None);
    assert_eq!(header(&small, "vary"), Some("Accept-Encoding"));
    let body: Value = small.json().await.unwrap();
    assert_eq!(body["alive"], json!(true));

    create_large_hook(&app).await;
    let resource = "/api/hooks/v1/hooks/g/h";
    let authorization = hawk_header("tester", TESTER_TOKEN, "HEAD", "127.0.0.1", port_of(&app), resource);
    let head = raw_client()
        .head(app.url("/hooks/g/h"))
        .header("authorization", authorization)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(header(&head, "content-encoding"), None);
}

#[tokio::test]
async fn json_answers_declare_utf8() {
    let app = TestApp::spawn().await;
    let ok = raw_client().get(app.url("/ping")).send().await.unwrap();
    assert_eq!(header(&ok, "content-type"), Some("application/json; charset=utf-8"));
    let error = raw_client().get(app.url("/hooks/g/h")).send().await.unwrap();
    assert_eq!(error.status().as_u16(), 403);
    assert_eq!(header(&error, "content-type"), Some("application/json; charset=utf-8"));
    let missing = raw_client().get(format!("{}/nowhere", app.root_url)).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(header(&missing, "content-type"), Some("application/json; charset=utf-8"));
}

#[tokio::test]
async fn version_names_this_projects_repository() {
    let app = TestApp::spawn().await;
    for url in [format!("{}/__version__", app.root_url), app.url("/__version__")] {
        let version: Value = raw_client().get(&url).send().await.unwrap().json().await.unwrap();
        assert_eq!(version["source"], "https://github.com/hooks-rs/hooks", "{url}");
    }
}

#[tokio::test]
async fn a_payload_the_trigger_schema_refuses_reads_as_ajv() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let (status, body) = signed(&app, Method::POST, "/hooks/g/h/trigger", Some(&json!({"location": 5}))).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("InputError")));
    assert_eq!(headline(&body), "data/location must be string");

    // The default triggerSchema: one error per unexpected property, joined as upstream joins them.
    let mut closed = hook_body();
    closed.as_object_mut().unwrap().remove("triggerSchema");
    app.hooks().createHook("g", "closed", &closed).await.unwrap();
    let (status, body) = signed(&app, Method::POST, "/hooks/g/closed/trigger", Some(&json!({"a": 1, "b": 2}))).await;
    assert_eq!(status, 400);
    assert_eq!(headline(&body), "data must NOT have additional properties; data must NOT have additional properties");
    assert!(app.fake.created_tasks().is_empty());
}

#[tokio::test]
async fn a_create_hook_body_the_schema_refuses_reads_as_ajv() {
    let app = TestApp::spawn().await;
    let mut body = hook_body();
    body["metadata"].as_object_mut().unwrap().remove("owner");
    body["nope"] = json!(1);
    let (status, answer) = signed(&app, Method::PUT, "/hooks/g/h", Some(&body)).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("InputValidationError")));
    let message = headline(&answer);
    let prefix =
        "\nSchema Validation Failed!\nRejecting Schema: /schemas/hooks/v1/create-hook-request.json#\nErrors:\n  * ";
    let errors = message.strip_prefix(prefix).unwrap_or_else(|| panic!("{message:?}"));
    let mut lines: Vec<&str> = errors.split("\n  * ").collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["data must NOT have additional properties: \"nope\"", "data/metadata must have required property 'owner'"]
    );
}

#[tokio::test]
async fn an_invalid_trigger_schema_is_refused_in_upstreams_lines() {
    let app = TestApp::spawn().await;
    let mut body = hook_body();
    body["triggerSchema"] = json!({"type": "beer"});
    let (status, answer) = signed(&app, Method::PUT, "/hooks/g/h", Some(&body)).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("InputError")));
    assert_eq!(
        headline(&answer),
        "triggerSchema: is not a valid JSON schema:\n \
         * Property data/type must be equal to one of the allowed values\n \
         * Property data/type must be array\n \
         * Property data/type must match a schema in anyOf"
    );
}
