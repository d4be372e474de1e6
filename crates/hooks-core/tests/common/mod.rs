//! Shared by the hooks-core integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]
#![allow(dead_code, missing_docs, reason = "shared test helpers; not every test file uses all")]

pub mod auth;

use hooks_core::{ExchangeDenylist, HookDefinition, HookGroupId, HookId, HookInput, HookKey, Keyring};
use serde_json::{Value, json};

pub fn key(group: &str, id: &str) -> HookKey {
    HookKey::parse(group, id).unwrap()
}

pub fn keyring() -> Keyring {
    Keyring::parse(&Keyring::generate_key().unwrap()).unwrap()
}

pub fn definition(group: &str, id: &str, extra: Value) -> HookDefinition {
    let mut input = json!({
        "metadata": {"name": "test hook", "description": "d", "owner": "owner@example.com"},
        "task": {
            "provisionerId": "no-provisioner",
            "workerType": "test-worker",
            "payload": {},
            "metadata": {"name": "t", "description": "d", "owner": "owner@example.com", "source": "http://example.com"},
        },
    });
    if let (Some(obj), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
        obj.extend(extra.clone());
    }
    let input: HookInput = serde_json::from_value(input).unwrap();
    HookDefinition::parse(
        HookGroupId::parse(group).unwrap(),
        HookId::parse(id).unwrap(),
        input,
        &ExchangeDenylist::default(),
    )
    .unwrap()
}
