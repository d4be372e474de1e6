//! Loading hook files (`--load-hooks`) into a database that may already hold them, sealed under another key.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use hooks_core::ExchangeDenylist;
use hooks_core::hook_files::{Unusable, load_dir};
use hooks_core::storage::find_hook;
use test_support::TestDb;

fn examples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[tokio::test]
async fn loading_again_leaves_existing_hooks_alone() {
    let db = TestDb::new().await;
    let keyring = common::keyring();
    let denylist = ExchangeDenylist::default();
    let first = load_dir(&db.pool, &keyring, &denylist, &examples(), "test", Unusable::Fail).await.unwrap();
    assert_eq!(first, ["examples/every-minute", "examples/nightly-berlin", "examples/webhook"]);
    let second = load_dir(&db.pool, &keyring, &denylist, &examples(), "test", Unusable::Fail).await.unwrap();
    assert!(second.is_empty(), "{second:?}");
}

#[tokio::test]
async fn hooks_sealed_under_a_lost_key_stop_the_load_once_with_the_key_named() {
    let db = TestDb::new().await;
    let denylist = ExchangeDenylist::default();
    load_dir(&db.pool, &common::keyring(), &denylist, &examples(), "test", Unusable::Fail).await.unwrap();

    let err = load_dir(&db.pool, &common::keyring(), &denylist, &examples(), "test", Unusable::Fail).await.unwrap_err();
    let chain = format!("{:#}", anyhow::Error::from(err));
    assert!(chain.contains("stored data for hook examples/every-minute is unusable"), "{chain}");
    assert!(chain.contains("which is not in HOOKS_CRYPTO_KEY"), "{chain}");
    assert_eq!(chain.matches("is unusable").count(), 1, "the cause is printed once: {chain}");
}

#[tokio::test]
async fn development_mode_replaces_hooks_sealed_under_a_lost_key() {
    let db = TestDb::new().await;
    let denylist = ExchangeDenylist::default();
    load_dir(&db.pool, &common::keyring(), &denylist, &examples(), "test", Unusable::Fail).await.unwrap();

    let new_key = common::keyring();
    let replaced = load_dir(&db.pool, &new_key, &denylist, &examples(), "test", Unusable::Replace).await.unwrap();
    assert_eq!(replaced, ["examples/every-minute", "examples/nightly-berlin", "examples/webhook"]);
    let mut conn = db.pool.get().await.unwrap();
    let hook =
        find_hook(&mut conn, &new_key, &common::key("examples", "webhook")).await.unwrap().expect("the hook is there");
    assert!(!hook.trigger_token.expose().is_empty(), "its token opens with the new key");
}
