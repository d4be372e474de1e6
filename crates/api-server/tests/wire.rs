//! Wire details the old (Express) service had and clients may lean on: OPTIONS and HEAD answers, the headers on every
//! response, getHookStatus's shapes, triggerHook's errors, `--trust-proxy`, body encodings, Hawk's `app` and `dlg`,
//! and what remote mode asks the auth service. Raw HTTP where the exact bytes matter, signed with Hawk as the
//! official clients sign.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use chrono::{DateTime, Duration as TimeDelta, Utc};
use common::{TESTER_TOKEN, TestApp, hawk_header, headline, hook_body, port_of, signed, status_of};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use test_support::{FakeTaskcluster, broker};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const CSP: &str = "report-uri /__cspreport__;default-src 'none';frame-ancestors 'none';";

/// Parses a time as JavaScript's `Date.prototype.toJSON` writes it: `YYYY-MM-DDTHH:mm:ss.sssZ`.
fn js_time(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().unwrap_or_else(|| panic!("not a time string: {value}"));
    let b = text.as_bytes();
    assert!(b.len() == 24 && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z', "not toJSON's format: {text}");
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// The CORS headers of the API router and the security headers of the app, which upstream puts on every API answer.
fn assert_upstream_headers(what: &str, headers: &HeaderMap) {
    let expected = [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "OPTIONS,GET,HEAD,POST,PUT,DELETE,TRACE,CONNECT"),
        ("access-control-max-age", "900"),
        ("access-control-allow-headers", "X-Requested-With,Content-Type,Authorization,Accept,Origin,Cache-Control"),
        ("access-control-request-method", "*"),
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store no-cache must-revalidate"),
    ];
    for (name, value) in expected {
        assert_eq!(headers.get(name).map(|v| v.to_str().unwrap()), Some(value), "{what}: header {name}");
    }
    for name in ["x-for-request-id", "x-for-trace-id"] {
        let value = headers.get(name).unwrap_or_else(|| panic!("{what}: no {name}"));
        assert!(!value.is_empty(), "{what}: empty {name}");
    }
}

#[tokio::test]
async fn options_answers_the_paths_methods_as_express_does() {
    let app = TestApp::spawn().await;

    let res = app.http.request(Method::OPTIONS, app.url("/hooks/g/h")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["allow"], "DELETE, GET, HEAD, POST, PUT");
    assert_eq!(res.headers()["content-type"], "text/plain");
    assert_upstream_headers("OPTIONS /hooks/g/h", res.headers());
    assert_eq!(res.text().await.unwrap(), "DELETE, GET, HEAD, POST, PUT");

    let res = app.http.request(Method::OPTIONS, app.url("/ping")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    assert_eq!(res.text().await.unwrap(), "GET, HEAD");
}

#[tokio::test]
async fn head_answers_a_get_route_without_a_body() {
    let app = TestApp::spawn().await;
    let res = app.http.head(app.url("/ping")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_upstream_headers("HEAD /ping", res.headers());

    // An HTTP client drops whatever follows a HEAD answer's headers, so look at the bytes themselves.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port_of(&app))).await.unwrap();
    let request = "HEAD /api/hooks/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(body, "", "no body after the headers");
}

#[tokio::test]
async fn a_method_the_path_lacks_is_the_json_404_of_unmatched_paths() {
    let app = TestApp::spawn().await;
    let res = app.http.patch(app.url("/ping")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "Not found"}));
}

#[tokio::test]
async fn a_trailing_slash_is_the_same_route_as_in_express() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let ping = app.http.get(app.url("/ping/")).send().await.unwrap();
    assert_eq!(ping.status().as_u16(), 200);
    assert_eq!(ping.json::<Value>().await.unwrap()["alive"], json!(true));
    // Signed for the path as sent, slash included.
    let (status, hook) = signed(&app, Method::GET, "/hooks/g/h/", None).await;
    assert_eq!((status, hook["hookId"].as_str()), (200, Some("h")));
}

#[tokio::test]
async fn every_answer_carries_the_cors_security_and_request_id_headers() {
    let app = TestApp::spawn().await;

    let ok = app.http.get(app.url("/ping")).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_upstream_headers("200 ping", ok.headers());

    // Without credentials, anonymous holds no scopes.
    let refused = app.http.get(app.url("/hooks/g/h")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert_upstream_headers("403 hook", refused.headers());

    let missing = app.http.patch(app.url("/ping")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_upstream_headers("404 PATCH ping", missing.headers());

    let ids: Vec<_> = [&ok, &refused, &missing].iter().map(|r| r.headers()["x-for-request-id"].clone()).collect();
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "one request id per request: {ids:?}");
}

#[tokio::test]
async fn status_of_a_hook_never_fired_is_exactly_no_fire() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    assert_eq!(hooks.getHookStatus("g", "h").await.unwrap(), json!({"lastFire": {"result": "no-fire"}}));
    assert_eq!(status_of(&hooks.getHookStatus("g", "missing").await.unwrap_err()), Some(404));
}

#[tokio::test]
async fn status_after_a_failed_fire_reports_the_error_and_its_time() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    let before = Utc::now() - TimeDelta::seconds(1);
    app.fake.fail_create_task(1, 400, "InputError");
    assert_eq!(status_of(&hooks.triggerHook("g", "h", &json!({})).await.unwrap_err()), Some(400));

    let status = hooks.getHookStatus("g", "h").await.unwrap();
    let last = status["lastFire"].as_object().unwrap();
    let mut keys: Vec<&str> = last.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["error", "result", "time"], "{status}");
    assert_eq!(last["result"], "error");
    let message = last["error"]["message"].as_str().unwrap_or_else(|| panic!("error is an object: {status}"));
    assert!(message.contains("Injected InputError failure from the fake Taskcluster queue"), "{status}");
    let time = js_time(&last["time"]);
    assert!(before <= time && time <= Utc::now(), "{time}");
    assert!(status.get("nextScheduledDate").is_none(), "{status}");
}

#[tokio::test]
async fn status_error_of_a_refused_create_task_is_its_text() {
    // Upstream stored JSON.stringify of its client's error object (reference §3.6); this service keeps the
    // queue's status, code and message as text, which getHookStatus answers as `{message}` (docs/migration.md).
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    app.fake.fail_create_task(1, 400, "InputError");
    hooks.triggerHook("g", "h", &json!({})).await.unwrap_err();

    let error = &hooks.getHookStatus("g", "h").await.unwrap()["lastFire"]["error"];
    assert_eq!(
        error,
        &json!({"message": "queue createTask answered 400 InputError: Injected InputError failure from the fake Taskcluster queue"}),
    );
}

#[tokio::test]
async fn status_of_a_scheduled_hook_names_its_next_date_and_an_unscheduled_one_does_not() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    let mut hourly = hook_body();
    hourly["schedule"] = json!(["0 0 * * * *"]);
    let before = Utc::now();
    hooks.createHook("g", "h", &hourly).await.unwrap();

    let status = hooks.getHookStatus("g", "h").await.unwrap();
    assert_eq!(status["lastFire"], json!({"result": "no-fire"}));
    let next = js_time(&status["nextScheduledDate"]);
    assert!(before < next && next <= before + TimeDelta::hours(1), "the next top of the hour: {next}");
    assert_eq!(next.timestamp() % 3600, 0, "on the hour: {next}");

    // Dropping the schedule drops the date.
    hooks.updateHook("g", "h", &hook_body()).await.unwrap();
    let status = hooks.getHookStatus("g", "h").await.unwrap();
    assert!(status.get("nextScheduledDate").is_none(), "{status}");
}

#[tokio::test]
async fn a_template_that_fails_to_render_is_400_while_firing_hook() {
    let app = TestApp::spawn().await;
    let mut body = hook_body();
    body["task"] = json!({"$eval": "undefined_var"});
    app.hooks().createHook("g", "h", &body).await.unwrap();

    let (status, answer) = signed(&app, Method::POST, "/hooks/g/h/trigger", Some(&json!({}))).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], "InputError", "{answer}");
    let message = headline(&answer);
    assert!(message.starts_with("While firing hook:\n\n"), "{message}");
    assert!(message.contains("unknown context value undefined_var"), "JSON-e's own words: {message}");
    assert!(app.fake.create_task_requests().is_empty());

    // The attempt is recorded, with JSON-e's error.
    let last = &app.hooks().getHookStatus("g", "h").await.unwrap()["lastFire"];
    assert_eq!(last["result"], "error", "{last}");
    assert!(last["error"]["message"].as_str().unwrap().contains("unknown context value undefined_var"), "{last}");
}

#[tokio::test]
async fn a_render_error_names_its_place_in_the_template_as_upstream_does() {
    let app = TestApp::spawn().await;
    let mut body = hook_body();
    body["task"]["payload"] = json!({"env": {"X": {"$eval": "foo"}, "list": [1, {"a b": "${payload.n + 1}"}]}});
    body["triggerSchema"] = json!({"type": "object"});
    app.hooks().createHook("g", "h", &body).await.unwrap();

    let expected = "InterpreterError at template.payload.env.X: unknown context value foo";
    let (status, answer) = signed(&app, Method::POST, "/hooks/g/h/trigger", Some(&json!({"n": 1}))).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("InputError")), "{answer}");
    assert_eq!(headline(&answer), format!("While firing hook:\n\n{expected}"));
    let last = &app.hooks().getHookStatus("g", "h").await.unwrap()["lastFire"];
    assert_eq!(last["error"]["message"], expected, "{last}");

    // Fixed there, the next error is found inside the list, in brackets where a key is no identifier.
    body["task"]["payload"]["env"]["X"] = json!("x");
    app.hooks().updateHook("g", "h", &body).await.unwrap();
    let (status, answer) = signed(&app, Method::POST, "/hooks/g/h/trigger", Some(&json!({"n": "one"}))).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        headline(&answer),
        "While firing hook:\n\nInterpreterError at template.payload.env.list[1][\"a b\"]: \
         infix: + expects numbers/strings + numbers/strings"
    );

    // A `$switch` condition says what is wrong with it, not only that something is.
    body["task"]["payload"]["env"] = json!({"Y": {"$switch": {"payload.n == 1": "one", "payload.m": "m"}}});
    app.hooks().updateHook("g", "h", &body).await.unwrap();
    let (status, answer) = signed(&app, Method::POST, "/hooks/g/h/trigger", Some(&json!({"n": 2}))).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        headline(&answer),
        "While firing hook:\n\nInterpreterError at template.payload.env.Y: object has no property \"m\""
    );
}

#[tokio::test]
async fn an_empty_task_id_fires_with_a_fresh_one_and_a_malformed_one_is_refused() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();

    // Upstream takes a falsy taskId as none given.
    let (status, answer) = signed(&app, Method::POST, "/hooks/g/h/trigger", Some(&json!({"taskId": ""}))).await;
    assert_eq!(status, 200, "{answer}");
    let task_id = answer["taskId"].as_str().unwrap();
    hooks_core::TaskId::parse(task_id).unwrap();
    assert_eq!(answer["status"]["taskId"], task_id);
    let created = app.fake.created_tasks();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].task_id, task_id);

    let (status, answer) =
        signed(&app, Method::POST, "/hooks/g/h/trigger", Some(&json!({"taskId": "not-a-slug"}))).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], "InputError", "{answer}");
    assert_eq!(headline(&answer), "Invalid taskId format: not-a-slug");
    assert_eq!(app.fake.create_task_requests().len(), 1, "nothing was sent to the queue");
}

/// `GET /hooks/g/h` sent over plain HTTP to `app` with `Host: hooks.example.com`, signed as if for
/// `https://hooks.example.com:443`, with the `forwarded` headers a TLS-terminating load balancer adds.
async fn through_a_tls_proxy(app: &TestApp, forwarded: &[(&str, &str)]) -> u16 {
    let resource = "/api/hooks/v1/hooks/g/h";
    let authorization = hawk_header("tester", TESTER_TOKEN, "GET", "hooks.example.com", 443, resource);
    let mut request =
        app.http.get(app.url("/hooks/g/h")).header("host", "hooks.example.com").header("authorization", authorization);
    for (name, value) in forwarded {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn trust_proxy_believes_the_forwarded_scheme_and_port_when_checking_signatures() {
    let trusting =
        TestApp::spawn_with(&broker::pulse_url(), FakeTaskcluster::start_default(), &["--trust-proxy"]).await;
    trusting.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    assert_eq!(through_a_tls_proxy(&trusting, &[("x-forwarded-proto", "https")]).await, 200);
    assert_eq!(through_a_tls_proxy(&trusting, &[("x-forwarded-port", "443")]).await, 200);
    assert_eq!(
        through_a_tls_proxy(&trusting, &[("x-forwarded-proto", "https"), ("x-forwarded-port", "443")]).await,
        200
    );
    // Without the headers the request is addressed to port 80, which it was not signed for.
    assert_eq!(through_a_tls_proxy(&trusting, &[]).await, 401);

    let untrusting = TestApp::spawn().await;
    untrusting.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    assert_eq!(through_a_tls_proxy(&untrusting, &[("x-forwarded-proto", "https")]).await, 401);
    assert_eq!(through_a_tls_proxy(&untrusting, &[("x-forwarded-port", "443")]).await, 401);
}

/// A Hawk header by `tester` for `method resource`, with a payload hash over `hashed` as `content_type`.
fn hawk_with_hash(app: &TestApp, method: &str, resource: &str, content_type: &str, hashed: &[u8]) -> hawk::Header {
    let hash = hawk::PayloadHasher::hash(content_type, hawk::SHA256, hashed).unwrap();
    let credentials = hawk::Credentials {
        id: "tester".to_owned(),
        key: hawk::Key::new(TESTER_TOKEN.as_bytes(), hawk::SHA256).unwrap(),
    };
    hawk::RequestBuilder::new(method, "127.0.0.1", port_of(app), resource)
        .hash(&hash[..])
        .request()
        .make_header(&credentials)
        .unwrap()
}

/// `GET /hooks` with a `text/plain` body, signed by `tester` with a payload hash over `hashed`.
async fn list_groups_with_text_body(app: &TestApp, body: &str, hashed: &[u8]) -> u16 {
    let header = hawk_with_hash(app, "GET", "/api/hooks/v1/hooks", "text/plain", hashed);
    let res = app
        .http
        .get(app.url("/hooks"))
        .header("authorization", format!("Hawk {header}"))
        .header("content-type", "text/plain")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

#[tokio::test]
async fn a_payload_hash_covers_only_a_json_body() {
    // Upstream reads a body only when it is declared application/json; any other is the empty text, and the
    // payload hash is checked against that.
    let app = TestApp::spawn().await;
    assert_eq!(list_groups_with_text_body(&app, "hello", b"hello").await, 401);
    assert_eq!(list_groups_with_text_body(&app, "hello", b"").await, 200);
}

/// `POST /hooks/g/h/trigger` with `body` as sent (already encoded) under `Content-Encoding: encoding`, signed by
/// `tester` with a payload hash over `decoded` (upstream hashes the body it decoded); the status and the answer.
async fn trigger_encoded(app: &TestApp, encoding: &str, body: Vec<u8>, decoded: &[u8]) -> (u16, Value) {
    let header = hawk_with_hash(app, "POST", "/api/hooks/v1/hooks/g/h/trigger", "application/json", decoded);
    let res = app
        .http
        .post(app.url("/hooks/g/h/trigger"))
        .header("authorization", format!("Hawk {header}"))
        .header("content-type", "application/json")
        .header("content-encoding", encoding)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let answer = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"));
    (status, answer)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A hook whose task carries the trigger payload's `location`.
async fn hook_echoing_location(app: &TestApp) {
    let mut body = hook_body();
    body["task"]["payload"] = json!({"location": "${payload.location}"});
    app.hooks().createHook("g", "h", &body).await.unwrap();
}

#[tokio::test]
async fn a_gzip_or_deflate_body_is_decoded_before_it_is_read_and_hashed() {
    let app = TestApp::spawn().await;
    hook_echoing_location(&app).await;
    let payload = br#"{"location": "compressed"}"#;
    for (encoding, body) in [("gzip", gzip(payload)), ("deflate", deflate(payload)), ("GZip", gzip(payload))] {
        let (status, answer) = trigger_encoded(&app, encoding, body, payload).await;
        assert_eq!(status, 200, "{encoding}: {answer}");
    }
    let created = app.fake.created_tasks();
    assert_eq!(created.len(), 3);
    assert!(created.iter().all(|t| t.task["payload"]["location"] == "compressed"), "{:?}", created[0].task);
}

#[tokio::test]
async fn an_unsupported_content_encoding_is_400_malformed_payload() {
    let app = TestApp::spawn().await;
    hook_echoing_location(&app).await;
    let payload = br#"{"location": "plain"}"#;
    // zstd as upstream: actix could decode it, body-parser can't.
    for encoding in ["foo", "zstd", "gzip, deflate"] {
        let (status, answer) = trigger_encoded(&app, encoding, payload.to_vec(), payload).await;
        assert_eq!(status, 400, "{encoding}: {answer}");
        assert_eq!(answer["code"], "MalformedPayload", "{answer}");
        assert_eq!(
            headline(&answer),
            format!("Content-Encoding {encoding} is not supported; send the body as identity, gzip, deflate or br")
        );
        assert_eq!(answer["requestInfo"]["method"], "triggerHook", "{answer}");
        assert_eq!(answer["requestInfo"]["params"], json!({"hookGroupId": "g", "hookId": "h"}), "{answer}");
    }
    assert!(app.fake.created_tasks().is_empty());
}

#[tokio::test]
async fn a_body_that_does_not_decode_is_400_malformed_payload() {
    let app = TestApp::spawn().await;
    hook_echoing_location(&app).await;
    let payload = br#"{"location": "corrupt"}"#;
    let mut bad_checksum = gzip(payload);
    let crc_at = bad_checksum.len() - 8;
    bad_checksum[crc_at] ^= 0xff;
    let whole = gzip(payload);
    let truncated = whole[..whole.len() / 2].to_vec();
    let cases =
        [("gzip", payload.to_vec()), ("gzip", bad_checksum), ("gzip", truncated), ("deflate", payload.to_vec())];
    for (encoding, body) in cases {
        let (status, answer) = trigger_encoded(&app, encoding, body, payload).await;
        assert_eq!(status, 400, "{encoding}: {answer}");
        assert_eq!(answer["code"], "MalformedPayload", "{answer}");
        let message = headline(&answer);
        assert!(message.starts_with(&format!("The {encoding} body could not be decoded: ")), "{message}");
        assert_eq!(answer["requestInfo"]["method"], "triggerHook", "{answer}");
    }
    assert!(app.fake.created_tasks().is_empty());
}

#[tokio::test]
async fn a_gzip_body_over_10_mb_once_decoded_is_413() {
    let app = TestApp::spawn().await;
    hook_echoing_location(&app).await;
    let payload = format!(r#"{{"location": "{}"}}"#, "x".repeat(11 * 1024 * 1024));
    let (status, answer) = trigger_encoded(&app, "gzip", gzip(payload.as_bytes()), payload.as_bytes()).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["code"], "InputTooLarge", "{answer}");
    assert_eq!(headline(&answer), "The request body is larger than the 10 MB allowed.");
}

#[tokio::test]
async fn the_encoding_of_a_body_that_is_not_json_is_not_looked_at() {
    // Upstream's body-parser reads only application/json bodies, so it never sees the encoding of any other.
    let app = TestApp::spawn().await;
    for encoding in ["foo", "gzip"] {
        let authorization =
            hawk_header("tester", TESTER_TOKEN, "GET", "127.0.0.1", port_of(&app), "/api/hooks/v1/hooks");
        let res = app
            .http
            .get(app.url("/hooks"))
            .header("authorization", &authorization)
            .header("content-type", "text/plain")
            .header("content-encoding", encoding)
            .body("not gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{encoding}");
    }
}

/// A Hawk header for `GET /api/hooks/v1/hooks` by `tester` carrying `app` and `dlg`, its MAC over `signed_app` and
/// `signed_dlg` (the Node library's normalized string, which the `hawk` crate can't make).
fn hawk_header_with_app(app: &TestApp, (app_id, dlg): (&str, &str), (signed_app, signed_dlg): (&str, &str)) -> String {
    use base64::Engine as _;
    let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let nonce = format!("n{}", broker::random_suffix());
    let port = port_of(app);
    let normalized = format!(
        "hawk.1.header\n{ts}\n{nonce}\nGET\n/api/hooks/v1/hooks\n127.0.0.1\n{port}\n\n\n{signed_app}\n{signed_dlg}\n"
    );
    let key = hawk::Key::new(TESTER_TOKEN.as_bytes(), hawk::SHA256).unwrap();
    let mac = base64::engine::general_purpose::STANDARD.encode(key.sign(normalized.as_bytes()).unwrap());
    format!(r#"Hawk id="tester", ts="{ts}", nonce="{nonce}", mac="{mac}", app="{app_id}", dlg="{dlg}""#)
}

async fn list_hook_groups_as(app: &TestApp, authorization: String) -> (u16, Value) {
    let res = app.http.get(app.url("/hooks")).header("authorization", authorization).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_hawk_header_signed_with_its_app_and_dlg_is_accepted() {
    let app = TestApp::spawn().await;
    let signed = hawk_header_with_app(&app, ("my-app", "my-dlg"), ("my-app", "my-dlg"));
    let (status, answer) = list_hook_groups_as(&app, signed).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn a_hawk_header_whose_mac_does_not_cover_its_app_or_dlg_is_a_bad_mac() {
    // The Node library signs `app` and `dlg` (when there is an `app`), so a MAC made without them doesn't match.
    let app = TestApp::spawn().await;
    let without_app = hawk::RequestBuilder::new("GET", "127.0.0.1", port_of(&app), "/api/hooks/v1/hooks")
        .request()
        .make_header(&hawk::Credentials {
            id: "tester".to_owned(),
            key: hawk::Key::new(TESTER_TOKEN.as_bytes(), hawk::SHA256).unwrap(),
        })
        .unwrap();
    let unsigned_app = format!(r#"Hawk {without_app}, app="my-app""#);
    let other_dlg = hawk_header_with_app(&app, ("my-app", "their-dlg"), ("my-app", "my-dlg"));
    for authorization in [unsigned_app, other_dlg] {
        let (status, answer) = list_hook_groups_as(&app, authorization.clone()).await;
        assert_eq!(status, 401, "{authorization}: {answer}");
        assert_eq!(answer["code"], "AuthenticationFailed", "{answer}");
        assert_eq!(headline(&answer), "Unauthorized: Bad mac", "{answer}");
    }
}
