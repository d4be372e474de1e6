//! How the API refuses: the status, the Taskcluster error code and upstream's exact message for missing scopes,
//! missing hooks, bad credentials and bad requests, and which check wins when a request has several problems
//! (upstream's middleware order: body, authentication and scopes, URL parameters, query string, input schema).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{LIMITED_TOKEN, TESTER_TOKEN, TestApp, hawk_header, headline, hook_body};
use hooks_core::TaskId;
use hooks_core::storage::{self, LastFire};
use reqwest::{Method, Url};
use serde_json::{Value, json};
use test_support::{FakeTaskcluster, broker};

const NOBODY_TOKEN: &str = "nobody-access-token-0123456789abcdefghijklmn";
const TESTER: Option<(&str, &str)> = Some(("tester", TESTER_TOKEN));
const LIMITED: Option<(&str, &str)> = Some(("limited", LIMITED_TOKEN));
/// A client that authenticates but holds no scope at all.
const NOBODY: Option<(&str, &str)> = Some(("nobody", NOBODY_TOKEN));
/// Signs as `tester` with the wrong key.
const FORGER: Option<(&str, &str)> = Some(("tester", "not-the-token-0123456789abcdefghijklmnopqr"));

/// An api-server whose static clients are `tester` (every scope), `limited` (as in [`TestApp::spawn`]) and
/// `nobody` (no scopes).
async fn spawn() -> TestApp {
    let clients = json!([
        {"clientId": "tester", "accessToken": TESTER_TOKEN, "scopes": ["*"]},
        {"clientId": "limited", "accessToken": LIMITED_TOKEN, "scopes": ["hooks:get:g:*", "hooks:modify-hook:g/*"]},
        {"clientId": "nobody", "accessToken": NOBODY_TOKEN, "scopes": []},
    ]);
    let flag = format!("--static-clients={clients}");
    TestApp::spawn_with(&broker::pulse_url(), FakeTaskcluster::start_default(), &[&flag]).await
}

/// An `Authorization` header as the official clients make it: Hawk over the path and query, no payload hash.
fn authorization(method: &Method, url: &Url, (client_id, access_token): (&str, &str)) -> String {
    let resource = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    hawk_header(client_id, access_token, method.as_str(), url.host_str().unwrap(), url.port().unwrap(), &resource)
}

/// A request to `path` under the API, signed by `client` (none: no credentials at all).
fn request(app: &TestApp, method: Method, path: &str, client: Option<(&str, &str)>) -> reqwest::RequestBuilder {
    let url = Url::parse(&app.url(path)).unwrap();
    let mut builder = app.http.request(method.clone(), url.clone());
    if let Some(client) = client {
        builder = builder.header("authorization", authorization(&method, &url, client));
    }
    builder
}

/// A refused call, its message cut before the `\n\n---\n\n* method: ...` suffix every error body carries.
#[derive(Debug)]
struct Refusal {
    status: u16,
    code: String,
    message: String,
    /// `requestInfo.method`.
    method: String,
    www_authenticate: Option<String>,
}

impl Refusal {
    async fn of(resp: reqwest::Response) -> Self {
        let status = resp.status().as_u16();
        let www_authenticate = resp.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        let text = resp.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"));
        Self {
            status,
            code: body["code"].as_str().unwrap_or_default().to_owned(),
            message: headline(&body).to_owned(),
            method: body["requestInfo"]["method"].as_str().unwrap_or_default().to_owned(),
            www_authenticate,
        }
    }

    /// Sends `builder` and reads the refusal.
    async fn to(builder: reqwest::RequestBuilder) -> Self {
        Self::of(builder.send().await.unwrap()).await
    }

    fn assert_is(&self, status: u16, code: &str, message: &str) {
        assert_eq!((self.status, self.code.as_str(), self.message.as_str()), (status, code, message), "{self:#?}");
    }
}

/// Upstream's 403 text for an authenticated client (`{{unsatisfied}}` and `{{required}}` are strings for a single
/// scope, 2-space-indented JSON otherwise).
fn insufficient(client_id: &str, missing: &str, required: &str) -> String {
    format!(
        "Client ID {client_id} does not have sufficient scopes and is missing the following scopes:\n\n\
         ```\n{missing}\n```\n\n\
         This request requires the client to satisfy the following scope expression:\n\n\
         ```\n{required}\n```"
    )
}

/// The createHook/updateHook expression for `g/h`, as `JSON.stringify(expr, null, 2)` renders it.
fn modify_expression(g: &str, h: &str) -> String {
    serde_json::to_string_pretty(
        &json!({"AllOf": [format!("hooks:modify-hook:{g}/{h}"), format!("assume:hook-id:{g}/{h}")]}),
    )
    .unwrap()
}

#[tokio::test]
async fn each_endpoint_refuses_a_client_without_its_scope_naming_the_scope_and_the_expression() {
    let app = spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let cases = [
        ("listHooks", Method::GET, "/hooks/g", None, "hooks:list-hooks:g"),
        ("getHookStatus", Method::GET, "/hooks/g/h/status", None, "hooks:status:g/h"),
        ("triggerHook", Method::POST, "/hooks/g/h/trigger", Some(json!({})), "hooks:trigger-hook:g/h"),
        ("getTriggerToken", Method::GET, "/hooks/g/h/token", None, "hooks:get-trigger-token:g/h"),
        ("resetTriggerToken", Method::POST, "/hooks/g/h/token", None, "hooks:reset-trigger-token:g/h"),
        ("listLastFires", Method::GET, "/hooks/g/h/last-fires", None, "hooks:list-last-fires:g/h"),
    ];
    for (name, method, path, body, scope) in cases {
        let mut builder = request(&app, method, path, NOBODY);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let refusal = Refusal::to(builder).await;
        refusal.assert_is(403, "InsufficientScopes", &insufficient("nobody", scope, scope));
        assert_eq!(refusal.method, name, "{refusal:#?}");
    }

    // updateHook's expression is an AllOf; lacking both scopes, both are missing, shown as the AllOf itself.
    let refusal = Refusal::to(request(&app, Method::POST, "/hooks/g/h", NOBODY).json(&hook_body())).await;
    let expression = modify_expression("g", "h");
    refusal.assert_is(403, "InsufficientScopes", &insufficient("nobody", &expression, &expression));
    assert_eq!(refusal.method, "updateHook");
}

#[tokio::test]
async fn update_hook_without_the_hooks_role_is_refused_naming_assume_hook_id() {
    let app = spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    // `limited` holds hooks:modify-hook:g/* but not assume:hook-id:g/h.
    let refusal = Refusal::to(request(&app, Method::POST, "/hooks/g/h", LIMITED).json(&hook_body())).await;
    refusal.assert_is(
        403,
        "InsufficientScopes",
        &insufficient("limited", "assume:hook-id:g/h", &modify_expression("g", "h")),
    );
    assert_eq!(refusal.method, "updateHook");
    // Nothing changed.
    assert_eq!(app.hooks().hook("g", "h").await.unwrap()["schedule"], json!([]));
}

#[tokio::test]
async fn calls_on_a_missing_hook_are_404_no_such_hook() {
    let app = spawn().await;
    // Another hook exists, with a known token: the 404 is about the hook, not the group or the token.
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let token = app.hooks().getTriggerToken("g", "h").await.unwrap()["token"].as_str().unwrap().to_owned();
    let mut bad_cron = hook_body();
    bad_cron["schedule"] = json!(["0 0 3 0 * *"]);
    let cases = [
        ("updateHook", Method::POST, "/hooks/g/missing".to_owned(), Some(hook_body())),
        // Upstream looks the hook up before judging its new definition.
        ("updateHook", Method::POST, "/hooks/g/missing".to_owned(), Some(bad_cron)),
        ("triggerHook", Method::POST, "/hooks/g/missing/trigger".to_owned(), Some(json!({}))),
        // The hook is looked up before the token is compared.
        ("triggerHookWithToken", Method::POST, format!("/hooks/g/missing/trigger/{token}"), Some(json!({}))),
        ("triggerHookWithToken", Method::POST, "/hooks/g/missing/trigger/wrong".to_owned(), Some(json!({}))),
        ("getHookStatus", Method::GET, "/hooks/g/missing/status".to_owned(), None),
        ("getTriggerToken", Method::GET, "/hooks/g/missing/token".to_owned(), None),
        ("resetTriggerToken", Method::POST, "/hooks/g/missing/token".to_owned(), None),
    ];
    for (name, method, path, body) in cases {
        let mut builder = request(&app, method, &path, TESTER);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let refusal = Refusal::to(builder).await;
        refusal.assert_is(404, "ResourceNotFound", "No such hook");
        assert_eq!(refusal.method, name, "{path}");
    }
    assert!(app.fake.created_tasks().is_empty());
}

#[tokio::test]
async fn listing_a_group_without_hooks_is_404_no_such_group() {
    let app = spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let refusal = Refusal::to(request(&app, Method::GET, "/hooks/empty", TESTER)).await;
    refusal.assert_is(404, "ResourceNotFound", "No such group");
    assert_eq!(refusal.method, "listHooks");
}

#[tokio::test]
async fn credentials_and_scopes_are_judged_before_url_parameters() {
    let app = spawn().await;
    // The id really is invalid: a caller allowed everything is told so.
    let allowed = Refusal::to(request(&app, Method::GET, "/hooks/bad!!/h", TESTER)).await;
    assert_eq!((allowed.status, allowed.code.as_str()), (400, "InvalidRequestArguments"), "{allowed:#?}");

    // No credentials: the anonymous caller holds no scopes, so 403 with the no-credentials text.
    let anonymous = Refusal::to(request(&app, Method::GET, "/hooks/bad!!/h", None)).await;
    anonymous.assert_is(
        403,
        "InsufficientScopes",
        "This request requires Taskcluster credentials that satisfy the following scope expression:\n\n\
         ```\nhooks:get:bad!!:h\n```",
    );
    // Credentials without the scope.
    let forbidden = Refusal::to(request(&app, Method::GET, "/hooks/bad!!", NOBODY)).await;
    forbidden.assert_is(
        403,
        "InsufficientScopes",
        &insufficient("nobody", "hooks:list-hooks:bad!!", "hooks:list-hooks:bad!!"),
    );
    // Wrong credentials.
    let forged = Refusal::to(request(&app, Method::GET, "/hooks/bad!!/h", FORGER)).await;
    assert_eq!((forged.status, forged.code.as_str()), (401, "AuthenticationFailed"), "{forged:#?}");
}

#[tokio::test]
async fn url_parameters_are_judged_before_the_query_string() {
    let app = spawn().await;
    let refusal = Refusal::to(request(&app, Method::GET, "/hooks/g/bar!!!/last-fires?x=1", TESTER)).await;
    assert_eq!((refusal.status, refusal.code.as_str()), (400, "InvalidRequestArguments"), "{refusal:#?}");
    assert!(
        refusal.message.starts_with(
            "Invalid URL patterns:\nURL parameter 'hookId' given as 'bar!!!' must match regular expression: '"
        ),
        "{refusal:#?}"
    );
    assert!(!refusal.message.contains("Query-string"), "{refusal:#?}");
}

#[tokio::test]
async fn an_invalid_url_parameter_quotes_the_pattern_as_javascript_prints_it() {
    let app = spawn().await;
    // lib-api: "... must match regular expression: '" + pattern.toString() + "'", with hooks' patterns declared as
    // /^[a-zA-Z0-9-_]{1,1000}$/ and /^[a-zA-Z0-9-_\/]{1,1000}$/.
    let refusal = Refusal::to(request(&app, Method::GET, "/hooks/g!/bar!!!", TESTER)).await;
    refusal.assert_is(
        400,
        "InvalidRequestArguments",
        "Invalid URL patterns:\n\
         URL parameter 'hookGroupId' given as 'g!' must match regular expression: '/^[a-zA-Z0-9-_]{1,1000}$/'\n\
         URL parameter 'hookId' given as 'bar!!!' must match regular expression: '/^[a-zA-Z0-9-_\\/]{1,1000}$/'",
    );
}

#[tokio::test]
async fn the_query_string_is_judged_before_the_input_schema() {
    let app = spawn().await;
    let mut invalid = hook_body();
    invalid["nope"] = json!(1);
    let refusal = Refusal::to(request(&app, Method::PUT, "/hooks/g/h?x=1", TESTER).json(&invalid)).await;
    refusal.assert_is(400, "InvalidRequestArguments", "Query-string parameter: x is not supported!");
    assert_eq!(refusal.method, "createHook");
    assert_eq!(app.hooks().listHookGroups().await.unwrap(), json!({"groups": []}));
}

#[tokio::test]
async fn a_json_body_sent_as_text_plain_is_refused_for_its_content_type() {
    let app = spawn().await;
    let refusal = Refusal::to(
        request(&app, Method::PUT, "/hooks/g/h", TESTER)
            .header("content-type", "text/plain")
            .body(hook_body().to_string()),
    )
    .await;
    refusal.assert_is(
        400,
        "MalformedPayload",
        "Payload must be JSON with content-type: application/json got content-type: text/plain",
    );
    assert_eq!(refusal.method, "createHook");
    assert_eq!(app.hooks().listHookGroups().await.unwrap(), json!({"groups": []}));
}

#[tokio::test]
async fn a_malformed_body_sent_as_text_plain_is_refused_for_its_content_type_not_its_syntax() {
    let app = spawn().await;
    // Upstream's body parser reads only application/json bodies: any other body counts as `{}`, so the
    // content-type check (with the input schema) is what refuses it.
    let refusal = Refusal::to(
        request(&app, Method::PUT, "/hooks/g/h", TESTER).header("content-type", "text/plain").body("{not json"),
    )
    .await;
    refusal.assert_is(
        400,
        "MalformedPayload",
        "Payload must be JSON with content-type: application/json got content-type: text/plain",
    );
}

#[tokio::test]
async fn a_malformed_json_body_is_malformed_payload() {
    let app = spawn().await;
    let refusal = Refusal::to(
        request(&app, Method::PUT, "/hooks/g/h", TESTER).header("content-type", "application/json").body("{not json"),
    )
    .await;
    assert_eq!((refusal.status, refusal.code.as_str()), (400, "MalformedPayload"), "{refusal:#?}");
    assert!(refusal.message.starts_with("Failed to parse JSON: "), "{refusal:#?}");
    assert_eq!(refusal.method, "createHook");
}

#[tokio::test]
async fn a_wrong_trigger_token_is_401_without_a_hawk_challenge() {
    let app = spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let refusal =
        Refusal::to(request(&app, Method::POST, "/hooks/g/h/trigger/wrong-token", None).json(&json!({}))).await;
    refusal.assert_is(401, "AuthenticationFailed", "invalid hook token");
    assert_eq!(refusal.method, "triggerHookWithToken");
    assert_eq!(refusal.www_authenticate, None);
    assert!(app.fake.created_tasks().is_empty());
}

#[tokio::test]
async fn a_bad_hawk_signature_is_401_with_a_hawk_challenge() {
    let app = spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let refusal = Refusal::to(request(&app, Method::GET, "/hooks/g/h", FORGER)).await;
    assert_eq!((refusal.status, refusal.code.as_str()), (401, "AuthenticationFailed"), "{refusal:#?}");
    assert_eq!(refusal.method, "hook");
    assert_eq!(refusal.www_authenticate.as_deref(), Some("hawk"));
}

#[tokio::test]
async fn list_last_fires_serves_at_most_1000_fires_a_page_whatever_the_limit() {
    let app = spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let now = Utc::now();
    let fires: Vec<LastFire> = (0..1001)
        .map(|i| LastFire {
            hook_group_id: "g".to_owned(),
            hook_id: "h".to_owned(),
            fired_by: hooks_core::FiredBy::Schedule,
            task_id: TaskId::generate().as_str().to_owned(),
            task_create_time: now - chrono::Duration::milliseconds(i),
            result: hooks_core::storage::LastFireResult::Success,
            error: String::new(),
        })
        .collect();
    let mut conn = app.db.pool.get().await.unwrap();
    storage::record_last_fires(&mut conn, &fires).await.unwrap();

    // The official client signs only the path of a header-authenticated request; a bewit covers the query.
    let url = app.hooks().listLastFires_signed_url("g", "h", None, Some("2000"), Duration::from_secs(60)).unwrap();
    let resp = app.http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let page: Value = resp.json().await.unwrap();
    assert_eq!(page["lastFires"].as_array().unwrap().len(), 1000);
    assert_eq!(page["lastFires"][0]["taskId"], fires[0].task_id.as_str(), "newest first");
    assert!(page["continuationToken"].is_string(), "one fire is left for the next page");
}

#[tokio::test]
async fn a_non_numeric_last_fires_limit_is_refused_quoting_the_expression() {
    let app = spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let url = app.hooks().listLastFires_signed_url("g", "h", None, Some("abc"), Duration::from_secs(60)).unwrap();
    let refusal = Refusal::to(app.http.get(url)).await;
    refusal.assert_is(
        400,
        "InvalidRequestArguments",
        r#"Query-string parameter: limit="abc" does not match expression: /^[0-9]+$/"#,
    );
    assert_eq!(refusal.method, "listLastFires");
}

/// `hook_body()` with `value` at the dotted `path`.
fn body_with(path: &[&str], value: Value) -> Value {
    let mut body = hook_body();
    let mut cursor = &mut body;
    for key in &path[..path.len() - 1] {
        cursor = &mut cursor[*key];
    }
    cursor[path[path.len() - 1]] = value;
    body
}

#[tokio::test]
async fn create_hook_with_nul_is_400_naming_the_field() {
    let app = spawn().await;
    let cases = [
        (body_with(&["metadata", "name"], json!("a\u{0}b")), "metadata.name"),
        (body_with(&["task", "payload"], json!({"env": {"FOO": "x\u{0}"}})), "task.payload.env.FOO"),
        (
            body_with(&["triggerSchema", "properties"], json!({"a\u{0}": {"type": "string"}})),
            "triggerSchema.properties",
        ),
    ];
    for (body, field) in cases {
        let (status, reply) = common::signed(&app, Method::PUT, "/hooks/g/nul", Some(&body)).await;
        assert_eq!((status, reply["code"].as_str()), (400, Some("InputError")), "{reply}");
        assert!(headline(&reply).starts_with(&format!("{field}: ")), "{reply}");
        assert!(headline(&reply).contains("U+0000"), "{reply}");
    }
}

#[tokio::test]
async fn an_oversize_definition_is_400_naming_the_field_and_the_limit() {
    let app = spawn().await;
    let body = body_with(&["task", "payload"], json!({"blob": "x".repeat(hooks_core::MAX_DEFINITION_BYTES)}));
    let (status, reply) = common::signed(&app, Method::PUT, "/hooks/g/big", Some(&body)).await;
    assert_eq!((status, reply["code"].as_str()), (400, Some("InputError")), "{reply}");
    assert!(headline(&reply).starts_with("task: "), "{reply}");
    assert!(headline(&reply).contains("at most 1048576 bytes"), "{reply}");
}

#[tokio::test]
async fn a_deeply_nested_expression_is_400_naming_its_path() {
    let app = spawn().await;
    let depth = hooks_core::MAX_EXPRESSION_NESTING + 1;
    let deep = format!("${{{}1{}}}", "(".repeat(depth), ")".repeat(depth));
    let body = body_with(&["task", "payload"], json!({"env": {"X": deep}}));
    let (status, reply) = common::signed(&app, Method::PUT, "/hooks/g/deep", Some(&body)).await;
    assert_eq!((status, reply["code"].as_str()), (400, Some("InputError")), "{reply}");
    assert!(headline(&reply).starts_with("task.payload.env.X: "), "{reply}");
    assert!(headline(&reply).contains(&format!("at most {}", depth - 1)), "{reply}");
    // Plain shell text with brackets is not an expression.
    let body = body_with(&["task", "payload"], json!({"command": "if (((1))); then (((echo))); fi"}));
    assert_eq!(common::signed(&app, Method::PUT, "/hooks/g/shell", Some(&body)).await.0, 200);
}

#[tokio::test]
async fn a_payload_putting_nul_into_the_task_or_error_text_is_a_clean_4xx_and_other_triggers_succeed() {
    let app = spawn().await;
    let task = json!({
        "provisionerId": "no-provisioner",
        "workerType": "test-worker",
        "deadline": {"$fromNow": "${payload.after}"},
        "payload": {"env": {"X": "${payload.x}"}},
        "metadata": {"name": "t", "description": "d", "owner": "owner@example.com", "source": "http://example.com"},
    });
    let body = json!({
        "metadata": {"name": "n", "description": "d", "owner": "owner@example.com"},
        "task": task,
        "triggerSchema": {"type": "object"},
    });
    assert_eq!(common::signed(&app, Method::PUT, "/hooks/g/h", Some(&body)).await.0, 200);

    let app = &app;
    let trigger =
        |payload: Value| async move { common::signed(app, Method::POST, "/hooks/g/h/trigger", Some(&payload)).await };
    let (into_task, into_error, good) = futures::future::join3(
        trigger(json!({"x": "a\u{0}b", "after": "1 day"})),
        trigger(json!({"x": "a", "after": "1 \u{0} day"})),
        futures::future::join_all((0..4).map(|_| trigger(json!({"x": "a", "after": "1 day"})))),
    )
    .await;

    assert_eq!(into_task.0, 400, "{}", into_task.1);
    assert!(headline(&into_task.1).contains("the task contains U+0000 at payload.env.X"), "{}", into_task.1);
    assert_eq!(into_error.0, 400, "{}", into_error.1);
    assert!(good.iter().all(|(status, _)| *status == 200), "{good:?}");
    let (status, fires) = common::signed(app, Method::GET, "/hooks/g/h/last-fires", None).await;
    assert_eq!(status, 200, "{fires}");
    assert_eq!(fires["lastFires"].as_array().unwrap().len(), 6, "{fires}");
}
