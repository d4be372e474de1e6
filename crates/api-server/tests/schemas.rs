//! The project's JSON schemas: served as written, valid draft-07, and enforced on request bodies with upstream's
//! `InputValidationError`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use api_server::schemas::{InputSchemas, SCHEMAS};
use common::{TestApp, hook_body, status_of};
use serde_json::{Value, json};

fn schema_file(name: &str) -> String {
    let path = format!("{}/../../schemas/v1/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test]
async fn every_schema_is_served_as_its_file_and_is_valid_draft07() {
    let app = TestApp::spawn().await;
    for (name, _) in SCHEMAS {
        let resp = app.http.get(format!("{}/schemas/hooks/v1/{name}.json", app.root_url)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{name}");
        assert_eq!(resp.headers()["content-type"], "application/json; charset=utf-8", "{name}");
        let text = resp.text().await.unwrap();
        assert_eq!(text, schema_file(name), "{name}");
        let schema: Value = serde_json::from_str(&text).unwrap();
        let problems: Vec<String> =
            jsonschema::draft7::meta::validator().iter_errors(&schema).map(|e| e.to_string()).collect();
        assert!(problems.is_empty(), "{name}: {problems:?}");
    }
}

#[tokio::test]
async fn create_hook_request_schema_is_served() {
    let app = TestApp::spawn().await;
    let resp =
        app.http.get(format!("{}/schemas/hooks/v1/create-hook-request.json", app.root_url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let served: Value = resp.json().await.unwrap();
    assert_eq!(served["$id"], "/schemas/hooks/v1/create-hook-request.json#");
    assert_eq!(served, serde_json::from_str::<Value>(&schema_file("create-hook-request")).unwrap());
}

#[tokio::test]
async fn unknown_schemas_are_json_404() {
    let app = TestApp::spawn().await;
    for path in [
        "/schemas/hooks/v1/nope.json",
        "/schemas/hooks/v1/create-hook-request",
        "/schemas/hooks/v2/create-hook-request.json",
        "/api/hooks/v1/schemas/hooks/v1/create-hook-request.json",
    ] {
        let resp = app.http.get(format!("{}{path}", app.root_url)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(resp.json::<Value>().await.unwrap(), json!({"error": "Not found"}), "{path}");
    }
}

/// The bodies the api-server tests send to createHook and updateHook, each of which must pass the schema (those
/// refused later are refused for their meaning, with InputError).
fn bodies_sent_by_the_tests() -> Vec<Value> {
    let mut bodies = vec![hook_body()];
    let mut without = hook_body();
    without.as_object_mut().unwrap().remove("bindings");
    without.as_object_mut().unwrap().remove("schedule");
    bodies.push(without);
    for (key, value) in [
        ("schedule", json!(["0 0 * * * *"])),
        ("schedule", json!(["0 0 0 * * *"])),
        ("schedule", json!(["0 0 3 0 * *"])),
        ("bindings", json!([{"exchange": "exchange/x/v1/y", "routingKeyPattern": "#"}])),
        ("bindings", json!([{"exchange": "exchange/taskcluster-queue/v1/task-created", "routingKeyPattern": "#"}])),
        ("hookGroupId", json!("other")),
        ("task", json!({"$if": "false", "then": {"a": 1}})),
    ] {
        let mut body = hook_body();
        body[key] = value;
        bodies.push(body);
    }
    bodies
}

#[test]
fn every_body_the_tests_send_passes_the_create_hook_request_schema() {
    let schemas = InputSchemas::compile().unwrap();
    for body in bodies_sent_by_the_tests() {
        schemas.create_hook_request.validate(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
    }
}

#[tokio::test]
async fn create_hook_bodies_failing_the_schema_are_input_validation_errors_naming_the_path() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    let mut no_owner = hook_body();
    no_owner["metadata"].as_object_mut().unwrap().remove("owner");
    let mut extra = hook_body();
    extra["nope"] = json!(1);
    let mut schedule_not_array = hook_body();
    schedule_not_array["schedule"] = json!("0 0 * * * *");
    let cases = [
        (no_owner, "* data/metadata must have required property 'owner'"),
        (extra, r#"* data must NOT have additional properties: "nope""#),
        (schedule_not_array, "* data/schedule must be array"),
    ];
    for (body, expected) in cases {
        let err = hooks.createHook("g", "h", &body).await.unwrap_err();
        assert_eq!(status_of(&err), Some(400), "{err}");
        let message = err.to_string();
        assert!(message.contains("* errorCode:  InputValidationError"), "{message}");
        assert!(
            message.starts_with(
                "\nSchema Validation Failed!\nRejecting Schema: /schemas/hooks/v1/create-hook-request.json#\nErrors:\n  * "
            ),
            "{message}"
        );
        assert!(message.contains(expected), "{message} should contain {expected}");
        // updateHook checks the same schema, before looking the hook up.
        let err = hooks.updateHook("g", "h", &body).await.unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
    assert_eq!(status_of(&hooks.hook("g", "h").await.unwrap_err()), Some(404), "nothing was created");
}

#[tokio::test]
async fn trigger_bodies_must_be_objects() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let err = app.hooks().triggerHook("g", "h", &json!([])).await.unwrap_err();
    assert_eq!(status_of(&err), Some(400));
    assert!(err.to_string().contains("Rejecting Schema: /schemas/hooks/v1/trigger-hook.json#"), "{err}");

    let resp = app.http.post(app.url("/hooks/g/h/trigger/any-token")).json(&json!([1])).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "InputValidationError");
    assert!(body["message"].as_str().unwrap().contains("Errors:\n  * data must be object\n\n---"), "{body}");
    assert!(app.fake.created_tasks().is_empty());
}
