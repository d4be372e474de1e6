//! The queue sink through HTTP against the local Taskcluster stand-in, which verifies every request's Hawk
//! signature and `authorizedScopes` as the real auth service does.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

use std::time::Duration;

use futures::StreamExt as _;
use hooks_core::sink::{CreateTaskError, QueueSink, TaskSink};
use hooks_core::{Deployment, HookGroupId, HookId, RetryPolicy, SecretString, TaskId};
use serde_json::{Map, Value, json};
use test_support::FakeTaskcluster;

fn task() -> Map<String, Value> {
    let now = chrono::Utc::now();
    let task = json!({
        "provisionerId": "p", "workerType": "w", "payload": {},
        "created": now.to_rfc3339(), "deadline": (now + chrono::Duration::hours(1)).to_rfc3339(),
    });
    task.as_object().unwrap().clone()
}

fn ids(group: &str, hook: &str) -> (HookGroupId, HookId) {
    (HookGroupId::parse(group).unwrap(), HookId::parse(hook).unwrap())
}

async fn create(sink: &QueueSink, group: &str, hook: &str) -> Result<TaskId, CreateTaskError> {
    let (g, h) = ids(group, hook);
    let task_id = TaskId::generate();
    sink.create_task(&g, &h, &task_id, &task()).await.map(|()| task_id)
}

#[tokio::test]
async fn each_hooks_task_carries_exactly_its_own_role() {
    let fake = FakeTaskcluster::start_default();
    let sink = fake.queue_sink(0);
    let hooks: Vec<String> = (0..50).map(|i| format!("h{i}")).collect();

    let created = futures::future::join_all(hooks.iter().map(|h| create(&sink, "g", h))).await;

    let created: Vec<TaskId> = created.into_iter().map(Result::unwrap).collect();
    let tasks = fake.created_tasks();
    assert_eq!(tasks.len(), hooks.len());
    for (hook, task_id) in hooks.iter().zip(&created) {
        let task = tasks.iter().find(|t| t.task_id == task_id.as_str()).unwrap();
        assert_eq!(task.client_id, fake.service_client().client_id);
        assert_eq!(task.authorized_scopes, Some(vec![format!("assume:hook-id:g/{hook}")]));
    }
}

#[tokio::test]
async fn a_task_gets_the_scopes_of_its_hooks_role_and_no_more() {
    let fake = FakeTaskcluster::start_default();
    fake.set_role("hook-id:g/allowed", vec!["queue:create-task:p/w".into()]);
    fake.set_role("hook-id:g/other", vec!["queue:create-task:elsewhere/w".into()]);
    let sink = fake.queue_sink(0);

    create(&sink, "g", "allowed").await.unwrap();
    let refused = create(&sink, "g", "other").await.unwrap_err();

    let CreateTaskError::Rejected { status: 403, code, message } = &refused else { panic!("{refused:?}") };
    assert_eq!(code, "InsufficientScopes");
    assert!(message.contains("queue:create-task:p/w"), "{message}");
    assert!(!message.contains("---"), "the code block is split off: {message}");
}

#[tokio::test]
async fn a_wrong_signature_is_refused_and_not_retried() {
    let fake = FakeTaskcluster::start_default();
    let service = fake.service_client();
    let wrong = Deployment::new(&fake.root_url(), &service.client_id, &SecretString::new("not-the-token"), 1).unwrap();
    let sink = QueueSink::new(wrong, RetryPolicy { retries: 3, ..RetryPolicy::default() });

    let refused = create(&sink, "g", "h").await.unwrap_err();

    let CreateTaskError::Rejected { status: 401, code, message } = &refused else { panic!("{refused:?}") };
    assert_eq!((code.as_str(), message.as_str()), ("AuthenticationFailed", "Unauthorized: Bad mac"));
    assert!(!refused.to_string().contains("not-the-token"));
    assert_eq!(fake.create_task_requests().len(), 1, "a 4xx is not retried");
    assert!(fake.created_tasks().is_empty());
}

#[tokio::test]
async fn server_errors_are_retried_with_a_fresh_signature_until_one_succeeds() {
    let fake = FakeTaskcluster::start_default();
    fake.fail_create_task(2, 503, "ServiceUnavailable");
    let sink = fake.queue_sink(2);

    create(&sink, "g", "h").await.unwrap();

    let requests = fake.create_task_requests();
    assert_eq!(requests.iter().map(|r| r.status).collect::<Vec<_>>(), [503, 503, 200]);
    assert_eq!(fake.created_tasks().len(), 1);
}

#[tokio::test]
async fn server_errors_after_the_retries_are_transient_and_say_what_answered() {
    let fake = FakeTaskcluster::start_default();
    fake.fail_create_task(3, 500, "InternalServerError");
    let sink = fake.queue_sink(2);

    let failed = create(&sink, "g", "h").await.unwrap_err();

    assert!(failed.is_transient());
    let CreateTaskError::Unavailable { status: Some(500), message } = &failed else { panic!("{failed:?}") };
    assert!(message.starts_with("HTTP status server error (500 Internal Server Error) for url (http://"), "{message}");
    assert_eq!(fake.create_task_requests().len(), 3);
}

#[tokio::test]
async fn rejections_keep_the_queues_code_and_message() {
    let fake = FakeTaskcluster::start_default();
    fake.fail_create_task(1, 409, "RequestConflict");
    let sink = fake.queue_sink(3);

    let refused = create(&sink, "g", "h").await.unwrap_err();

    assert_eq!(
        refused.to_string(),
        "queue createTask answered 409 RequestConflict: Injected RequestConflict failure from the fake Taskcluster queue"
    );
    assert!(!refused.is_transient());
}

#[tokio::test]
async fn an_unreachable_queue_is_retried_then_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let root_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let deployment = Deployment::new(&root_url, "c", &SecretString::new("t"), 1).unwrap();
    let retry = RetryPolicy { retries: 2, base_delay: Duration::from_millis(1), max_delay: Duration::from_millis(5) };
    let sink = QueueSink::new(deployment, retry);

    let failed = create(&sink, "g", "h").await.unwrap_err();

    let CreateTaskError::Unavailable { status: None, message } = &failed else { panic!("{failed:?}") };
    assert!(message.starts_with(&format!("error sending request for url ({root_url}/api/queue/v1/task/")), "{message}");
}

#[tokio::test]
async fn connections_are_reused_across_hooks_and_seconds() {
    const CONCURRENCY: usize = 8;
    let fake = FakeTaskcluster::start_default();
    let service = fake.service_client();
    let token = SecretString::new(service.access_token.clone());
    let deployment = Deployment::new(&fake.root_url(), &service.client_id, &token, CONCURRENCY).unwrap();
    let sink = QueueSink::new(deployment, RetryPolicy { retries: 0, ..RetryPolicy::default() });

    // Four seconds' slots, 50 hooks (50 roles) each, at most CONCURRENCY tasks in flight, a pause between.
    for second in 0..4 {
        let created: Vec<_> = futures::stream::iter(0..50)
            .map(|i| {
                let sink = &sink;
                async move { create(sink, "g", &format!("s{second}-h{i}")).await }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        assert!(created.iter().all(Result::is_ok), "{created:?}");
        tokio::time::sleep(Duration::from_millis(700)).await;
    }

    assert_eq!(fake.created_count(), 200);
    let reused = fake.connections_accepted();
    assert!(reused <= CONCURRENCY, "{reused} connections for 200 tasks of 200 hooks: at most {CONCURRENCY} expected");

    // The counter does see clients that don't share: a client per hook opens a connection per hook.
    for i in 0..5 {
        create(&fake.queue_sink(0), "g", &format!("own-client-{i}")).await.unwrap();
    }
    assert_eq!(fake.connections_accepted(), reused + 5);
}
