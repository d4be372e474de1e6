//! Storage against a real Postgres: migrations, hooks, audit, last fires, embedded tasks.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use chrono::{TimeZone, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use hooks_core::storage::{self, Inserted, insert_task, tasks_of_hook};
use hooks_core::storage::{
    CreateOutcome, HookFinder, create_hook, delete_hook, find_hook, find_hook_rows, update_hook,
};
use hooks_core::storage::{
    LastFire, LastFireResult, Recorded, list_last_fires, record_last_fire, record_last_fires_of_existing_hooks,
};
use hooks_core::{FiredBy, HookKey};
use serde_json::json;
use test_support::TestDb;

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_again_to_a_migrated_one() {
    let db = TestDb::new().await;
    // TestDb's template is already migrated: a second run must find nothing to do.
    assert_eq!(storage::migrate(&db.url).await.unwrap(), Vec::<String>::new());

    // Now undo everything and migrate the empty database from scratch.
    let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
    diesel::sql_query("DROP SCHEMA public CASCADE").execute(&mut conn).await.unwrap();
    diesel::sql_query("CREATE SCHEMA public").execute(&mut conn).await.unwrap();
    let applied = storage::migrate(&db.url).await.unwrap();
    assert_eq!(applied.len(), migration_count(), "{applied:?}");
    assert!(storage::migrate(&db.url).await.unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_migrations_take_turns() {
    let db = TestDb::new().await;
    let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
    diesel::sql_query("DROP SCHEMA public CASCADE").execute(&mut conn).await.unwrap();
    diesel::sql_query("CREATE SCHEMA public").execute(&mut conn).await.unwrap();
    let runs = futures::future::join_all((0..4).map(|_| storage::migrate(&db.url))).await;
    let applied: usize = runs.into_iter().map(|r| r.unwrap().len()).sum();
    assert_eq!(applied, migration_count(), "exactly one of the concurrent runs applies each migration");
}

fn migration_count() -> usize {
    diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&storage::MIGRATIONS).unwrap().len()
}

#[tokio::test]
async fn create_database_if_missing_creates_once() {
    let name = format!("hooks_test_{}_created_{}", std::process::id(), rand_suffix());
    let url = test_support::db::database_url(&name);
    let admin = test_support::db::server_url();
    assert!(storage::create_database_if_missing(&url).await.unwrap());
    assert!(!storage::create_database_if_missing(&url).await.unwrap());
    let mut conn = AsyncPgConnection::establish(&admin).await.unwrap();
    diesel::sql_query(format!("DROP DATABASE {name}")).execute(&mut conn).await.unwrap();
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
}

#[tokio::test]
async fn created_hook_round_trips_with_its_token_sealed() {
    let db = TestDb::new().await;
    let keyring = common::keyring();
    let def = common::definition(
        "g",
        "a/b",
        json!({"schedule": ["0 0 * * * *"], "bindings": [{"exchange": "e", "routingKeyPattern": "#"}]}),
    );
    let mut conn = db.pool.get().await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 17, 3).unwrap();
    let CreateOutcome::Created(hook) = create_hook(&mut conn, &keyring, &def, "client-1", now).await.unwrap() else {
        panic!("not created");
    };
    assert_eq!(hook.definition, def);
    assert_eq!(hook.trigger_token.expose().len(), 22);
    assert!(hook.next_scheduled_date.is_some());

    let found = find_hook(&mut conn, &keyring, &common::key("g", "a/b")).await.unwrap().unwrap();
    assert_eq!(found.definition, def);
    assert_eq!(found.trigger_token, hook.trigger_token);

    // The token is not stored in clear.
    #[derive(diesel::QueryableByName)]
    struct Raw {
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        encrypted_trigger_token: Vec<u8>,
    }
    let raw: Raw = diesel::sql_query("SELECT encrypted_trigger_token FROM hooks").get_result(&mut conn).await.unwrap();
    let token = hook.trigger_token.expose().as_bytes();
    assert!(!raw.encrypted_trigger_token.windows(token.len()).any(|w| w == token));

    // A keyring without the key can't open it, and says so.
    let err = find_hook(&mut conn, &common::keyring(), &common::key("g", "a/b")).await.unwrap_err();
    assert!(err.to_string().contains("not in HOOKS_CRYPTO_KEY"), "{err}");
}

#[tokio::test]
async fn creating_an_existing_hook_returns_it_unchanged_and_audits_once() {
    let db = TestDb::new().await;
    let keyring = common::keyring();
    let mut conn = db.pool.get().await.unwrap();
    let first = common::definition("g", "h", json!({}));
    let other = common::definition("g", "h", json!({"schedule": ["0 0 0 * * *"]}));
    let now = Utc::now();
    assert!(matches!(create_hook(&mut conn, &keyring, &first, "c1", now).await.unwrap(), CreateOutcome::Created(_)));
    let CreateOutcome::Exists(existing) = create_hook(&mut conn, &keyring, &other, "c2", now).await.unwrap() else {
        panic!("second create should find the first");
    };
    assert_eq!(existing.definition, first);
    let history = storage::audit_history(&mut conn, &common::key("g", "h")).await.unwrap();
    assert_eq!(
        history.iter().map(|e| (e.client_id.as_str(), e.action.as_str())).collect::<Vec<_>>(),
        [("c1", "created")]
    );
}

#[tokio::test]
async fn deleting_a_hook_removes_its_last_fires_and_keeps_the_audit() {
    let db = TestDb::new().await;
    let keyring = common::keyring();
    let mut conn = db.pool.get().await.unwrap();
    create_hook(&mut conn, &keyring, &common::definition("g", "h", json!({})), "c1", Utc::now()).await.unwrap();
    let changed = common::definition("g", "h", json!({"schedule": ["0 0 * * * *"]}));
    assert!(update_hook(&mut conn, &keyring, &changed, "c3", Utc::now()).await.unwrap().is_some());
    record_last_fire(&mut conn, &fire("g", "h", "t1", LastFireResult::Success, "")).await.unwrap();
    assert!(delete_hook(&mut conn, &common::key("g", "h"), "c2").await.unwrap());
    assert!(!delete_hook(&mut conn, &common::key("g", "h"), "c2").await.unwrap());
    assert!(find_hook(&mut conn, &keyring, &common::key("g", "h")).await.unwrap().is_none());
    assert!(list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap().is_empty());
    let actions: Vec<String> = storage::audit_history(&mut conn, &common::key("g", "h"))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["created", "updated", "deleted"]);
}

fn fire(g: &str, h: &str, task_id: &str, result: LastFireResult, error: &str) -> LastFire {
    LastFire {
        hook_group_id: g.into(),
        hook_id: h.into(),
        fired_by: FiredBy::Schedule,
        task_id: task_id.into(),
        task_create_time: Utc::now(),
        result,
        error: error.into(),
    }
}

#[tokio::test]
async fn a_retried_task_id_updates_its_last_fire_instead_of_failing() {
    let db = TestDb::new().await;
    let mut conn = db.pool.get().await.unwrap();
    create_hook(&mut conn, &common::keyring(), &common::definition("g", "h", json!({})), "c", Utc::now())
        .await
        .unwrap();
    assert_eq!(
        record_last_fire(&mut conn, &fire("g", "h", "t1", LastFireResult::Error, "503")).await.unwrap(),
        Recorded::Written
    );
    assert_eq!(
        record_last_fire(&mut conn, &fire("g", "h", "t1", LastFireResult::Success, "")).await.unwrap(),
        Recorded::Written
    );
    let fires = list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap();
    assert_eq!(fires.len(), 1);
    assert_eq!((fires[0].result.as_str(), fires[0].error.as_str()), ("success", ""));
}

#[tokio::test]
async fn last_fires_of_a_removed_hook_are_not_kept() {
    let db = TestDb::new().await;
    let mut conn = db.pool.get().await.unwrap();
    assert_eq!(
        record_last_fire(&mut conn, &fire("g", "gone", "t1", LastFireResult::Success, "")).await.unwrap(),
        Recorded::HookGone
    );
}

#[tokio::test]
async fn a_batch_of_last_fires_skips_removed_hooks_and_keeps_the_last_attempt_of_a_task_id() {
    let db = TestDb::new().await;
    let mut conn = db.pool.get().await.unwrap();
    create_hook(&mut conn, &common::keyring(), &common::definition("g", "h", json!({})), "c", Utc::now())
        .await
        .unwrap();
    let batch = [
        fire("g", "h", "t1", LastFireResult::Error, "503"),
        fire("g", "gone", "t2", LastFireResult::Success, ""),
        fire("g", "h", "t3", LastFireResult::Success, ""),
        // The same taskId twice in one batch (a statement may not update a row twice): the later one wins.
        fire("g", "h", "t1", LastFireResult::Success, ""),
    ];
    let recorded = record_last_fires_of_existing_hooks(&mut conn, &batch).await.unwrap();
    assert_eq!(recorded, [Recorded::Written, Recorded::HookGone, Recorded::Written, Recorded::Written]);
    let mut fires: Vec<(String, String)> = list_last_fires(&mut conn, &common::key("g", "h"), 10, None)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.task_id, f.result.to_string()))
        .collect();
    fires.sort();
    assert_eq!(fires, [("t1".to_owned(), "success".to_owned()), ("t3".to_owned(), "success".to_owned())]);
    assert!(list_last_fires(&mut conn, &common::key("g", "gone"), 10, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn hooks_found_together_answer_each_caller_including_a_repeated_or_missing_hook() {
    let db = TestDb::new().await;
    let keyring = std::sync::Arc::new(common::keyring());
    let mut conn = db.pool.get().await.unwrap();
    for (g, h) in [("g", "a"), ("g", "b"), ("other", "a")] {
        create_hook(&mut conn, &keyring, &common::definition(g, h, json!({})), "c", Utc::now()).await.unwrap();
    }
    let keys: Vec<HookKey> = [("g", "b"), ("g", "missing"), ("other", "a"), ("g", "b"), ("other", "b")]
        .iter()
        .map(|(g, h)| common::key(g, h))
        .collect();
    let found: Vec<Option<String>> = find_hook_rows(&mut conn, &keys)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.map(|r| format!("{}/{}", r.hook_group_id, r.hook_id)))
        .collect();
    let expected = [Some("g/b"), None, Some("other/a"), Some("g/b"), None];
    assert_eq!(found, expected.map(|e| e.map(str::to_owned)));

    // Through the batching finder, as the API reads them: each read sees what was committed before it.
    let finder = HookFinder::new(db.pool.clone(), keyring.clone());
    let (a, nope) = (common::key("g", "a"), common::key("g", "nope"));
    let (a, missing) = tokio::join!(finder.find(&a), finder.find(&nope));
    assert_eq!(a.unwrap().unwrap().definition.hook_id.as_str(), "a");
    assert!(missing.unwrap().is_none());
    assert!(delete_hook(&mut conn, &common::key("g", "a"), "c").await.unwrap());
    assert!(finder.find(&common::key("g", "a")).await.unwrap().is_none());
}

#[tokio::test]
async fn last_fires_list_newest_first() {
    let db = TestDb::new().await;
    let mut conn = db.pool.get().await.unwrap();
    create_hook(&mut conn, &common::keyring(), &common::definition("g", "h", json!({})), "c", Utc::now())
        .await
        .unwrap();
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        let mut f = fire("g", "h", id, LastFireResult::Success, "");
        f.task_create_time = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, i as u32).unwrap();
        record_last_fire(&mut conn, &f).await.unwrap();
    }
    let ids: Vec<String> = list_last_fires(&mut conn, &common::key("g", "h"), 2, None)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.task_id)
        .collect();
    assert_eq!(ids, ["c", "b"]);
}

#[tokio::test]
async fn embedded_tasks_are_idempotent_by_id_and_definition() {
    let db = TestDb::new().await;
    let mut conn = db.pool.get().await.unwrap();
    let task = json!({"a": 1});
    assert_eq!(insert_task(&mut conn, "t1", &common::key("g", "h"), &task).await.unwrap(), Inserted::Stored);
    assert_eq!(insert_task(&mut conn, "t1", &common::key("g", "h"), &task).await.unwrap(), Inserted::Stored);
    assert_eq!(
        insert_task(&mut conn, "t1", &common::key("g", "h"), &json!({"a": 2})).await.unwrap(),
        Inserted::Conflict
    );
    assert_eq!(tasks_of_hook(&mut conn, &common::key("g", "h")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_batch_of_embedded_tasks_answers_each_task_as_alone() {
    use hooks_core::storage::{NewTask, insert_tasks};
    let db = TestDb::new().await;
    let mut conn = db.pool.get().await.unwrap();
    let task = |id: &str, n: i32| NewTask {
        task_id: id.into(),
        hook_group_id: "g".into(),
        hook_id: "h".into(),
        definition: json!({"n": n}),
    };
    insert_task(&mut conn, "old", &common::key("g", "h"), &json!({"n": 0})).await.unwrap();
    let batch = [task("a", 1), task("old", 0), task("old", 9), task("b", 2), task("a", 1), task("b", 3)];
    let answers = insert_tasks(&mut conn, &batch).await.unwrap();
    use Inserted::{Conflict, Stored};
    assert_eq!(answers, [Stored, Stored, Conflict, Stored, Stored, Conflict]);
    assert_eq!(tasks_of_hook(&mut conn, &common::key("g", "h")).await.unwrap().len(), 3);
}

#[tokio::test]
async fn hook_changes_are_notified() {
    use futures::StreamExt as _;
    let db = TestDb::new().await;
    let mut listener = AsyncPgConnection::establish(&db.url).await.unwrap();
    diesel::sql_query("LISTEN hooks_changed").execute(&mut listener).await.unwrap();
    let mut notifications = Box::pin(listener.notifications_stream());
    let mut conn = db.pool.get().await.unwrap();
    create_hook(&mut conn, &common::keyring(), &common::definition("g", "h", json!({})), "c", Utc::now())
        .await
        .unwrap();
    delete_hook(&mut conn, &common::key("g", "h"), "c").await.unwrap();
    for op in ["INSERT", "DELETE"] {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), notifications.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let payload: serde_json::Value = serde_json::from_str(&n.payload).unwrap();
        assert_eq!(payload, json!({"op": op, "hookGroupId": "g", "hookId": "h"}));
    }
}

#[tokio::test]
async fn a_hook_claimed_by_the_scheduler_can_still_record_fires_from_elsewhere() {
    use hooks_core::storage::claim_due_hooks;
    let db = TestDb::new().await;
    let mut scheduler = AsyncPgConnection::establish(&db.url).await.unwrap();
    let def = common::definition("g", "h", json!({"schedule": ["0 * * * * *"]}));
    create_hook(&mut scheduler, &common::keyring(), &def, "c", Utc::now()).await.unwrap();
    diesel::sql_query("UPDATE hooks SET next_scheduled_date = now() - interval '1 minute'")
        .execute(&mut scheduler)
        .await
        .unwrap();
    diesel::sql_query("BEGIN").execute(&mut scheduler).await.unwrap();
    assert_eq!(claim_due_hooks(&mut scheduler, Utc::now(), 10).await.unwrap().len(), 1);

    // A trigger or Pulse message firing the same hook meanwhile: its last-fire row's foreign-key check must not
    // wait for the scheduler's batch (the claim locks no key).
    let mut other = AsyncPgConnection::establish(&db.url).await.unwrap();
    diesel::sql_query("SET statement_timeout = '2s'").execute(&mut other).await.unwrap();
    let recorded = record_last_fire(&mut other, &fire("g", "h", "t1", LastFireResult::Success, "")).await;
    assert_eq!(recorded.unwrap(), Recorded::Written);
    // Another replica's claim skips the locked row.
    assert!(claim_due_hooks(&mut other, Utc::now(), 10).await.unwrap().is_empty());
    diesel::sql_query("ROLLBACK").execute(&mut scheduler).await.unwrap();
}

fn record_through_batch<'c>(
    conn: &'c mut AsyncPgConnection,
    fires: &'c [LastFire],
) -> futures::future::BoxFuture<'c, Result<Vec<Recorded>, storage::StorageError>> {
    Box::pin(record_last_fires_of_existing_hooks(conn, fires))
}

#[tokio::test]
async fn one_unwritable_row_fails_only_its_own_caller_in_a_batch() {
    let db = TestDb::new().await;
    let mut conn = db.pool.get().await.unwrap();
    create_hook(&mut conn, &common::keyring(), &common::definition("g", "h", json!({})), "c", Utc::now())
        .await
        .unwrap();
    let batcher = storage::Batcher::spawn(db.pool.clone(), 64, record_through_batch);
    // U+0000 in a text column fails the whole statement in Postgres. On this single-threaded runtime every submit
    // is queued before the writer runs, so all six share one batch.
    let fires: Vec<LastFire> = (0..6)
        .map(|i| {
            let error = if i == 3 { "bad \u{0} row".to_owned() } else { String::new() };
            fire(
                "g",
                "h",
                &format!("t{i}"),
                if i == 3 { LastFireResult::Error } else { LastFireResult::Success },
                &error,
            )
        })
        .collect();
    let answers = futures::future::join_all(fires.into_iter().map(|f| batcher.submit(f))).await;

    for (i, answer) in answers.iter().enumerate() {
        match (i, answer) {
            (3, Err(e)) => assert!(e.to_string().contains("database query failed"), "{e}"),
            (3, Ok(r)) => panic!("the row with U+0000 was written: {r:?}"),
            (_, answer) => assert_eq!(answer.as_ref().unwrap(), &Recorded::Written, "row {i}"),
        }
    }
    let mut written: Vec<String> = list_last_fires(&mut conn, &common::key("g", "h"), 10, None)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.task_id)
        .collect();
    written.sort();
    assert_eq!(written, ["t0", "t1", "t2", "t4", "t5"]);
}
