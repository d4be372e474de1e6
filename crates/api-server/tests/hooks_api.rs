//! The hooks v1 API driven by the official `taskcluster` crate's Hooks client, and by raw HTTP where the wire matters.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, hook_body, signed, status_of};
use serde_json::{Value, json};

#[tokio::test]
async fn create_get_list_update_remove_round_trip() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    let created = hooks.createHook("grp", "a/b", &hook_body()).await.unwrap();
    assert_eq!(created["hookGroupId"], "grp");
    assert_eq!(created["hookId"], "a/b");
    let fetched = hooks.hook("grp", "a/b").await.unwrap();
    assert_eq!(fetched, created);
    let keys: Vec<&String> = fetched.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 7, "{keys:?}");

    assert_eq!(hooks.listHookGroups().await.unwrap(), json!({"groups": ["grp"]}));
    assert_eq!(hooks.listHooks("grp").await.unwrap()["hooks"].as_array().unwrap().len(), 1);

    let mut changed = hook_body();
    changed["schedule"] = json!(["0 0 * * * *"]);
    changed["bindings"] = json!([{"exchange": "exchange/x/v1/y", "routingKeyPattern": "#"}]);
    let updated = hooks.updateHook("grp", "a/b", &changed).await.unwrap();
    assert_eq!(updated["schedule"], json!(["0 0 * * * *"]));

    // An update without bindings keeps them, and without schedule resets it.
    let mut without = hook_body();
    without.as_object_mut().unwrap().remove("bindings");
    without.as_object_mut().unwrap().remove("schedule");
    let updated = hooks.updateHook("grp", "a/b", &without).await.unwrap();
    assert_eq!(updated["bindings"].as_array().unwrap().len(), 1);
    assert_eq!(updated["schedule"], json!([]));

    hooks.removeHook("grp", "a/b").await.unwrap();
    assert_eq!(status_of(&hooks.hook("grp", "a/b").await.unwrap_err()), Some(404));
    // Removing again is still 200 {}.
    hooks.removeHook("grp", "a/b").await.unwrap();
    assert_eq!(status_of(&hooks.listHooks("grp").await.unwrap_err()), Some(404));
}

#[tokio::test]
async fn a_minimal_create_gets_upstreams_defaults_and_an_update_resets_the_trigger_schema() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    let mut minimal = hook_body();
    for key in ["bindings", "schedule", "triggerSchema"] {
        minimal.as_object_mut().unwrap().remove(key);
    }
    minimal["metadata"].as_object_mut().unwrap().remove("emailOnError");
    let created = hooks.createHook("g", "h", &minimal).await.unwrap();
    // The answer echoes the request, as upstream: no `bindings` when none were sent; the hook itself has none.
    assert!(created.get("bindings").is_none(), "{created}");
    assert_eq!(hooks.hook("g", "h").await.unwrap()["bindings"], json!([]));
    assert_eq!(created["schedule"], json!([]));
    assert_eq!(created["triggerSchema"], json!({"type": "object", "additionalProperties": false}));
    assert_eq!(created["metadata"]["emailOnError"], json!(true));

    // An update that leaves the trigger schema out puts back the default, as upstream.
    hooks.updateHook("g", "h", &hook_body()).await.unwrap();
    assert_eq!(hooks.hook("g", "h").await.unwrap()["triggerSchema"], hook_body()["triggerSchema"]);
    let updated = hooks.updateHook("g", "h", &minimal).await.unwrap();
    assert_eq!(updated["triggerSchema"], json!({"type": "object", "additionalProperties": false}));

    // removeHook answers exactly `{}`.
    assert_eq!(signed(&app, reqwest::Method::DELETE, "/hooks/g/h", None).await, (200, json!({})));
}

#[tokio::test]
async fn repeating_an_identical_create_succeeds_and_a_different_one_conflicts() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    let mut body = hook_body();
    body.as_object_mut().unwrap().remove("bindings");
    hooks.createHook("g", "h", &body).await.unwrap();
    hooks.createHook("g", "h", &body).await.unwrap();
    let mut other = hook_body();
    other["schedule"] = json!(["0 0 0 * * *"]);
    let err = hooks.createHook("g", "h", &other).await.unwrap_err();
    assert_eq!(status_of(&err), Some(409));
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[tokio::test]
async fn invalid_definitions_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    let mut bad_cron = hook_body();
    bad_cron["schedule"] = json!(["0 0 3 0 * *"]);
    let err = hooks.createHook("g", "h", &bad_cron).await.unwrap_err();
    assert_eq!(status_of(&err), Some(400));
    assert!(err.to_string().contains("schedule[0]"), "{err}");

    let mut denied = hook_body();
    denied["bindings"] = json!([{"exchange": "exchange/taskcluster-queue/v1/task-created", "routingKeyPattern": "#"}]);
    let err = hooks.createHook("g", "h", &denied).await.unwrap_err();
    assert!(err.to_string().contains("denylist"), "{err}");

    let mut mismatch = hook_body();
    mismatch["hookGroupId"] = json!("other");
    let err = hooks.createHook("g", "h", &mismatch).await.unwrap_err();
    assert!(err.to_string().contains("Hook Group Ids do not match"), "{err}");

    let mut unknown = hook_body();
    unknown["nope"] = json!(1);
    let err = hooks.createHook("g", "h", &unknown).await.unwrap_err();
    assert!(err.to_string().contains("Schema Validation Failed"), "{err}");
}

#[tokio::test]
async fn trigger_hook_fires_with_the_payload_and_lists_the_fire() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    let reply = hooks.triggerHook("g", "h", &json!({"location": "Berlin"})).await.unwrap();
    let task_id = reply["taskId"].as_str().unwrap().to_owned();
    assert_eq!(reply["status"]["taskId"], task_id);
    let tasks = app.fake.created_tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].task_id, task_id);
    assert_eq!(tasks[0].task["payload"]["from"], "triggerHook");
    assert_eq!(tasks[0].authorized_scopes.as_deref(), Some(&["assume:hook-id:g/h".to_owned()][..]));

    let fires = hooks.listLastFires("g", "h", None, None).await.unwrap();
    assert_eq!(fires["lastFires"][0]["taskId"], task_id);
    assert_eq!(fires["lastFires"][0]["firedBy"], "triggerHook");
    assert_eq!(fires["lastFires"][0]["taskState"], "pending"); // as the queue says of a task no worker took yet

    let status = hooks.getHookStatus("g", "h").await.unwrap();
    assert_eq!(status["lastFire"]["result"], "success");
    assert_eq!(status["lastFire"]["taskId"], task_id);
}

#[tokio::test]
async fn trigger_payload_must_match_the_trigger_schema_and_task_id_must_be_a_slugid() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    let err = hooks.triggerHook("g", "h", &json!({"location": 5})).await.unwrap_err();
    assert_eq!(status_of(&err), Some(400));
    assert!(err.to_string().contains("data/location must be string"), "{err}");
    let err = hooks.triggerHook("g", "h", &json!({"taskId": "nope"})).await.unwrap_err();
    assert!(err.to_string().contains("Invalid taskId format: nope"), "{err}");
    let chosen = hooks_core::TaskId::generate();
    let reply = hooks.triggerHook("g", "h", &json!({"taskId": chosen.as_str()})).await.unwrap();
    assert_eq!(reply["taskId"], chosen.as_str());
    assert!(app.fake.created_tasks().iter().all(|t| t.task_id == chosen.as_str()));
}

#[tokio::test]
async fn webhook_token_works_until_reset_and_a_wrong_one_is_401() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    let token = hooks.getTriggerToken("g", "h").await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(hooks.getTriggerToken("g", "h").await.unwrap()["token"], token);
    let reply = hooks.triggerHookWithToken("g", "h", &token, &json!({})).await.unwrap();
    assert!(reply["taskId"].is_string());
    assert_eq!(app.fake.created_tasks()[0].task["payload"]["from"], "triggerHookWithToken");

    let new = hooks.resetTriggerToken("g", "h").await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_ne!(new, token);
    let err = hooks.triggerHookWithToken("g", "h", &token, &json!({})).await.unwrap_err();
    assert_eq!(status_of(&err), Some(401));
    hooks.triggerHookWithToken("g", "h", &new, &json!({})).await.unwrap();
}

#[tokio::test]
async fn a_declining_template_answers_an_empty_object() {
    let app = TestApp::spawn().await;
    let mut body = hook_body();
    body["task"] = json!({"$if": "false", "then": {"a": 1}});
    app.hooks().createHook("g", "h", &body).await.unwrap();
    assert_eq!(app.hooks().triggerHook("g", "h", &json!({})).await.unwrap(), json!({}));
}

#[tokio::test]
async fn queue_errors_map_to_403_and_400() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    app.fake.fail_create_task(1, 403, "InsufficientScopes");
    let err = hooks.triggerHook("g", "h", &json!({})).await.unwrap_err();
    assert_eq!(status_of(&err), Some(403));
    assert!(err.to_string().contains("The role `hook-id:g/h` does not have sufficient scopes"), "{err}");
    app.fake.fail_create_task(1, 400, "InputError");
    let err = hooks.triggerHook("g", "h", &json!({})).await.unwrap_err();
    assert_eq!(status_of(&err), Some(400));
    assert!(err.to_string().contains("While calling createTask: InputError"), "{err}");
}

#[tokio::test]
async fn last_fires_page_newest_first_with_an_opaque_token() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(hooks.triggerHook("g", "h", &json!({})).await.unwrap()["taskId"].as_str().unwrap().to_owned());
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        // The official client signs only the path of a header-authenticated request; a bewit covers the query.
        let url = hooks
            .listLastFires_signed_url("g", "h", token.as_deref(), Some("2"), std::time::Duration::from_secs(60))
            .unwrap();
        let page: Value = app.http.get(url).send().await.unwrap().json().await.unwrap();
        seen.extend(page["lastFires"].as_array().unwrap().iter().map(|f| f["taskId"].as_str().unwrap().to_owned()));
        match page.get("continuationToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let url = hooks.listLastFires_signed_url("g", "h", Some("!"), None, std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(app.http.get(url).send().await.unwrap().status(), 400);
    assert_eq!(status_of(&hooks.listLastFires("g", "nothing", None, None).await.unwrap_err()), Some(404));
}

#[tokio::test]
async fn wire_details_match_upstream() {
    let app = TestApp::spawn().await;
    // A bad hookId: 400 InvalidRequestArguments with upstream's text.
    let err = app.hooks().hook("g", "bar!!!").await.unwrap_err();
    assert_eq!(status_of(&err), Some(400));
    assert!(err.to_string().contains("URL parameter 'hookId' given as 'bar!!!' must match"), "{err}");

    // The CORS and cache headers, on every response.
    let resp = app.http.get(app.url("/ping")).send().await.unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert_eq!(resp.headers()["cache-control"], "no-store no-cache must-revalidate");

    // An undeclared query key (on the webhook route, which needs no credentials).
    let resp = app.http.post(app.url("/hooks/g/h/trigger/tok?x=1")).json(&json!({})).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "InvalidRequestArguments");
    assert!(body["message"].as_str().unwrap().starts_with("Query-string parameter: x is not supported!"));
    assert_eq!(body["requestInfo"]["method"], "triggerHookWithToken");
    assert!(!body.to_string().contains("tok\""), "the token is not echoed: {body}");

    // Malformed JSON is refused before authentication, as upstream.
    let resp = app
        .http
        .put(app.url("/hooks/g/h"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "MalformedPayload");

    // A percent-encoded slash in the hookId round-trips.
    app.hooks().createHook("g", "x/y", &hook_body()).await.unwrap();
    let url = app.hooks().hook_signed_url("g", "x/y", std::time::Duration::from_secs(60)).unwrap();
    assert!(url.contains("x%2Fy"), "{url}");
    let resp = app.http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["hookId"], "x/y");
}

#[tokio::test]
async fn root_level_routes_answer_and_unknown_paths_are_json_404() {
    let app = TestApp::spawn().await;
    for path in ["/__heartbeat__", "/__lbheartbeat__", "/api/hooks/v1/__lbheartbeat__"] {
        let resp = app.http.get(format!("{}{path}", app.root_url)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    let version: Value =
        app.http.get(format!("{}/__version__", app.root_url)).send().await.unwrap().json().await.unwrap();
    assert!(version["version"].is_string());
    let robots = app.http.get(format!("{}/robots.txt", app.root_url)).send().await.unwrap().text().await.unwrap();
    assert_eq!(robots, "User-Agent: *\nDisallow: /\n");
    let resp = app.http.get(format!("{}/nope", app.root_url)).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"error": "Not found"}));
    let ping: Value = app.hooks().ping().await.map(|_| json!({})).unwrap();
    assert_eq!(ping, json!({}));
}

#[tokio::test]
async fn wrong_credentials_are_401_and_missing_scopes_403_naming_them() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let err = app.hooks_as("tester", "wrong-token").hook("g", "h").await.unwrap_err();
    assert_eq!(status_of(&err), Some(401));
    let resp = app.http.get(app.url("/hooks/g/h")).send().await.unwrap();
    assert_eq!(resp.status(), 403, "no credentials: anonymous has no scopes");

    let limited = app.hooks_as("limited", common::LIMITED_TOKEN);
    limited.hook("g", "h").await.unwrap();
    let err = limited.listHookGroups().await.unwrap_err();
    assert_eq!(status_of(&err), Some(403));
    assert!(err.to_string().contains("hooks:list-hooks:"), "{err}");
    // Defining a hook needs its role too: nobody makes a hook more powerful than themselves.
    let err = limited.createHook("g", "other", &hook_body()).await.unwrap_err();
    assert_eq!(status_of(&err), Some(403));
    assert!(err.to_string().contains("assume:hook-id:g/other"), "{err}");
    assert!(err.to_string().contains("Client ID limited does not have sufficient scopes"), "{err}");
}

#[tokio::test]
async fn a_body_over_10_mb_is_413_in_the_taskcluster_format() {
    let app = TestApp::spawn().await;
    let body = format!("{{\"pad\": \"{}\"}}", "x".repeat(10 * 1024 * 1024));
    let res = app
        .http
        .post(app.url("/hooks/g/h/trigger/some-token"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
    assert_eq!(res.headers()["access-control-allow-origin"], "*", "upstream's headers too");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "InputTooLarge");
    assert!(body["message"].as_str().unwrap().starts_with("The request body is larger than the 10 MB allowed."));
    assert_eq!(body["requestInfo"]["method"], "triggerHookWithToken");
    assert_eq!(body["requestInfo"]["params"]["hookGroupId"], "g");
}

#[tokio::test]
async fn a_client_resending_its_signed_request_after_a_5xx_is_not_refused_as_a_replay() {
    use diesel_async::RunQueryDsl as _;
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    // Break the database under listLastFires: every attempt is a 500, which the official client retries by sending
    // the very same signed request again.
    let mut conn = app.db.pool.get().await.unwrap();
    diesel::sql_query("ALTER TABLE last_fires RENAME TO last_fires_away").execute(&mut conn).await.unwrap();
    let err = hooks.listLastFires("g", "h", None, None).await.unwrap_err();
    assert_eq!(status_of(&err), Some(500), "{err:#}");
}
