//! createTask and task status.

use super::*;
use chrono::DateTime;

use crate::fake_taskcluster::TaskState;

#[tokio::test]
async fn create_task_is_recorded_with_authorized_scopes() {
    let fake = FakeTaskcluster::start_default();
    let q = queue(&fake, creds(fake.service_client()), Some(&["assume:hook-id:g/h", "queue:create-task:*"]));
    let id = slug();
    let resp = q.createTask(&id, &task("one")).await.unwrap();
    assert_eq!(resp["status"]["taskId"], json!(id));
    assert_eq!(resp["status"]["state"], json!("pending"));
    assert_eq!(resp["status"]["taskQueueId"], json!("proj-test/linux"));
    assert_eq!(resp["status"]["runs"][0]["state"], json!("pending"));

    let created = fake.created_tasks();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].task_id, id);
    assert_eq!(created[0].task, task("one").with_times_of(&created[0].task));
    assert_eq!(created[0].client_id, "static/hooks");
    assert_eq!(
        created[0].authorized_scopes,
        Some(vec!["assume:hook-id:g/h".to_string(), "queue:create-task:*".to_string()])
    );
    let reqs = fake.create_task_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].status, 200);
    assert_eq!(reqs[0].client_id, "static/hooks");
}

#[tokio::test]
async fn roles_drive_the_create_task_scope_check() {
    let fake = FakeTaskcluster::start_default();
    fake.set_role(
        "hook-id:g/h",
        vec!["queue:create-task:highest:proj-test/linux".into(), "queue:route:index.g.*".into()],
    );
    let svc = creds(fake.service_client());

    // role grants what the task needs
    let q = queue(&fake, svc.clone(), Some(&["assume:hook-id:g/h"]));
    let mut t = task("ok");
    t["routes"] = json!(["index.g.latest"]);
    q.createTask(&slug(), &t).await.unwrap();

    // task scopes the role lacks -> 403 InsufficientScopes
    let mut t = task("needs-secret");
    t["scopes"] = json!(["secrets:get:foo"]);
    let err = q.createTask(&slug(), &t).await.unwrap_err();
    assert_eq!(status_of(&err), Some(403));
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "Client ID static/hooks does not have sufficient scopes and is missing the following scopes:\n\n```\nsecrets:get:foo\n```"
        ),
        "{msg}"
    );
    assert!(msg.contains("* errorCode:  InsufficientScopes"));

    // a hook without a role gets nothing
    let q = queue(&fake, svc.clone(), Some(&["assume:hook-id:g/other"]));
    let err = q.createTask(&slug(), &task("no-role")).await.unwrap_err();
    assert_eq!(status_of(&err), Some(403));
    assert!(err.to_string().contains("queue:create-task:proj-test/linux"));

    // a wildcard role id is granted to matching assume: scopes
    fake.set_role("hook-id:w/*", vec!["queue:create-task:proj-test/*".into()]);
    let q = queue(&fake, svc, Some(&["assume:hook-id:w/any"]));
    q.createTask(&slug(), &task("wild")).await.unwrap();

    assert_eq!(fake.created_tasks().len(), 2);
    assert_eq!(fake.create_task_requests().iter().map(|r| r.status).collect::<Vec<_>>(), vec![200, 403, 403, 200]);
}

#[tokio::test]
async fn injected_500_then_success_with_one_retry() {
    let fake = FakeTaskcluster::start_default();
    fake.fail_create_task(1, 500, "InternalServerError");
    let q = Queue::new(ClientBuilder::new(fake.root_url()).credentials(creds(fake.service_client())).retry(retry(1)))
        .unwrap();
    let id = slug();
    q.createTask(&id, &task("retried")).await.unwrap();
    let reqs = fake.create_task_requests();
    assert_eq!(reqs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![500, 200]);
    assert!(reqs.iter().all(|r| r.task_id == id));
    assert_eq!(fake.created_tasks().len(), 1);

    // without retries the injected error surfaces, with the right status
    fake.fail_create_task(1, 400, "InputError");
    let err = queue(&fake, creds(fake.service_client()), None).createTask(&slug(), &task("x")).await.unwrap_err();
    assert_eq!(status_of(&err), Some(400));
    assert!(err.to_string().contains("* errorCode:  InputError"), "{err}");
}

#[tokio::test]
async fn create_task_is_idempotent_and_conflicts_on_a_different_definition() {
    let fake = FakeTaskcluster::start_default();
    let q = queue(&fake, creds(fake.service_client()), None);
    let id = slug();
    let t = task("same");
    let first = q.createTask(&id, &t).await.unwrap();
    let second = q.createTask(&id, &t).await.unwrap();
    assert_eq!(first, second);

    let mut different = t.clone();
    different["metadata"]["name"] = json!("different");
    let err = q.createTask(&id, &different).await.unwrap_err();
    assert_eq!(status_of(&err), Some(409));
    assert!(err.to_string().contains(&format!("taskId `{id}` already used by another task.")), "{err}");
    assert!(err.to_string().contains("* errorCode:  RequestConflict"));

    assert_eq!(fake.created_tasks().len(), 1);
    assert_eq!(fake.create_task_requests().iter().map(|r| r.status).collect::<Vec<_>>(), vec![200, 200, 409]);
}

#[tokio::test]
async fn error_bodies_have_the_taskcluster_format() {
    let fake = FakeTaskcluster::start_default();
    let root = fake.root_url();
    let id = slug();
    let ct = [("Content-Type", "application/json".to_string())];
    let path = format!("/api/queue/v1/task/{id}");

    // no credentials
    let body = task("anon").to_string();
    let (status, _, err) = raw(&root, "PUT", &path, &ct, body.as_bytes());
    assert_eq!(status, 403);
    assert_eq!(err["code"], json!("InsufficientScopes"));
    let msg = err["message"].as_str().unwrap();
    assert!(
        msg.starts_with("This request requires Taskcluster credentials that satisfy the following scope expression:")
    );
    assert!(msg.contains(
        "\n\n---\n\n* method:     createTask\n* errorCode:  InsufficientScopes\n* statusCode: 403\n* time:       "
    ));
    assert_eq!(err["requestInfo"]["method"], json!("createTask"));
    assert_eq!(err["requestInfo"]["params"], json!({"taskId": id}));
    assert_eq!(err["requestInfo"]["payload"], task("anon").with_times_of(&err["requestInfo"]["payload"]));
    assert!(DateTime::parse_from_rfc3339(err["requestInfo"]["time"].as_str().unwrap()).is_ok());

    // malformed JSON
    let (status, _, err) = raw(&root, "PUT", &path, &ct, b"{not json");
    assert_eq!(status, 400);
    assert_eq!(err["code"], json!("MalformedPayload"));
    assert!(err["message"].as_str().unwrap().starts_with("Failed to parse JSON: "));

    // invalid taskId
    let (status, _, err) = raw(&root, "PUT", "/api/queue/v1/task/not-a-slug", &ct, b"{}");
    assert_eq!(status, 400);
    assert_eq!(err["code"], json!("InvalidRequestArguments"));

    // neither provisionerId/workerType nor taskQueueId
    let q = queue(&fake, creds(fake.service_client()), None);
    let err = q.createTask(&slug(), &json!({"payload": {}})).await.unwrap_err();
    assert_eq!(status_of(&err), Some(400));
    assert!(err.to_string().contains("* errorCode:  InputError"), "{err}");

    // bad credentials carry www-authenticate
    let header = hawk::RequestBuilder::new("PUT", "127.0.0.1", fake.addr.port(), &path)
        .request()
        .make_header(&hawk_creds(&ClientSpec {
            client_id: "static/hooks".into(),
            access_token: "wrong".into(),
            scopes: vec![],
        }))
        .unwrap();
    let mut headers = ct.to_vec();
    headers.push(("Authorization", format!("Hawk {header}")));
    let (status, h, err) = raw(&root, "PUT", &path, &headers, body.as_bytes());
    assert_eq!(status, 401);
    assert_eq!(h.get("www-authenticate").map(String::as_str), Some("hawk"));
    assert_eq!(err["code"], json!("AuthenticationFailed"));
    assert_eq!(fake.create_task_requests().len(), 5);
}

#[tokio::test]
async fn payload_hash_must_match_the_body() {
    let fake = FakeTaskcluster::start_default();
    let svc = fake.service_client().clone();
    let root = fake.root_url();
    let port = fake.addr.port();
    let path = format!("/api/queue/v1/task/{}", slug());
    let body = task("hashed").to_string();
    let send = |signed_body: &[u8]| {
        let hash = hawk::PayloadHasher::hash("application/json", hawk::SHA256, signed_body).unwrap();
        let header = hawk::RequestBuilder::new("PUT", "127.0.0.1", port, &path)
            .hash(&hash[..])
            .request()
            .make_header(&hawk_creds(&svc))
            .unwrap();
        let headers = [("Content-Type", "application/json".to_string()), ("Authorization", format!("Hawk {header}"))];
        raw(&root, "PUT", &path, &headers, body.as_bytes())
    };
    let (status, _, err) = send(b"{}");
    assert_eq!(status, 401);
    assert!(err["message"].as_str().unwrap().starts_with("Invalid payload hash: "), "{err}");
    let (status, _, reply) = send(body.as_bytes());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(fake.created_tasks().len(), 1);
}

#[tokio::test]
async fn wait_for_tasks_waits_for_late_tasks() {
    let fake = FakeTaskcluster::start_default();
    let q = queue(&fake, creds(fake.service_client()), None);
    assert!(fake.wait_for_tasks(1, Duration::from_millis(50)).await.is_empty());
    let id = slug();
    let id2 = id.clone();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        q.createTask(&id2, &task("late")).await.unwrap();
    });
    let tasks = fake.wait_for_tasks(1, Duration::from_secs(10)).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].task_id, id);
    late.await.unwrap();
}

#[tokio::test]
async fn task_status_reports_the_state_a_test_set() {
    let fake = FakeTaskcluster::start_default();
    let q = queue(&fake, creds(fake.service_client()), None);
    let id = slug();
    q.createTask(&id, &task("stateful")).await.unwrap();
    let status = q.status(&id).await.unwrap();
    assert_eq!(status["status"]["state"], json!("pending"));
    assert_eq!(status["status"]["taskQueueId"], json!("proj-test/linux"));

    for (state, runs) in [
        (TaskState::Unscheduled, 0),
        (TaskState::Pending, 1),
        (TaskState::Running, 1),
        (TaskState::Completed, 1),
        (TaskState::Failed, 1),
        (TaskState::Exception, 1),
    ] {
        fake.set_task_state(&id, state);
        let status = q.status(&id).await.unwrap()["status"].clone();
        assert_eq!(status["state"], json!(state.as_str()));
        assert_eq!(status["taskQueueId"], json!("proj-test/linux"), "the rest of the status stays");
        let got = status["runs"].as_array().unwrap();
        assert_eq!(got.len(), runs, "{state:?}: {status}");
        if let Some(last) = got.last() {
            assert_eq!(last["state"], json!(state.as_str()));
        }
    }

    // a task the queue never created has a status once a test sets its state, and not before
    let never = slug();
    let err = q.status(&never).await.unwrap_err();
    assert_eq!(status_of(&err), Some(404));
    fake.set_task_state(&never, TaskState::Completed);
    let status = q.status(&never).await.unwrap()["status"].clone();
    assert_eq!((status["taskId"].clone(), status["state"].clone()), (json!(never), json!("completed")));
}

#[tokio::test]
async fn task_status_can_be_slowed_down_and_failed() {
    let fake = FakeTaskcluster::start_default();
    let q = queue(&fake, creds(fake.service_client()), None);
    let id = slug();
    q.createTask(&id, &task("slow")).await.unwrap();

    fake.fail_task_status(2, 503, "ServiceUnavailable");
    for _ in 0..2 {
        let err = q.status(&id).await.unwrap_err();
        assert_eq!(status_of(&err), Some(503));
    }
    assert_eq!(q.status(&id).await.unwrap()["status"]["state"], json!("pending"));

    fake.delay_task_status(Duration::from_millis(300));
    let started = std::time::Instant::now();
    q.status(&id).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
}
