//! The web UI in a real headless Chromium against the real api-server (Hawk verified by the server, tasks created
//! in the fake queue): signing in, listing, creating a hook through the form, a validation error at its field,
//! triggering through the form generated from the triggerSchema, the fire in the history, wrong credentials and
//! a phone-width window. Screenshots go to `<target>/ui-screenshots`; the hook page's also to
//! docs/ui-hook-page.png, which README.md shows.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::time::Duration;

use browser::{Browser, Chromedriver};
use common::{LIMITED_TOKEN, TESTER_TOKEN, TestApp, hook_body};
use reqwest::Method;
use serde_json::{Value, json};
use test_support::TaskState;

/// One browser at a time: the machine has two cores and other builds, and three Chromiums at once make steps slow.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A trigger schema with every kind of field the generated form handles.
fn rich_trigger_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "branch": {"type": "string", "description": "what to build"},
            "count": {"type": "integer"},
            "dryRun": {"type": "boolean"},
            "level": {"enum": ["debug", "release"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "options": {"type": "object", "properties": {"retries": {"type": "number"}}},
            "extra": {"oneOf": [{"type": "string"}, {"type": "object"}]}
        },
        "required": ["branch"],
        "additionalProperties": false
    })
}

/// A task template whose payload is the trigger's payload, so the test sees what the form sent.
fn task_echoing_the_payload() -> Value {
    json!({
        "provisionerId": "proj-example", "workerType": "ci",
        "payload": {"$eval": "payload"},
        "metadata": {"name": "nightly", "description": "d", "owner": "builds@example.com", "source": "https://example.com"},
    })
}

/// Nothing the page loaded or called came from another origin, and its Content-Security-Policy refused nothing.
async fn assert_only_this_server_was_asked(browser: &Browser) {
    let elsewhere = browser
        .eval("return performance.getEntriesByType('resource').map(e => e.name).filter(n => new URL(n).origin !== location.origin)")
        .await;
    assert_eq!(elsewhere, json!([]), "requests to other hosts");
    let refused = browser.eval("return document.documentElement.dataset.cspViolations || '0'").await;
    assert_eq!(refused, json!("0"), "the Content-Security-Policy refused something");
}

/// The page is no wider than the window.
async fn assert_no_sideways_scrolling(browser: &Browser) {
    let widths = browser.eval("return [document.documentElement.scrollWidth, window.innerWidth]").await;
    assert!(
        widths[0].as_u64() <= widths[1].as_u64(),
        "the page scrolls sideways: [scrollWidth, innerWidth] = {widths}"
    );
}

/// Signs in on the page at `root_url` as `client_id`, pressing Enter in the token field (the keyboard's way).
async fn sign_in(browser: &Browser, root_url: &str, client_id: &str, token: &str) {
    browser.open(&format!("{root_url}/")).await;
    browser.fill("#client-id", client_id).await;
    browser.fill("#access-token", &format!("{token}\u{E007}")).await;
}

#[tokio::test]
async fn a_user_creates_a_hook_through_the_form_triggers_it_and_sees_the_fire() {
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn().await;
    app.hooks().createHook("ci", "existing", &hook_body()).await.unwrap();
    let driver = Chromedriver::start().await;
    let browser = driver.browser(1280, 1000).await;

    sign_in(&browser, &app.root_url, "tester", TESTER_TOKEN).await;
    browser.text_in("h1", "Hook groups").await;
    browser.text_in(".groups", "existing").await;
    browser.fill("#filter", "no-such-hook").await;
    browser.text_in("main", "No hook matches the filter.").await;
    browser.fill("#filter", "exist").await;
    browser.shown("a.hook-link").await;
    browser.screenshot("01-hook-groups").await;

    browser.click("a[href='#/new']").await;
    browser.text_in("h1", "New hook").await;
    browser.fill("#hook-group-id", "ci").await;
    browser.fill("#hook-id", "night ly").await;
    browser.fill("#name", "Nightly build").await;
    browser.fill("#description", "Builds the main branch every night").await;
    browser.fill("#owner", "not-an-address").await;
    browser.fill("#schedule", "0 0 2 * * *").await;
    browser.fill("#time-zone", "Europe/Berlin").await;
    browser.fill("#task", &task_echoing_the_payload().to_string()).await;
    browser.fill("#trigger-schema", &rich_trigger_schema().to_string()).await;
    browser.click("#save").await;
    browser.text_in("[data-error-for='hookId']", "must match regular expression").await;
    browser.fill("#hook-id", "nightly").await;
    browser.click("#save").await;
    let error = browser.text_in("[data-error-for='metadata.owner']", "email").await;
    assert!(error.contains("must match format"), "{error}");
    let invalid = browser.shown("#owner").await.attr("aria-invalid").await.unwrap();
    assert_eq!(invalid.as_deref(), Some("true"));
    browser.screenshot("02-validation-error").await;

    browser.fill("#owner", "builds@example.com").await;
    browser.click("#save").await;
    browser.text_in("#hook-page h1", "nightly").await;
    browser.text_in("#schedule", "Europe/Berlin").await;
    browser.shown("#next-slots time").await;
    browser.text_in("#last-fires", "This hook has not fired yet.").await;

    browser.click("#trigger-link").await;
    browser.text_in("h1", "Trigger ci/nightly").await;
    browser.fill("[id='payload.branch']", "main").await;
    browser.fill("[id='payload.count']", "3").await;
    browser.click("[id='payload.dryRun']").await;
    browser.shown("[id='payload.level']").await.select_by_label("release").await.unwrap();
    browser.click("[id='payload.tags-add']").await;
    browser.fill("[id='payload.tags.0']", "nightly").await;
    browser.fill("[id='payload.options.retries']", "2.5").await;
    browser.fill("[id='payload.extra']", "{\"note\": \"raw JSON\"}").await;
    let expected = json!({
        "branch": "main", "count": 3, "dryRun": true, "level": "release", "tags": ["nightly"],
        "options": {"retries": 2.5}, "extra": {"note": "raw JSON"},
    });

    browser.click("#preview").await;
    let preview = browser.text_in("#preview-result", "proj-example").await;
    assert!(preview.contains("\"deadline\""), "{preview}");
    browser.fit_page_height(1280).await;
    browser.screenshot("03-trigger-form-and-preview").await;
    assert_eq!(app.fake.created_count(), 0, "a preview creates no task");

    browser.click("#fire").await;
    let fired = browser.text_in("#fired", "was created").await;
    let created = app.fake.wait_for_tasks(1, Duration::from_secs(10)).await;
    let task_id = &created[0].task_id;
    assert!(fired.contains(task_id.as_str()), "{fired}");
    assert_eq!(created[0].task["payload"], expected, "the task carries the payload the form's fields say");
    app.fake.set_task_state(task_id, TaskState::Running);

    browser.click("#back-to-hook").await;
    let fire = browser.text_in("#last-fires tr.fire", task_id).await;
    assert!(fire.contains("triggerHook") && fire.contains("success"), "{fire}");
    browser.text_in("#last-fires .task-state", "running").await;
    browser.text_in("#fire-log tr.event", "created").await;
    let time = browser.shown("#last-fires time").await;
    let (local, utc) = (time.text().await.unwrap(), time.attr("title").await.unwrap().unwrap_or_default());
    assert!(utc.ends_with(" UTC") && !local.contains("UTC"), "shown {local:?}, on hover {utc:?}");

    browser.fit_page_height(1280).await;
    let page = browser.screenshot("04-hook-page-1280").await;
    std::fs::copy(&page, concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/ui-hook-page.png")).unwrap();

    browser.client.set_window_size(1920, 1080).await.unwrap();
    assert_no_sideways_scrolling(&browser).await;
    browser.screenshot("04-hook-page-1920").await;

    browser.click("#raw-json summary").await;
    browser.text_in("#raw-json pre", "\"hookGroupId\": \"ci\"").await;
    assert_only_this_server_was_asked(&browser).await;
    browser.close().await;
}

#[tokio::test]
async fn wrong_credentials_and_a_missing_scope_are_told_plainly() {
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn().await;
    let driver = Chromedriver::start().await;
    let browser = driver.browser(1280, 900).await;

    sign_in(&browser, &app.root_url, "tester", "not-the-right-token-0123456789abcdefghijkl").await;
    let refused = browser.text_in("#signin-result .alert", "Your credentials were refused").await;
    assert!(refused.contains("AuthenticationFailed") || refused.contains("401"), "{refused}");
    browser.shown("#signin-form").await;
    browser.screenshot("05-wrong-credentials").await;

    sign_in(&browser, &app.root_url, "limited", LIMITED_TOKEN).await;
    let denied = browser.text_in("main .alert", "lacks a scope").await;
    let scopes = browser.shown("main .alert pre.scopes").await.text().await.unwrap();
    assert_eq!(scopes, "hooks:list-hooks:", "{denied}");
    browser.screenshot("06-missing-scope").await;

    // Temporary credentials: the certificate's scopes, not the issuer's "*", are what the API grants.
    let issuer = taskcluster::Credentials::new("tester", TESTER_TOKEN);
    let temporary = issuer.create_temp_creds(Duration::from_secs(3600), ["hooks:get:*"]).unwrap();
    browser.click("#nav button").await;
    browser.fill("#client-id", &temporary.client_id).await;
    browser.fill("#access-token", &temporary.access_token).await;
    browser.click("#signin-form details summary").await;
    browser.fill("#certificate", temporary.certificate.as_deref().unwrap()).await;
    browser.click("#sign-in").await;
    let denied = browser.text_in("main .alert", "Client ID tester does not have sufficient scopes").await;
    let scopes = browser.shown("main .alert pre.scopes").await.text().await.unwrap();
    assert_eq!(scopes, "hooks:list-hooks:", "{denied}");
    browser.close().await;
}

#[tokio::test]
async fn a_hook_is_paused_resumed_edited_and_removed_from_its_page() {
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn().await;
    app.hooks().createHook("ops", "cleanup", &hook_body()).await.unwrap();
    let driver = Chromedriver::start().await;
    let browser = driver.browser(1280, 1000).await;
    sign_in(&browser, &app.root_url, "tester", TESTER_TOKEN).await;
    browser.text_in("h1", "Hook groups").await;
    browser.open(&format!("{}/ui/#/hooks/ops/cleanup", app.root_url)).await;
    browser.text_in("#hook-page h1", "cleanup").await;
    browser.text_in("#webhook", "No webhook configured.").await;
    browser.text_in("#schedule", "No schedule").await;

    browser.fill("#pause-reason-input", "maintenance window\u{E007}").await;
    browser.text_in("#pause-reason", "maintenance window").await;
    browser.shown("#paused-badge").await;
    let hook: Value = app.hooks().hook("ops", "cleanup").await.unwrap();
    assert_eq!(hook["paused"]["reason"], "maintenance window");
    browser.click("#resume").await;
    browser.text_in("#pause-title", "Running").await;
    let hook: Value = app.hooks().hook("ops", "cleanup").await.unwrap();
    assert!(hook.get("paused").is_none(), "{hook}");

    browser.click("#show-token").await;
    let url = browser.text_in("#trigger-url", "/trigger/").await;
    let token: Value = app.hooks().getTriggerToken("ops", "cleanup").await.unwrap();
    assert!(url.ends_with(token["token"].as_str().unwrap()), "{url}");

    browser.click("#edit-link").await;
    browser.text_in("h1", "Edit ops/cleanup").await;
    browser.click("#raw-tab").await;
    let mut definition: Value =
        serde_json::from_str(&browser.shown("#raw-definition").await.prop("value").await.unwrap().unwrap()).unwrap();
    definition["schedule"] = json!(["every minute"]);
    browser.fill("#raw-definition", &definition.to_string()).await;
    browser.click("#save").await;
    browser.text_in("#raw-definition-error", "schedule").await;
    definition["schedule"] = json!(["0 */5 * * * *"]);
    definition["metadata"]["description"] = json!("edited as raw JSON");
    browser.fill("#raw-definition", &definition.to_string()).await;
    browser.click("#save").await;
    browser.text_in("#definition", "edited as raw JSON").await;
    browser.text_in("#schedule", "0 */5 * * * *").await;

    browser.click("#remove").await;
    browser.text_in("#remove ~ [role=alertdialog]", "cannot be undone").await;
    browser.click("#remove-yes").await;
    browser.text_in("h1", "Hook group ops").await;
    browser.text_in("main", "No hooks in this group.").await;
    let gone = app.hooks().hook("ops", "cleanup").await.unwrap_err();
    assert_eq!(common::status_of(&gone), Some(404));
    browser.close().await;
}

#[tokio::test]
async fn the_webhook_panel_configures_shows_and_removes_a_webhook() {
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn().await;
    app.hooks().createHook("ci", "build", &hook_body()).await.unwrap();
    let driver = Chromedriver::start().await;
    let browser = driver.browser(1280, 1000).await;
    sign_in(&browser, &app.root_url, "tester", TESTER_TOKEN).await;
    browser.text_in("h1", "Hook groups").await;
    browser.eval("location.hash = '#/hooks/ci/build'").await;
    browser.text_in("#webhook", "No webhook configured.").await;

    browser.shown("#webhook-kind").await.select_by_label("github").await.unwrap();
    browser.fill("#webhook-events", "push, pull_request").await;
    browser.click("#webhook button[type=submit]").await;
    let saved = browser.text_in("#webhook-saved", "/api/hooks/v1/hooks/ci/build/webhook").await;
    // The server has it, with the secret it generated, which the page showed once.
    let (status, stored) = common::signed(&app, Method::GET, "/hooks/ci/build/webhook", None).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!((&stored["kind"], &stored["events"]), (&json!("github"), &json!(["push", "pull_request"])));
    let (_, secret) = common::signed(&app, Method::GET, "/hooks/ci/build/webhook/secret", None).await;
    let secret = secret["secret"].as_str().unwrap().to_owned();
    assert!(saved.contains(&secret), "{saved}");
    browser.text_in("#webhook dl", "push, pull_request").await;
    browser.click("#show-webhook-secret").await;
    browser.text_in("#webhook-secret-shown", &secret).await;

    browser.click("#remove-webhook").await;
    browser.text_in("#remove-webhook ~ [role=alertdialog]", "Remove the webhook?").await;
    browser.click("#remove-webhook-yes").await;
    browser.text_in("#webhook", "No webhook configured.").await;
    assert_eq!(common::signed(&app, Method::GET, "/hooks/ci/build/webhook", None).await.0, 404);
    browser.close().await;
}

#[tokio::test]
async fn the_hook_page_fits_a_phone_screen() {
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn().await;
    let mut body = hook_body();
    body["schedule"] = json!(["0 0 9,21 * * 1-5"]);
    body["bindings"] = json!([{"exchange": "exchange/ci/v1/push", "routingKeyPattern": "primary.#"}]);
    app.hooks().createHook("phone", "a-hook-with-a-rather-long-identifier", &body).await.unwrap();
    // More fires than a page of the history holds (20).
    for _ in 0..22 {
        app.hooks().triggerHook("phone", "a-hook-with-a-rather-long-identifier", &json!({})).await.unwrap();
    }
    let driver = Chromedriver::start().await;
    let browser = driver.phone(390, 844).await;

    sign_in(&browser, &app.root_url, "tester", TESTER_TOKEN).await;
    browser.text_in(".groups", "a-hook-with-a-rather-long-identifier").await;
    browser.click("a.hook-link").await;
    browser.text_in("#bindings", "exchange/ci/v1/push").await;
    browser.shown("#last-fires tr.fire").await;
    assert_eq!(browser.count("#last-fires tr.fire").await, 20);
    browser.click("#last-fires button.more").await;
    browser.text_in("#fire-log", "created").await;
    let deadline = std::time::Instant::now() + browser::PATIENCE;
    while browser.count("#last-fires tr.fire").await < 22 {
        assert!(std::time::Instant::now() < deadline, "the older fires never came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !browser
            .shown("#last-fires")
            .await
            .find(fantoccini::Locator::Css("button.more"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "no more pages"
    );
    assert_eq!(browser.eval("return window.innerWidth").await, json!(390));
    assert_no_sideways_scrolling(&browser).await;
    browser.screenshot("07-phone-hook-page").await;
    assert_only_this_server_was_asked(&browser).await;
    browser.close().await;
}

#[tokio::test]
async fn ui_pages_carry_a_strict_policy_and_the_root_leads_to_them() {
    let app = TestApp::spawn().await;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let root = no_redirects.get(format!("{}/", app.root_url)).send().await.unwrap();
    assert_eq!(root.status(), 302);
    assert_eq!(root.headers()["location"], "/ui/");

    let page = app.http.get(format!("{}/ui/", app.root_url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.starts_with("default-src 'self';") && policy.contains("frame-ancestors 'none'"), "{policy}");
    let script = app.http.get(format!("{}/ui/js/app.js", app.root_url)).send().await.unwrap();
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    let missing = app.http.get(format!("{}/ui/nothing.js", app.root_url)).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    // The API's own routes are untouched.
    let robots = app.http.get(format!("{}/robots.txt", app.root_url)).send().await.unwrap();
    assert_eq!(robots.status(), 200);
    let ping = app.http.get(app.url("/ping")).send().await.unwrap();
    assert_eq!(ping.status(), 200);
    let api_policy = ping.headers()["content-security-policy"].to_str().unwrap();
    assert!(api_policy.contains("default-src 'none'"), "{api_policy}");
}
