//! A hook's own `timeZone` and `catchUp` (extensions upstream has no fields for) through the real api-server:
//! kept and shown as given, refused with 400 naming the field, removed by an update without them, and absent from
//! hooks that don't set them, which still read back as upstream's hook-definition schema describes.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use chrono::{DateTime, Timelike as _, Utc};
use common::{TestApp, headline, hook_body, signed, status_of};
use jsonschema::{Draft, Registry};
use reqwest::Method;
use serde_json::{Value, json};

fn with(extra: Value) -> Value {
    let mut body = hook_body();
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

fn next_scheduled(status: &Value) -> DateTime<Utc> {
    status["nextScheduledDate"].as_str().unwrap_or_else(|| panic!("no nextScheduledDate in {status}")).parse().unwrap()
}

/// Upstream's hook-definition schema as published (tests/upstream-schemas/, copied from Taskcluster), with the
/// `$ref`s among its files resolved locally. `$schema` names upstream's own metaschema, a draft-07 dialect: it is
/// dropped so that the validator reads the files as draft-07.
fn upstream_hook_definition() -> jsonschema::Validator {
    let load = |name: &str| -> Value {
        let path = format!("{}/tests/upstream-schemas/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        schema.as_object_mut().unwrap().remove("$schema");
        schema
    };
    let parts: Vec<(String, Value)> = ["bindings", "hook-definition", "hook-metadata", "schedule"]
        .iter()
        .map(|name| (format!("json-schema:///schemas/hooks/v1/{name}.json"), load(name)))
        .collect();
    let registry = Registry::new().draft(Draft::Draft7).extend(parts).unwrap().prepare().unwrap();
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .with_registry(&registry)
        .offline()
        .build(&load("hook-definition"))
        .unwrap()
}

#[tokio::test]
async fn zone_and_catch_up_round_trip_and_the_next_slot_is_the_zones_wall_time_in_utc() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    let body = with(json!({
        "schedule": ["0 0 9 * * *"],
        "timeZone": "Asia/Tokyo",
        "catchUp": {"policy": "all", "window": "90m"},
    }));
    let created = hooks.createHook("g", "tokyo", &body).await.unwrap();
    assert_eq!(created["timeZone"], "Asia/Tokyo");
    assert_eq!(created["catchUp"], json!({"policy": "all", "window": "90m"}));
    let read = hooks.hook("g", "tokyo").await.unwrap();
    assert_eq!(read, created);
    let listed = hooks.listHooks("g").await.unwrap();
    assert_eq!(listed["hooks"][0], created);

    // 09:00 in Tokyo is midnight UTC; the status shows the UTC instant.
    let next = next_scheduled(&hooks.getHookStatus("g", "tokyo").await.unwrap());
    assert_eq!((next.hour(), next.minute(), next.second()), (0, 0, 0), "{next}");
    assert!(next > Utc::now() && next - Utc::now() <= chrono::TimeDelta::days(1), "{next}");

    // Each policy is kept as given; a window only with `all`.
    for catch_up in [json!({"policy": "none"}), json!({"policy": "latest"}), json!({"policy": "all"})] {
        let read = hooks.updateHook("g", "tokyo", &with(json!({"catchUp": catch_up}))).await.unwrap();
        assert_eq!(read["catchUp"], catch_up);
    }
}

#[tokio::test]
async fn an_unknown_zone_is_an_input_error_naming_time_zone() {
    let app = TestApp::spawn().await;
    for zone in ["Europe/Berln", "europe/berlin", "CEST", ""] {
        let (status, body) = signed(&app, Method::PUT, "/hooks/g/h", Some(&with(json!({"timeZone": zone})))).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("InputError")), "{zone}: {body}");
        let message = headline(&body);
        assert!(message.contains(&format!("timeZone: unknown time zone {zone:?}")), "{message}");
    }
    let (status, body) =
        signed(&app, Method::PUT, "/hooks/g/h", Some(&with(json!({"timeZone": "x".repeat(100)})))).await;
    assert_eq!(status, 400);
    assert!(headline(&body).contains("timeZone: is 100 characters long"), "{body}");
    // A zone that is not a string fails the schema.
    let (status, body) = signed(&app, Method::PUT, "/hooks/g/h", Some(&with(json!({"timeZone": 9})))).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("InputValidationError")), "{body}");
    assert!(headline(&body).contains("data/timeZone"), "{body}");
    assert_eq!(status_of(&app.hooks().hook("g", "h").await.unwrap_err()), Some(404), "nothing was created");
}

#[tokio::test]
async fn a_bad_catch_up_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"policy": "sometimes"}), "InputError", r#"catchUp.policy: "sometimes" is not a catch-up policy"#),
        (json!({"policy": "latest", "window": "1h"}), "InputError", r#"catchUp.window: only policy "all" takes"#),
        (json!({"policy": "all", "window": "an hour"}), "InputError", r#"catchUp.window: "an hour" is not a duration"#),
        (json!({"policy": "all", "window": "8days"}), "InputError", "catchUp.window: \"8days\" is outside the range"),
        (json!({"policy": "all", "window": "0s"}), "InputError", "1s to 7days"),
        (json!({"window": "1h"}), "InputValidationError", "data/catchUp must have required property 'policy'"),
        (
            json!({"policy": "all", "when": 1}),
            "InputValidationError",
            "data/catchUp must NOT have additional properties",
        ),
        (json!("all"), "InputValidationError", "data/catchUp must be object"),
    ];
    for (catch_up, code, words) in cases {
        let body = with(json!({"schedule": ["0 0 * * * *"], "catchUp": catch_up}));
        let (status, reply) = signed(&app, Method::PUT, "/hooks/g/h", Some(&body)).await;
        assert_eq!((status, reply["code"].as_str()), (400, Some(code)), "{catch_up}: {reply}");
        assert!(headline(&reply).contains(words), "{catch_up}: {} should contain {words}", headline(&reply));
    }
    assert_eq!(status_of(&app.hooks().hook("g", "h").await.unwrap_err()), Some(404), "nothing was created");
}

#[tokio::test]
async fn an_update_without_the_fields_removes_them_and_moves_the_next_slot_back_to_utc() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    // 09:00 in New York is 13:00 or 14:00 UTC, never 09:00 UTC.
    let zoned = with(json!({
        "schedule": ["0 0 9 * * *"],
        "timeZone": "America/New_York",
        "catchUp": {"policy": "none"},
    }));
    hooks.createHook("g", "h", &zoned).await.unwrap();
    let next = next_scheduled(&hooks.getHookStatus("g", "h").await.unwrap());
    assert!([13, 14].contains(&next.hour()), "{next}");

    let plain = with(json!({"schedule": ["0 0 9 * * *"]}));
    let updated = hooks.updateHook("g", "h", &plain).await.unwrap();
    for read in [updated, hooks.hook("g", "h").await.unwrap()] {
        assert!(read.get("timeZone").is_none() && read.get("catchUp").is_none(), "{read}");
    }
    let next = next_scheduled(&hooks.getHookStatus("g", "h").await.unwrap());
    assert_eq!(next.hour(), 9, "{next}");
}

#[tokio::test]
async fn a_hook_without_the_fields_reads_back_as_upstreams_schema_describes() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    let upstream = upstream_hook_definition();
    let created = hooks.createHook("g", "plain", &with(json!({"schedule": ["0 0 9 * * *"]}))).await.unwrap();
    let keys: Vec<&str> = created.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = vec!["bindings", "hookGroupId", "hookId", "metadata", "schedule", "task", "triggerSchema"];
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "no new keys");
    for read in [created, hooks.hook("g", "plain").await.unwrap()] {
        let problems: Vec<String> = upstream.iter_errors(&read).map(|e| e.to_string()).collect();
        assert!(problems.is_empty(), "{problems:?}");
    }
    // The same check fails for a hook that does set them: upstream's schema refuses the extensions.
    let zoned = hooks.createHook("g", "zoned", &with(json!({"timeZone": "Europe/Berlin"}))).await.unwrap();
    assert!(!upstream.is_valid(&zoned), "upstream's schema should refuse timeZone: {zoned}");
}
