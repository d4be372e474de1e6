//! The firing pipeline end to end: render, sink (the embedded one, and a local server playing the queue), last fire.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use hooks_core::sink::{CreateTaskError, EmbeddedSink, QueueSink, TaskSink};
use hooks_core::storage::{Pool, create_hook, list_last_fires, tasks_of_hook};
use hooks_core::{
    CallFires, FireContext, FireError, FireOptions, FireOutcome, Firer, HookDefinition, SecretString, TaskId,
};
use hooks_core::{Deployment, RetryPolicy};
use serde_json::json;
use test_support::{FakeTaskcluster, TestDb};

async fn stored(db: &TestDb, def: &HookDefinition) {
    let mut conn = db.pool.get().await.unwrap();
    create_hook(&mut conn, &common::keyring(), def, "test", Utc::now()).await.unwrap();
}

/// Fires as the api-server does: the firer, and the recorder of API calls' fires.
struct CallFirer {
    firer: Firer,
    calls: CallFires,
}

impl CallFirer {
    fn new(renderer: hooks_core::render::Renderer, sink: Arc<dyn TaskSink>, pool: &Pool) -> Self {
        Self { firer: Firer::new(renderer, sink), calls: CallFires::start(pool.clone()) }
    }

    async fn fire(&self, def: &HookDefinition, ctx: FireContext, opts: FireOptions) -> Result<FireOutcome, FireError> {
        self.calls.fire(&self.firer, def, ctx, opts).await
    }
}

fn queue_sink(fake: &FakeTaskcluster, retries: usize) -> Arc<dyn TaskSink> {
    Arc::new(fake.queue_sink(retries))
}

#[tokio::test]
async fn trigger_fire_creates_the_task_in_the_queue_with_the_hook_role() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let def = common::definition("g", "h/1", json!({}));
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), queue_sink(&fake, 0), &db.pool);

    let outcome =
        firer.fire(&def, FireContext::trigger_hook(json!({"x": 1}), "someone"), FireOptions::default()).await.unwrap();
    let FireOutcome::Created { task_id } = outcome else { panic!("declined") };

    let tasks = fake.created_tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].task_id, task_id.as_str());
    assert_eq!(tasks[0].client_id, fake.service_client().client_id);
    assert_eq!(tasks[0].authorized_scopes.as_deref(), Some(&["assume:hook-id:g/h/1".to_owned()][..]));
    assert_eq!(tasks[0].task["taskGroupId"], task_id.as_str());
    assert_eq!(tasks[0].task["workerType"], "test-worker");

    let mut conn = db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("g", "h/1"), 10, None).await.unwrap();
    assert_eq!(fires.len(), 1);
    assert_eq!((fires[0].fired_by.as_str(), fires[0].result.as_str()), ("triggerHook", "success"));
    assert_eq!(fires[0].task_id, task_id.as_str());
}

/// A queue that takes the database down for a second just after it creates a task.
struct CutsTheDatabase {
    inner: Arc<dyn TaskSink>,
    db: Arc<TestDb>,
}

#[async_trait::async_trait]
impl TaskSink for CutsTheDatabase {
    async fn create_task(
        &self,
        g: &hooks_core::HookGroupId,
        h: &hooks_core::HookId,
        task_id: &TaskId,
        task: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), CreateTaskError> {
        self.inner.create_task(g, h, task_id, task).await?;
        self.db.refuse_connections(true).await;
        self.db.terminate_backends().await;
        let db = self.db.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            db.refuse_connections(false).await;
        });
        Ok(())
    }

    async fn task_state(
        &self,
        task_id: &TaskId,
    ) -> Result<Option<hooks_core::sink::TaskState>, hooks_core::sink::TaskLookupError> {
        self.inner.task_state(task_id).await
    }

    fn name(&self) -> &'static str {
        "cuts-the-database"
    }
}

#[tokio::test]
async fn a_created_task_is_answered_as_created_when_recording_fails_and_is_recorded_later() {
    let db = Arc::new(TestDb::new().await);
    let fake = FakeTaskcluster::start_default();
    let def = common::definition("g", "h", json!({}));
    stored(&db, &def).await;
    let sink = Arc::new(CutsTheDatabase { inner: queue_sink(&fake, 0), db: db.clone() });
    let firer = CallFirer::new(test_support::renderer(), sink, &db.pool);

    let outcome = firer.fire(&def, FireContext::trigger_hook(json!({}), "me"), FireOptions::default()).await;
    let Ok(FireOutcome::Created { task_id }) = outcome else { panic!("a created task was answered {outcome:?}") };
    assert_eq!(fake.created_tasks().len(), 1);
    let recorded = test_support::broker::eventually(Duration::from_secs(10), || async {
        let Ok(mut conn) = db.pool.get().await else { return false };
        list_last_fires(&mut conn, &common::key("g", "h"), 10, None)
            .await
            .is_ok_and(|f| f.len() == 1 && f[0].task_id == task_id.as_str())
    });
    assert!(recorded.await, "the last fire was never recorded");
}

#[tokio::test]
async fn a_call_whose_fire_cannot_be_written_down_first_creates_no_task() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let def = common::definition("g", "h", json!({}));
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), queue_sink(&fake, 0), &db.pool);
    db.refuse_connections(true).await;
    db.terminate_backends().await;

    let outcome = firer.fire(&def, FireContext::trigger_hook(json!({}), "me"), FireOptions::default()).await;
    match &outcome {
        Err(e @ FireError::Unrecorded { .. }) => assert!(e.is_transient()),
        other => panic!("expected an unrecorded fire, got {other:?}"),
    }
    assert_eq!(fake.created_count(), 0, "a task was created although its fire could not be recorded");

    db.refuse_connections(false).await;
    let outcome = firer.fire(&def, FireContext::trigger_hook(json!({}), "me"), FireOptions::default()).await;
    assert!(matches!(outcome, Ok(FireOutcome::Created { .. })), "{outcome:?}");
    assert_eq!(fake.created_count(), 1);
}

#[tokio::test]
async fn fires_left_pending_are_hidden_then_settled_from_what_the_queue_holds() {
    use hooks_core::FiredBy;
    use hooks_core::storage::{LastFire, LastFireResult, record_last_fire};
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let def = common::definition("g", "h", json!({}));
    stored(&db, &def).await;
    let sink = queue_sink(&fake, 0);
    let (created, never) = (TaskId::generate(), TaskId::generate());
    // The task is created, and the daemon stops before recording anything.
    let opts = FireOptions { task_id: Some(created.clone()), now: None };
    let attempt = Firer::new(test_support::renderer(), sink.clone()).attempt(&def, FireContext::schedule(), opts).await;
    attempt.into_parts().0.unwrap();
    let mut conn = db.pool.get().await.unwrap();
    let started = Utc::now() - chrono::TimeDelta::minutes(20);
    for task_id in [&created, &never] {
        let pending = LastFire {
            hook_group_id: "g".into(),
            hook_id: "h".into(),
            fired_by: FiredBy::TriggerHook,
            task_id: task_id.to_string(),
            task_create_time: started,
            result: LastFireResult::Pending,
            error: String::new(),
        };
        record_last_fire(&mut conn, &pending).await.unwrap();
    }
    assert!(
        list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap().is_empty(),
        "pending fires are listed"
    );

    let recent = CallFires::settle_left_behind(&db.pool, sink.as_ref(), started).await.unwrap();
    assert_eq!(recent, 0, "fires pending for less than the settling age are left alone");
    let settled = CallFires::settle_left_behind(&db.pool, sink.as_ref(), Utc::now()).await.unwrap();
    assert_eq!(settled, 2);

    let fires = list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap();
    let result_of = |id: &TaskId| {
        let f = fires.iter().find(|f| f.task_id == id.as_str()).unwrap();
        (f.result.to_string(), f.error.clone())
    };
    assert_eq!(result_of(&created), ("success".to_owned(), String::new()));
    let (result, error) = result_of(&never);
    assert_eq!(result, "error");
    assert!(error.contains(&format!("no task {never} exists")), "{error}");
    assert_eq!(CallFires::settle_left_behind(&db.pool, sink.as_ref(), Utc::now()).await.unwrap(), 0);
}

#[tokio::test]
async fn a_call_repeating_a_task_id_that_fired_keeps_its_outcome() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let def = common::definition("g", "h", json!({}));
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), queue_sink(&fake, 0), &db.pool);
    // The same taskId and time: the same task, which the queue takes again.
    let opts = FireOptions { task_id: Some(TaskId::generate()), now: Some(Utc::now()) };
    let fire = || firer.fire(&def, FireContext::trigger_hook(json!({}), "me"), opts.clone());
    fire().await.unwrap();
    fake.delay_create_task(Duration::from_millis(500));
    let second = tokio::spawn({
        let pool = db.pool.clone();
        async move {
            // While the repeat's task is being created, its fire is still listed with the first one's outcome.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut conn = pool.get().await.unwrap();
            list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap()
        }
    });
    fire().await.unwrap();
    let during = second.await.unwrap();
    assert_eq!(during.len(), 1);
    assert_eq!(during[0].result.as_str(), "success");
    assert_eq!(fake.created_count(), 1, "the queue keeps one task per taskId");
}

#[tokio::test]
async fn context_carries_fired_by_payload_client_id_task_id_and_now() {
    let db = TestDb::new().await;
    let def = common::definition(
        "g",
        "h",
        json!({"task": {"ctx": {"firedBy": "${firedBy}", "p": {"$eval": "payload.n + 13"}, "c": "${clientId}", "t": "${taskId}", "now": "${now}"}}}),
    );
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), Arc::new(EmbeddedSink::new(db.pool.clone())), &db.pool);
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 17, 3).unwrap();
    let task_id = TaskId::generate();
    let opts = FireOptions { task_id: Some(task_id.clone()), now: Some(now) };
    firer.fire(&def, FireContext::trigger_hook(json!({"n": 42}), "me"), opts).await.unwrap();

    let mut conn = db.pool.get().await.unwrap();
    let tasks = tasks_of_hook(&mut conn, &common::key("g", "h")).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].definition["ctx"],
        json!({"firedBy": "triggerHook", "p": 55, "c": "me", "t": task_id.as_str(), "now": "2026-11-24T10:17:03.000Z"})
    );
    assert_eq!(tasks[0].definition["created"], "2026-11-24T10:17:03.000Z");
    assert_eq!(tasks[0].definition["deadline"], "2026-11-25T10:17:03.000Z");
    assert_eq!(tasks[0].definition["expires"], "2026-12-24T10:17:03.000Z");
}

#[tokio::test]
async fn a_webhook_context_has_no_client_id() {
    let db = TestDb::new().await;
    let def = common::definition("g", "h", json!({"task": {"has": {"$eval": "defined('clientId')"}}}));
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), Arc::new(EmbeddedSink::new(db.pool.clone())), &db.pool);
    firer.fire(&def, FireContext::trigger_hook_with_token(json!({})), FireOptions::default()).await.unwrap();
    let mut conn = db.pool.get().await.unwrap();
    assert_eq!(tasks_of_hook(&mut conn, &common::key("g", "h")).await.unwrap()[0].definition["has"], false);
}

#[tokio::test]
async fn a_declining_template_creates_nothing_and_records_nothing() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let def = common::definition("g", "h", json!({"task": {"$if": "false", "then": {"a": 1}}}));
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), queue_sink(&fake, 0), &db.pool);
    let outcome = firer.fire(&def, FireContext::schedule(), FireOptions::default()).await.unwrap();
    assert_eq!(outcome, FireOutcome::Declined);
    assert!(fake.create_task_requests().is_empty());
    let mut conn = db.pool.get().await.unwrap();
    assert!(list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_render_error_is_recorded_with_its_location_as_upstream_words_it() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let def = common::definition("g", "h", json!({"task": {"payload": {"env": {"X": {"$eval": "foo"}}}}}));
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), queue_sink(&fake, 0), &db.pool);
    let err = firer.fire(&def, FireContext::schedule(), FireOptions::default()).await.unwrap_err();
    assert!(matches!(err, FireError::Render { .. }), "{err}");
    assert!(fake.create_task_requests().is_empty());
    let mut conn = db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap();
    assert_eq!(fires[0].result.as_str(), "error");
    assert_eq!(fires[0].error, "InterpreterError at template.payload.env.X: unknown context value foo");
}

#[tokio::test]
async fn queue_4xx_is_recorded_with_status_code_and_message() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    fake.fail_create_task(1, 403, "InsufficientScopes");
    let def = common::definition("g", "h", json!({}));
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), queue_sink(&fake, 3), &db.pool);
    let err = firer.fire(&def, FireContext::schedule(), FireOptions::default()).await.unwrap_err();
    let FireError::CreateTask { source: CreateTaskError::Rejected { status, code, .. }, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*status, code.as_str()), (403, "InsufficientScopes"));
    assert_eq!(fake.create_task_requests().len(), 1, "4xx is not retried");
    let mut conn = db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap();
    assert_eq!(fires[0].result.as_str(), "error");
    assert!(fires[0].error.contains("403 InsufficientScopes"), "{}", fires[0].error);
}

#[tokio::test]
async fn queue_5xx_is_retried_with_the_same_task_id_until_it_succeeds() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    fake.fail_create_task(2, 500, "InternalServerError");
    let def = common::definition("g", "h", json!({}));
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), queue_sink(&fake, 3), &db.pool);
    let FireOutcome::Created { task_id } =
        firer.fire(&def, FireContext::schedule(), FireOptions::default()).await.unwrap()
    else {
        panic!("declined")
    };
    let requests = fake.create_task_requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.task_id == task_id.as_str()));
    assert_eq!(requests.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 500, 200]);
}

#[tokio::test]
async fn queue_5xx_beyond_the_retries_is_a_transient_error() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    fake.fail_create_task(5, 503, "ServiceUnavailable");
    let def = common::definition("g", "h", json!({}));
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), queue_sink(&fake, 1), &db.pool);
    let err = firer.fire(&def, FireContext::schedule(), FireOptions::default()).await.unwrap_err();
    let FireError::CreateTask { source, .. } = &err else { panic!("{err:?}") };
    assert!(source.is_transient(), "{source}");
    assert_eq!(fake.create_task_requests().len(), 2);
}

#[tokio::test]
async fn an_unreachable_queue_is_a_transient_error_recorded_as_such() {
    let db = TestDb::new().await;
    let def = common::definition("g", "h", json!({}));
    stored(&db, &def).await;
    // Nothing listens on port 9 of loopback.
    let deployment = Deployment::new("http://127.0.0.1:9", "c", &SecretString::new("t"), 1).unwrap();
    let sink = Arc::new(QueueSink::new(deployment, RetryPolicy { retries: 0, ..RetryPolicy::default() }));
    let firer = CallFirer::new(test_support::renderer(), sink, &db.pool);
    let err = firer.fire(&def, FireContext::schedule(), FireOptions::default()).await.unwrap_err();
    let FireError::CreateTask { source, .. } = &err else { panic!("{err:?}") };
    assert!(source.is_transient());
    let mut conn = db.pool.get().await.unwrap();
    assert_eq!(list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap()[0].result.as_str(), "error");
}

#[tokio::test]
async fn refiring_a_slot_renders_the_identical_task_and_keeps_one_last_fire() {
    let db = TestDb::new().await;
    let fake = FakeTaskcluster::start_default();
    let def = common::definition(
        "g",
        "h",
        json!({"task": {"provisionerId": "p", "workerType": "w", "at": {"$fromNow": "1 hour"}, "n": "${now}"}}),
    );
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), queue_sink(&fake, 0), &db.pool);
    let slot = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let opts = FireOptions { task_id: Some(TaskId::generate()), now: Some(slot) };
    for _ in 0..2 {
        firer.fire(&def, FireContext::schedule(), opts.clone()).await.unwrap();
    }
    let requests = fake.create_task_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].task, requests[1].task, "the same slot renders the same task");
    assert_eq!(requests[1].status, 200, "the queue accepts an identical re-create");
    assert_eq!(fake.created_tasks().len(), 1, "one task");
    let mut conn = db.pool.get().await.unwrap();
    assert_eq!(list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn errors_are_capped_at_128_kib() {
    let db = TestDb::new().await;
    // JSON-e names an unknown context value in its error, so a huge name makes a huge error.
    let huge = "a".repeat(200 * 1024);
    let def = common::definition("g", "h", json!({"task": {"x": {"$eval": huge}}}));
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), Arc::new(EmbeddedSink::new(db.pool.clone())), &db.pool);
    let err = firer.fire(&def, FireContext::schedule(), FireOptions::default()).await.unwrap_err();
    assert!(err.to_string().len() > 128 * 1024, "the error must be long for this test to mean anything");
    let mut conn = db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap();
    assert_eq!(fires[0].result.as_str(), "error");
    assert_eq!(fires[0].error.len(), 128 * 1024);
}

#[tokio::test]
async fn a_task_with_nul_from_the_payload_is_a_clean_create_error_and_other_fires_succeed() {
    let db = TestDb::new().await;
    let def = common::definition(
        "g",
        "h",
        json!({"task": {"payload": {"env": {"X": {"$eval": "payload.x"}}}}, "triggerSchema": {"type": "object"}}),
    );
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), Arc::new(EmbeddedSink::new(db.pool.clone())), &db.pool);

    let fire = |x: &str| firer.fire(&def, FireContext::trigger_hook(json!({"x": x}), "me"), FireOptions::default());
    let (bad, good) =
        futures::future::join(fire("a\u{0}b"), futures::future::join_all((0..4).map(|_| fire("ok")))).await;

    match bad {
        Err(FireError::CreateTask { source: CreateTaskError::Rejected { status: 400, message, .. }, .. }) => {
            assert_eq!(message, "the task contains U+0000 at payload.env.X, which cannot be stored");
        }
        other => panic!("expected a clean create error, got {other:?}"),
    }
    assert!(good.iter().all(Result::is_ok), "{good:?}");
    let mut conn = db.pool.get().await.unwrap();
    assert_eq!(tasks_of_hook(&mut conn, &common::key("g", "h")).await.unwrap().len(), 4);
    let fires = list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap();
    assert_eq!(fires.iter().filter(|f| f.result.as_str() == "error").count(), 1);
}

#[tokio::test]
async fn a_render_error_quoting_nul_from_the_payload_is_recorded_escaped() {
    let db = TestDb::new().await;
    let def = common::definition(
        "g",
        "h",
        json!({"task": {"deadline": {"$fromNow": "${payload.x}"}}, "triggerSchema": {"type": "object"}}),
    );
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), Arc::new(EmbeddedSink::new(db.pool.clone())), &db.pool);
    let err = firer
        .fire(&def, FireContext::trigger_hook(json!({"x": "1 \u{0} day"}), "me"), FireOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, FireError::Render { .. }), "{err:?}");
    let mut conn = db.pool.get().await.unwrap();
    let fires = list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap();
    assert_eq!(fires.len(), 1);
    assert!(fires[0].error.contains("1 \\u0000 day"), "{:?}", fires[0].error);
}

#[tokio::test]
async fn embedded_task_states_are_looked_up_together_and_missing_ones_are_unknown() {
    let db = TestDb::new().await;
    let sink: Arc<dyn TaskSink> = Arc::new(EmbeddedSink::new(db.pool.clone()));
    let key = hooks_core::HookKey::parse("g", "h").unwrap();
    let stored = [TaskId::generate(), TaskId::generate()];
    for id in &stored {
        let mut conn = db.pool.get().await.unwrap();
        hooks_core::storage::insert_task(&mut conn, id.as_str(), &key, &json!({"x": 1})).await.unwrap();
    }
    let asked = [stored[0].clone(), TaskId::generate(), stored[1].clone()];
    let pending = Some(hooks_core::sink::TaskState::Pending);
    let batched = sink.task_states(&asked).await.unwrap().unwrap();
    assert_eq!(batched, [pending, None, pending]);
    let states = hooks_core::sink::TaskStates::new(sink).states(&asked, Duration::from_secs(5)).await;
    assert_eq!(states, [pending, None, pending]);
}

#[tokio::test]
async fn a_preview_is_the_task_the_fire_would_create_and_creates_and_records_nothing() {
    let db = TestDb::new().await;
    let def = common::definition(
        "g",
        "h",
        json!({"task": {"ctx": {"by": "${firedBy}", "t": "${taskId}", "p": {"$eval": "payload"}}}}),
    );
    stored(&db, &def).await;
    let firer = CallFirer::new(test_support::renderer(), Arc::new(EmbeddedSink::new(db.pool.clone())), &db.pool);
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 17, 3).unwrap();
    let opts = FireOptions { task_id: Some(TaskId::generate()), now: Some(now) };
    let ctx = || FireContext::trigger_hook(json!({"n": 1}), "me");

    let previewed = firer.firer.preview(&def, ctx(), opts.clone()).await.unwrap().expect("a task");
    let mut conn = db.pool.get().await.unwrap();
    assert!(tasks_of_hook(&mut conn, &common::key("g", "h")).await.unwrap().is_empty(), "no task was created");
    assert!(list_last_fires(&mut conn, &common::key("g", "h"), 10, None).await.unwrap().is_empty(), "nor recorded");

    firer.fire(&def, ctx(), opts).await.unwrap();
    let created = tasks_of_hook(&mut conn, &common::key("g", "h")).await.unwrap();
    assert_eq!(serde_json::Value::Object(previewed), created[0].definition, "the fire creates what was previewed");
}
