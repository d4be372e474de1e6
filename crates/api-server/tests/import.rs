//! `hooks-api-server import --from <rootUrl>`, copying from a running hooks API (ours speaks the same wire as
//! Taskcluster's) into a fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::process::Command;

use common::{TESTER_TOKEN, TestApp, hook_body};
use hooks_core::Keyring;
use hooks_core::storage::{find_hook, list_hook_groups};
use serde_json::json;
use test_support::TestDb;

struct Target {
    db: TestDb,
    key: hooks_core::SecretString,
}

impl Target {
    async fn new() -> Self {
        Self { db: TestDb::new().await, key: Keyring::generate_key().unwrap() }
    }

    /// Runs the import; returns whether it succeeded and what it printed.
    fn import(&self, from: &str, extra: &[&str]) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_hooks-api-server"))
            .env_clear()
            .env("DATABASE_URL", &self.db.url)
            .env("HOOKS_CRYPTO_KEY", self.key.expose())
            .env("HOOKS_IMPORT_CLIENT_ID", "tester")
            .env("HOOKS_IMPORT_ACCESS_TOKEN", TESTER_TOKEN)
            .env("RUST_LOG", "warn")
            .args(["import", "--from", from])
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(!stdout.contains(TESTER_TOKEN), "the access token was printed");
        (out.status.success(), stdout)
    }

    async fn hook(&self, g: &str, h: &str) -> Option<hooks_core::Hook> {
        let keyring = Keyring::parse(&self.key).unwrap();
        find_hook(&mut self.db.pool.get().await.unwrap(), &keyring, &hooks_core::HookKey::parse(g, h).unwrap())
            .await
            .unwrap()
    }
}

fn lines(out: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)] // the import blocks one thread; the source server runs on the other
async fn import_copies_every_hook_once_and_brings_over_later_changes() {
    let source = TestApp::spawn().await;
    let hooks = source.hooks();
    let mut scheduled = hook_body();
    scheduled["schedule"] = json!(["0 0 * * * *"]);
    scheduled["bindings"] = json!([{"exchange": "exchange/x/v1/y", "routingKeyPattern": "a.#"}]);
    hooks.createHook("grp", "a/b", &scheduled).await.unwrap();
    hooks.createHook("other", "c", &hook_body()).await.unwrap();
    let target = Target::new().await;

    let (ok, out) = target.import(&source.root_url, &["--dry-run"]);
    assert!(ok, "{out}");
    assert_eq!(
        lines(&out),
        [
            "2 would be created, 0 would be updated, 0 unchanged, 0 trigger tokens would be copied, 0 failed (dry run: \
             nothing was written)",
            "create grp/a/b",
            "create other/c",
        ]
    );
    let mut conn = target.db.pool.get().await.unwrap();
    assert!(list_hook_groups(&mut conn).await.unwrap().is_empty(), "a dry run wrote");

    let (ok, out) = target.import(&source.root_url, &["--copy-trigger-tokens"]);
    assert!(ok, "{out}");
    assert!(out.contains("2 created, 0 updated, 0 unchanged, 2 trigger tokens copied, 0 failed"), "{out}");
    let copied = target.hook("grp", "a/b").await.unwrap();
    assert_eq!(copied.definition.to_json(), hooks.hook("grp", "a/b").await.unwrap());
    assert!(copied.next_scheduled_date.is_some(), "the schedule was not set up");
    let token = hooks.getTriggerToken("grp", "a/b").await.unwrap();
    assert_eq!(copied.trigger_token.expose(), token["token"].as_str().unwrap());

    // Idempotent: nothing to do a second time.
    let (ok, out) = target.import(&source.root_url, &["--copy-trigger-tokens"]);
    assert!(ok, "{out}");
    assert!(out.contains("0 created, 0 updated, 2 unchanged, 0 trigger tokens copied, 0 failed"), "{out}");

    // A later change at the source is brought over.
    let mut changed = hook_body();
    changed["metadata"]["description"] = json!("changed");
    hooks.updateHook("other", "c", &changed).await.unwrap();
    let (ok, out) = target.import(&source.root_url, &[]);
    assert!(ok, "{out}");
    assert!(lines(&out).contains(&"update other/c"), "{out}");
    assert_eq!(target.hook("other", "c").await.unwrap().definition.metadata.description, "changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)] // the import blocks one thread; the source server runs on the other
async fn import_without_the_scopes_to_list_fails_saying_so() {
    let source = TestApp::spawn().await;
    let target = Target::new().await;
    let out = Command::new(env!("CARGO_BIN_EXE_hooks-api-server"))
        .env_clear()
        .env("DATABASE_URL", &target.db.url)
        .env("HOOKS_CRYPTO_KEY", target.key.expose())
        .args(["import", "--from", &source.root_url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("listHookGroups on the source deployment"), "{stderr}");
}
