//! Signed webhooks (an extension, docs/api.md): deliveries built exactly as GitHub, GitLab and Standard Webhooks
//! senders build them (signatures computed here from the documented algorithms), wrong and missing signatures,
//! stale timestamps, event filtering, redelivery (on a second api-server too), a slow queue, and configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{ApiProcess, LIMITED_TOKEN, TestApp, hawk_header, headline, port_of, signed};
use reqwest::Method;
use ring::hmac;
use serde_json::{Value, json};
use test_support::{FakeTaskcluster, broker};

/// GitHub's documented example of a push delivery's body.
const GITHUB_PUSH: &str = include_str!("fixtures/github-push.json");
const SECRET: &str = "a-webhook-secret-0123456789";

fn webhook_hook() -> Value {
    let mut hook = common::hook_body();
    hook["task"]["payload"] = json!({
        "from": "${firedBy}",
        "ref": "${payload.ref}",
        "event": "${webhook.event}",
        "kind": "${webhook.kind}",
        "delivery": "${webhook.deliveryId}",
        "taskId": "${taskId}",
    });
    hook["triggerSchema"] = json!({"type": "object"});
    hook
}

async fn set_webhook(app: &TestApp, settings: Value) -> Value {
    let (status, reply) = signed(app, Method::PUT, "/hooks/g/h/webhook", Some(&settings)).await;
    assert_eq!(status, 200, "{reply}");
    reply
}

fn github_signature(secret: &str, body: &[u8]) -> String {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()), body);
    format!("sha256={}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// A GitHub delivery, headers as GitHub sends them.
async fn github(root_url: &str, secret: &str, event: &str, delivery: &str, body: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{root_url}/api/hooks/v1/hooks/g/h/webhook"))
        .header("content-type", "application/json")
        .header("user-agent", "GitHub-Hookshot/a5788b1")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-github-hook-id", "292430182")
        .header("x-hub-signature-256", github_signature(secret, body.as_bytes()))
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_signed_github_push_fires_once_however_often_it_is_redelivered() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &webhook_hook()).await.unwrap();
    let reply = set_webhook(&app, json!({"kind": "github", "secret": SECRET})).await;
    let url = format!("{}/api/hooks/v1/hooks/g/h/webhook", app.fake.root_url());
    assert_eq!(reply, json!({"kind": "github", "events": [], "secret": SECRET, "url": url}));

    let (status, fired) =
        github(&app.root_url, SECRET, "push", "8e0dece0-cfbd-11e9-8e4c-f48db7a5cca7", GITHUB_PUSH).await;
    assert_eq!(status, 200, "{fired}");
    let task_id = fired["taskId"].as_str().unwrap().to_owned();
    let tasks = app.fake.wait_for_tasks(1, Duration::from_secs(10)).await;
    assert_eq!(tasks[0].task_id, task_id);
    let payload = &tasks[0].task["payload"];
    assert_eq!(payload["from"], "webhook");
    assert_eq!(payload["ref"], "refs/tags/simple-tag");
    assert_eq!((payload["event"].as_str(), payload["kind"].as_str()), (Some("push"), Some("github")));
    assert_eq!(payload["delivery"], "8e0dece0-cfbd-11e9-8e4c-f48db7a5cca7");
    assert_eq!(payload["taskId"], task_id.as_str());
    assert_eq!(tasks[0].authorized_scopes, Some(vec!["assume:hook-id:g/h".to_owned()]));

    // GitHub redelivers with the same id: the same taskId, nothing new.
    for _ in 0..3 {
        let (status, again) =
            github(&app.root_url, SECRET, "push", "8e0dece0-cfbd-11e9-8e4c-f48db7a5cca7", GITHUB_PUSH).await;
        assert_eq!((status, again["taskId"].as_str()), (200, Some(task_id.as_str())), "{again}");
    }
    // Another delivery is another task.
    let (status, other) = github(&app.root_url, SECRET, "push", "another-delivery", GITHUB_PUSH).await;
    assert_eq!(status, 200);
    assert_ne!(other["taskId"], task_id.as_str());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.fake.created_count(), 2);

    let (_, fires) = signed(&app, Method::GET, "/hooks/g/h/last-fires", None).await;
    let fires = fires["lastFires"].as_array().unwrap();
    assert_eq!(fires.len(), 2, "{fires:?}");
    assert!(fires.iter().all(|f| f["firedBy"] == "webhook" && f["result"] == "success"));
    let (_, log) = signed(&app, Method::GET, "/hooks/g/h/fire-log", None).await;
    let created: Vec<&Value> =
        log["events"].as_array().unwrap().iter().filter(|e| e["taskId"] == task_id.as_str()).collect();
    assert_eq!(created.len(), 1, "{log}");
    assert_eq!(created[0]["outcome"], "created");
    assert_eq!(
        created[0]["source"],
        json!({"kind": "github", "event": "push", "deliveryId": "8e0dece0-cfbd-11e9-8e4c-f48db7a5cca7"})
    );
}

#[tokio::test]
async fn wrong_or_missing_signatures_are_refused_and_fire_nothing() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &webhook_hook()).await.unwrap();
    set_webhook(&app, json!({"kind": "github", "secret": SECRET})).await;
    let url = app.url("/hooks/g/h/webhook");
    let http = reqwest::Client::new();
    let deliver = |signature: Option<String>, body: &'static str| {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-github-event", "push")
            .header("x-github-delivery", "d-1");
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        async move {
            let res = request.body(body).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let cases = [
        ("no signature", None),
        ("another secret", Some(github_signature("another-secret-0123456789", GITHUB_PUSH.as_bytes()))),
        ("another body", Some(github_signature(SECRET, b"{}"))),
        ("sha1", Some("sha1=82474c4fdedd8c2d2e6802db3e49f4afd96b3eab".to_owned())),
        ("not hex", Some(format!("sha256={}", "z".repeat(64)))),
    ];
    for (what, signature) in cases {
        let (status, reply) = deliver(signature, GITHUB_PUSH).await;
        assert_eq!(status, 401, "{what}: {reply}");
        assert_eq!(reply["code"], "AuthenticationFailed", "{what}");
        assert!(!reply["message"].as_str().unwrap().contains(SECRET), "{what}");
    }
    // The hook's trigger token is no webhook signature either.
    let token = app.hooks().getTriggerToken("g", "h").await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(deliver(Some(github_signature(&token, GITHUB_PUSH.as_bytes())), GITHUB_PUSH).await.0, 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.fake.created_count(), 0);
    // Upstream's answer for a hook that never fired.
    let never = app.hooks().listLastFires("g", "h", None, None).await.unwrap_err();
    assert_eq!(common::status_of(&never), Some(404), "{never}");
}

#[tokio::test]
async fn events_not_asked_for_and_pings_fire_nothing() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &webhook_hook()).await.unwrap();
    set_webhook(&app, json!({"kind": "github", "secret": SECRET, "events": ["push"]})).await;
    let ping = json!({"zen": "Avoid administrative distraction.", "hook_id": 90753227}).to_string();
    assert_eq!(github(&app.root_url, SECRET, "ping", "p-1", &ping).await, (200, json!({})));
    let issues = json!({"action": "opened", "issue": {"number": 1}}).to_string();
    assert_eq!(github(&app.root_url, SECRET, "issues", "i-1", &issues).await, (200, json!({})));
    let (status, pushed) = github(&app.root_url, SECRET, "push", "p-2", GITHUB_PUSH).await;
    assert_eq!(status, 200, "{pushed}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.fake.created_count(), 1);
    let (_, log) = signed(&app, Method::GET, "/hooks/g/h/fire-log", None).await;
    let declined: Vec<&Value> =
        log["events"].as_array().unwrap().iter().filter(|e| e["outcome"] == "declined").collect();
    assert_eq!(declined.len(), 1, "{log}");
    assert_eq!(declined[0]["firedBy"], "webhook");
    assert_eq!(declined[0]["source"], json!({"kind": "github", "event": "issues", "deliveryId": "i-1"}));
    assert!(declined[0]["error"].as_str().unwrap().contains("\"issues\" is not one of the webhook's events"));
}

#[tokio::test]
async fn githubs_form_encoded_deliveries_are_read_and_other_bodies_refused() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &webhook_hook()).await.unwrap();
    set_webhook(&app, json!({"kind": "github", "secret": SECRET})).await;
    let http = reqwest::Client::new();
    let url = app.url("/hooks/g/h/webhook");
    let form: String = form_urlencoded::Serializer::new(String::new()).append_pair("payload", GITHUB_PUSH).finish();
    let send = |content_type: &'static str, body: String| {
        let request = http
            .post(&url)
            .header("content-type", content_type)
            .header("x-github-event", "push")
            .header("x-github-delivery", format!("d-{}", body.len()))
            .header("x-hub-signature-256", github_signature(SECRET, body.as_bytes()))
            .body(body);
        async move {
            let res = request.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, fired) = send("application/x-www-form-urlencoded", form).await;
    assert_eq!(status, 200, "{fired}");
    let tasks = app.fake.wait_for_tasks(1, Duration::from_secs(10)).await;
    assert_eq!(tasks[0].task["payload"]["ref"], "refs/tags/simple-tag");

    let (status, reply) = send("text/plain", "hello".into()).await;
    assert_eq!((status, reply["code"].as_str()), (400, Some("MalformedPayload")), "{reply}");
    let (status, reply) = send("application/x-www-form-urlencoded", "payload=not-json".into()).await;
    assert_eq!((status, reply["code"].as_str()), (400, Some("MalformedPayload")), "{reply}");
    let (status, reply) = send("application/x-www-form-urlencoded", "other=1".into()).await;
    assert_eq!((status, reply["code"].as_str()), (400, Some("MalformedPayload")), "{reply}");
    let (status, reply) = send("application/json", "[1, 2]".into()).await;
    assert_eq!((status, reply["code"].as_str()), (400, Some("MalformedPayload")), "{reply}");
    let (status, reply) = send("application/json", "{\"unclosed\": ".into()).await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(app.fake.created_count(), 1);
}

#[tokio::test]
async fn gitlab_deliveries_carry_the_secret_as_their_token() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &webhook_hook()).await.unwrap();
    let reply = set_webhook(&app, json!({"kind": "gitlab", "events": ["Push Hook"]})).await;
    let secret = reply["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64, "a generated secret");
    let (_, shown) = signed(&app, Method::GET, "/hooks/g/h/webhook/secret", None).await;
    assert_eq!(shown["secret"], secret.as_str());

    let http = reqwest::Client::new();
    let body = json!({"object_kind": "push", "ref": "refs/heads/main", "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"});
    let deliver = |token: &str, event: &str, uuid: &str| {
        let request = http
            .post(app.url("/hooks/g/h/webhook"))
            .header("x-gitlab-token", token)
            .header("x-gitlab-event", event)
            .header("x-gitlab-event-uuid", uuid)
            .header("x-gitlab-webhook-uuid", "ab7fc9f4-4e8f-4b74-8a3f-4d6e4c1c8a3b")
            .json(&body);
        async move {
            let res = request.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(deliver("wrong-token-0123456789", "Push Hook", "u-1").await.0, 401);
    let (status, fired) = deliver(&secret, "Push Hook", "u-1").await;
    assert_eq!(status, 200, "{fired}");
    let (status, again) = deliver(&secret, "Push Hook", "u-1").await;
    assert_eq!((status, &again["taskId"]), (200, &fired["taskId"]));
    assert_eq!(deliver(&secret, "Merge Request Hook", "u-2").await, (200, json!({})));
    let tasks = app.fake.wait_for_tasks(1, Duration::from_secs(10)).await;
    assert_eq!(tasks[0].task["payload"]["event"], "Push Hook");
    assert_eq!(tasks[0].task["payload"]["kind"], "gitlab");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.fake.created_count(), 1);
}

fn standard_headers(secret: &str, id: &str, timestamp: i64, body: &str) -> [(&'static str, String); 3] {
    let key = BASE64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let signed = format!("{id}.{timestamp}.{body}");
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), signed.as_bytes());
    [
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", format!("v1,{}", BASE64.encode(tag.as_ref()))),
    ]
}

#[tokio::test]
async fn standard_webhooks_are_signed_with_their_id_and_timestamp_and_refused_when_stale() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &webhook_hook()).await.unwrap();
    let reply = set_webhook(&app, json!({"kind": "standard", "events": ["invoice.paid"]})).await;
    let secret = reply["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let http = reqwest::Client::new();
    let body = json!({"type": "invoice.paid", "timestamp": "2026-12-06T10:00:00Z", "ref": "in_1"}).to_string();
    let deliver = |headers: [(&'static str, String); 3], body: String| {
        let mut request = http.post(app.url("/hooks/g/h/webhook")).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            let res = request.body(body).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let now = chrono::Utc::now().timestamp();
    let (status, fired) =
        deliver(standard_headers(&secret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, &body), body.clone()).await;
    assert_eq!(status, 200, "{fired}");
    let tasks = app.fake.wait_for_tasks(1, Duration::from_secs(10)).await;
    assert_eq!(tasks[0].task["payload"]["event"], "invoice.paid");
    assert_eq!(tasks[0].task["payload"]["delivery"], "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");

    // Several signatures while the sender rotates: one good one is enough.
    let mut rotating = standard_headers(&secret, "msg_2", now, &body);
    rotating[2].1 = format!("v1,bm90IGEgc2lnbmF0dXJl {}", rotating[2].1);
    assert_eq!(deliver(rotating, body.clone()).await.0, 200);

    let stale = now - 6 * 60;
    let (status, reply) = deliver(standard_headers(&secret, "msg_3", stale, &body), body.clone()).await;
    assert_eq!(status, 401, "{reply}");
    assert!(headline(&reply).contains("webhook-timestamp"), "{reply}");
    // A replay under a fresh timestamp, with the old signature.
    let mut replayed = standard_headers(&secret, "msg_3", stale, &body);
    replayed[1].1 = now.to_string();
    assert_eq!(deliver(replayed, body.clone()).await.0, 401);
    let other = json!({"type": "invoice.created", "ref": "in_2"}).to_string();
    assert_eq!(deliver(standard_headers(&secret, "msg_4", now, &other), other).await, (200, json!({})));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.fake.created_count(), 2);
}

#[tokio::test]
async fn a_slow_queue_gets_a_202_and_the_task_is_still_created_once() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &webhook_hook()).await.unwrap();
    set_webhook(&app, json!({"kind": "github", "secret": SECRET})).await;
    app.fake.delay_create_task(Duration::from_secs(10));
    let started = std::time::Instant::now();
    let (status, accepted) = github(&app.root_url, SECRET, "push", "slow-1", GITHUB_PUSH).await;
    assert_eq!(status, 202, "{accepted}");
    assert!(started.elapsed() < Duration::from_secs(10), "answered in {:?}", started.elapsed());
    let task_id = accepted["taskId"].as_str().unwrap().to_owned();
    // A redelivery while it is still being created: the same taskId, still accepted.
    let (status, again) = github(&app.root_url, SECRET, "push", "slow-1", GITHUB_PUSH).await;
    assert_eq!((status, again["taskId"].as_str()), (202, Some(task_id.as_str())));
    let tasks = app.fake.wait_for_tasks(1, Duration::from_secs(20)).await;
    assert_eq!(tasks[0].task_id, task_id);
    app.fake.delay_create_task(Duration::ZERO);
    // Once created, a redelivery answers 200.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, again) = github(&app.root_url, SECRET, "push", "slow-1", GITHUB_PUSH).await;
        if status == 200 {
            assert_eq!(again["taskId"], task_id.as_str());
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.fake.created_count(), 1);
}

#[tokio::test]
async fn a_redelivery_to_another_api_server_creates_nothing_new() {
    let key = hooks_core::Keyring::generate_key().unwrap();
    let crypto = format!("--crypto-key={}", key.expose());
    let app = TestApp::spawn_with(&broker::pulse_url(), FakeTaskcluster::start_default(), &[&crypto]).await;
    app.hooks().createHook("g", "h", &webhook_hook()).await.unwrap();
    set_webhook(&app, json!({"kind": "github", "secret": SECRET})).await;
    let second = ApiProcess::start(&app.db, &app.fake, &[("HOOKS_CRYPTO_KEY", key.expose())]).await;

    let (status, first) = github(&app.root_url, SECRET, "push", "cross-1", GITHUB_PUSH).await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = github(&second.root_url, SECRET, "push", "cross-1", GITHUB_PUSH).await;
    assert_eq!((status, &again["taskId"]), (200, &first["taskId"]), "{again}");
    // And the other way round, concurrently.
    let (a, b) = tokio::join!(
        github(&app.root_url, SECRET, "push", "cross-2", GITHUB_PUSH),
        github(&second.root_url, SECRET, "push", "cross-2", GITHUB_PUSH)
    );
    assert_eq!(a.1["taskId"], b.1["taskId"], "{a:?} {b:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.fake.created_count(), 2);
}

#[tokio::test]
async fn configuring_webhooks_names_the_field_and_needs_the_hooks_scopes() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &webhook_hook()).await.unwrap();
    let (status, reply) = signed(&app, Method::GET, "/hooks/g/h/webhook", None).await;
    assert_eq!((status, headline(&reply)), (404, "hook `g/h` has no webhook"));
    // A hook without a webhook takes no delivery.
    assert_eq!(github(&app.root_url, SECRET, "push", "d", GITHUB_PUSH).await.0, 404);
    assert_eq!(signed(&app, Method::PUT, "/hooks/g/nope/webhook", Some(&json!({"kind": "github"}))).await.0, 404);

    for (body, field) in [
        (json!({"kind": "bitbucket"}), "kind"),
        (json!({"kind": "github", "secret": "short"}), "secret"),
        (json!({"kind": "github", "events": "push"}), "events"),
        (json!({"kind": "github", "events": ["push", 1]}), "events[1]"),
        (json!({"kind": "standard", "secret": "not base64!"}), "secret"),
        (json!({"kind": "github", "url": "x"}), "url"),
    ] {
        let (status, reply) = signed(&app, Method::PUT, "/hooks/g/h/webhook", Some(&body)).await;
        assert_eq!(status, 400, "{body}: {reply}");
        assert!(headline(&reply).starts_with(&format!("{field}: ")), "{body}: {reply}");
    }

    let set = set_webhook(&app, json!({"kind": "github", "events": ["push", "release"]})).await;
    let (status, shown) = signed(&app, Method::GET, "/hooks/g/h/webhook", None).await;
    assert_eq!(status, 200);
    assert_eq!(shown, json!({"kind": "github", "events": ["push", "release"], "url": set["url"]}));
    assert!(shown.get("secret").is_none());

    // Scopes: `limited` may read and modify g/* hooks, but not read their secrets.
    let port = port_of(&app);
    let as_limited = |method: &str, path: &str| {
        let resource = format!("/api/hooks/v1{path}");
        let auth = hawk_header("limited", LIMITED_TOKEN, method, "127.0.0.1", port, &resource);
        let request = app
            .http
            .request(Method::from_bytes(method.as_bytes()).unwrap(), app.url(path))
            .header("authorization", auth);
        async move {
            let res = request.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, reply) = as_limited("GET", "/hooks/g/h/webhook/secret").await;
    assert_eq!(status, 403, "{reply}");
    assert!(reply["message"].as_str().unwrap().contains("hooks:get-trigger-token:g/h"), "{reply}");
    assert!(!reply.to_string().contains(set["secret"].as_str().unwrap()));

    let (status, removed) = signed(&app, Method::DELETE, "/hooks/g/h/webhook", None).await;
    assert_eq!((status, removed), (200, json!({})));
    assert_eq!(signed(&app, Method::DELETE, "/hooks/g/h/webhook", None).await.0, 404);
    let secret = set["secret"].as_str().unwrap();
    assert_eq!(github(&app.root_url, secret, "push", "d", GITHUB_PUSH).await.0, 404);

    // Removing the hook takes its webhook with it.
    set_webhook(&app, json!({"kind": "gitlab"})).await;
    app.hooks().removeHook("g", "h").await.unwrap();
    app.hooks().createHook("g", "h", &webhook_hook()).await.unwrap();
    assert_eq!(signed(&app, Method::GET, "/hooks/g/h/webhook", None).await.0, 404);
}

#[tokio::test]
async fn a_paused_hook_refuses_deliveries_and_a_payload_its_schema_refuses_is_logged() {
    let app = TestApp::spawn().await;
    let mut hook = webhook_hook();
    hook["triggerSchema"] = json!({"type": "object", "required": ["ref"], "properties": {"ref": {"type": "string", "pattern": "^refs/heads/"}}});
    app.hooks().createHook("g", "h", &hook).await.unwrap();
    set_webhook(&app, json!({"kind": "github", "secret": SECRET})).await;
    let (status, reply) = github(&app.root_url, SECRET, "push", "tag-push", GITHUB_PUSH).await;
    assert_eq!((status, reply["code"].as_str()), (400, Some("InputError")), "{reply}");
    let (_, log) = signed(&app, Method::GET, "/hooks/g/h/fire-log", None).await;
    assert_eq!(log["events"][0]["outcome"], "payload-rejected", "{log}");
    assert!(!log.to_string().contains("Codertocat"), "the payload is never logged: {log}");

    signed(&app, Method::POST, "/hooks/g/h/pause", Some(&json!({"reason": "migrating"}))).await;
    let branch = GITHUB_PUSH.replace("refs/tags/simple-tag", "refs/heads/main");
    let (status, reply) = github(&app.root_url, SECRET, "push", "branch-push", &branch).await;
    assert_eq!((status, reply["code"].as_str()), (409, Some("RequestConflict")), "{reply}");
    assert!(headline(&reply).contains("migrating"));
    // A wrong signature is still a 401 first: the reason is for those who may fire the hook.
    assert_eq!(github(&app.root_url, "another-secret-0123456789", "push", "x", &branch).await.0, 401);
    signed(&app, Method::POST, "/hooks/g/h/resume", Some(&json!({}))).await;
    assert_eq!(github(&app.root_url, SECRET, "push", "branch-push", &branch).await.0, 200);
    assert_eq!(app.fake.wait_for_tasks(1, Duration::from_secs(10)).await.len(), 1);
}
