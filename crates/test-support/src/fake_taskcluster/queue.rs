//! The queue: `createTask` (idempotent: the same definition again is 200, another one 409) and a task's
//! `status`, whose state tests may set, slow down or make fail.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use hooks_core::is_truthy;
use serde_json::{Map, Value, json};

use super::framework::{ApiError, error_response, iso, now_iso, parse_body, require_json_content_type};
use super::request::{Caller, authenticate_request, peek_identity};
use super::scopes::authorize;
use super::{Directory, FakeTaskcluster, Shared};

/// Task priorities, highest first (the queue's `PRIORITY_LEVELS`).
const PRIORITY_LEVELS: [&str; 7] = ["highest", "very-high", "high", "medium", "low", "very-low", "lowest"];
/// The queue's taskId pattern, for error messages.
const SLUGID_PATTERN: &str = "^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}[AQgw]$";

/// A task the fake queue accepted.
#[derive(Clone, Debug)]
pub struct CreatedTask {
    /// The taskId from the URL.
    pub task_id: String,
    /// The task definition as sent.
    pub task: Value,
    /// The clientId the request was signed with (for named temporary credentials, the temporary clientId).
    pub client_id: String,
    /// The `authorizedScopes` carried in the request's Hawk `ext`, if any.
    pub authorized_scopes: Option<Vec<String>>,
    /// When the request arrived.
    pub received: DateTime<Utc>,
}

/// One createTask request the fake queue received, whatever its outcome.
#[derive(Clone, Debug)]
pub struct CreateTaskRequest {
    /// The taskId from the URL.
    pub task_id: String,
    /// The request body parsed as JSON (`Value::Null` if it was not JSON).
    pub task: Value,
    /// The Hawk id the request carried (empty if none could be read).
    pub client_id: String,
    /// The `authorizedScopes` carried in the request's Hawk `ext`, if any.
    pub authorized_scopes: Option<Vec<String>>,
    /// The HTTP status the fake answered.
    pub status: u16,
    /// When the request arrived.
    pub received: DateTime<Utc>,
}

pub use hooks_core::sink::TaskState;

/// The runs of a task in `state`: none while unscheduled, else one run in this state.
fn runs(state: TaskState) -> Value {
    let now = now_iso();
    let run = |extra: Value| {
        let mut run = json!({"runId": 0, "state": state.as_str(), "reasonCreated": "scheduled", "scheduled": now});
        if let (Some(run), Value::Object(extra)) = (run.as_object_mut(), extra) {
            run.extend(extra);
        }
        json!([run])
    };
    let worker = json!({"workerGroup": "fake-workers", "workerId": "fake-worker", "started": now});
    let resolved = |reason: &str| {
        let mut extra = worker.clone();
        extra["reasonResolved"] = json!(reason);
        extra["resolved"] = json!(now);
        extra
    };
    match state {
        TaskState::Unscheduled => json!([]),
        TaskState::Pending => run(json!({})),
        TaskState::Running => {
            let mut extra = worker.clone();
            extra["takenUntil"] = json!(iso(Utc::now() + chrono::Duration::minutes(20)));
            run(extra)
        }
        TaskState::Completed => run(resolved("completed")),
        TaskState::Failed => run(resolved("failed")),
        TaskState::Exception => run(json!({"reasonResolved": "canceled", "resolved": now})),
    }
}

/// What the queue holds and records, and the failures and delays tests asked for.
#[derive(Default)]
pub(super) struct QueueRecords {
    /// taskId -> (definition, status structure as created)
    tasks: HashMap<String, (Value, Value)>,
    created: Vec<CreatedTask>,
    requests: Vec<CreateTaskRequest>,
    create_failures: VecDeque<(u16, String)>,
    create_delay: Duration,
    /// States set by tests, by taskId: they replace the state a task was created with.
    states: HashMap<String, TaskState>,
    status_failures: VecDeque<(u16, String)>,
    status_delay: Duration,
}

impl FakeTaskcluster {
    /// Tasks created successfully, in arrival order, one entry per taskId (idempotent re-creates are not repeated).
    pub fn created_tasks(&self) -> Vec<CreatedTask> {
        self.shared.records().queue.created.clone()
    }

    /// How many tasks were created (cheaper than [`FakeTaskcluster::created_tasks`] for polling).
    pub fn created_count(&self) -> usize {
        self.shared.records().queue.created.len()
    }

    /// Every createTask request received, including failed and injected ones, in arrival order.
    pub fn create_task_requests(&self) -> Vec<CreateTaskRequest> {
        self.shared.records().queue.requests.clone()
    }

    /// The next `n` createTask calls (after authentication) answer `status` with a Taskcluster error body of `code`.
    pub fn fail_create_task(&self, n: usize, status: u16, code: &str) {
        let mut records = self.shared.records();
        records.queue.create_failures.extend(std::iter::repeat_n((status, code.to_string()), n));
    }

    /// Every later createTask call waits this long before it is handled, like a slow queue.
    pub fn delay_create_task(&self, delay: Duration) {
        self.shared.records().queue.create_delay = delay;
    }

    /// Waits (async, polling) until at least `n` tasks were created or `timeout` passes; returns the tasks.
    pub async fn wait_for_tasks(&self, n: usize, timeout: Duration) -> Vec<CreatedTask> {
        let deadline = Instant::now() + timeout;
        // Counted under the lock, copied once: copying thousands of tasks every poll would slow the server.
        while self.created_count() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.created_tasks()
    }

    /// From now on the task status of `task_id` says `state` (with one run in that state, none while
    /// unscheduled). A task the queue never created then has a status too, as if it had been created (expired
    /// tasks aside, the real queue has a status for every task a hook fired).
    pub fn set_task_state(&self, task_id: &str, state: TaskState) {
        self.shared.records().queue.states.insert(task_id.to_string(), state);
    }

    /// Every later task status call waits this long before it is answered, like a slow queue.
    pub fn delay_task_status(&self, delay: Duration) {
        self.shared.records().queue.status_delay = delay;
    }

    /// The next `n` task status calls answer `status` with a Taskcluster error body of `code`.
    pub fn fail_task_status(&self, n: usize, status: u16, code: &str) {
        let mut records = self.shared.records();
        records.queue.status_failures.extend(std::iter::repeat_n((status, code.to_string()), n));
    }
}

/// `createTask`. The request is authenticated and the task checked against the caller's scopes before the
/// records are locked; the lock covers only injected failures, idempotency and recording.
pub(super) async fn create_task(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    data: web::Data<Shared>,
) -> HttpResponse {
    let task_id = path.into_inner();
    let received = Utc::now();
    let delay = data.records().queue.create_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (client_id, authorized_scopes) = peek_identity(&req);
    let parsed = parse_body(&body);
    // What the request record keeps: the body as JSON, whatever its shape (`Null` if it is not JSON).
    let sent = match &parsed {
        Ok(task) if !body.is_empty() => task.clone(),
        _ => serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let directory = data.directory();
    let checked = parsed.and_then(|task| check_create_task(&directory, &req, &task_id, &body, task));

    let mut records = data.records();
    let outcome = checked.and_then(|checked| {
        let identity = Identity { client_id: &client_id, authorized_scopes: &authorized_scopes, received };
        records.queue.create(&task_id, checked, identity)
    });
    let status = outcome.as_ref().map_or_else(|e| e.status, |_| 200);
    records.queue.requests.push(CreateTaskRequest {
        task_id: task_id.clone(),
        task: sent,
        client_id,
        authorized_scopes,
        status,
        received,
    });
    drop(records);

    match outcome {
        Ok(status) => HttpResponse::Ok().json(json!({ "status": status })),
        Err(err) => {
            let payload = parse_body(&body).unwrap_or_else(|_| json!({}));
            error_response("createTask", json!({ "taskId": task_id }), &payload, &err)
        }
    }
}

/// Who sent a createTask request, and when it arrived.
struct Identity<'a> {
    client_id: &'a str,
    authorized_scopes: &'a Option<Vec<String>>,
    received: DateTime<Utc>,
}

/// An authenticated createTask request and what the queue makes of its task, short of injected failures.
struct Checked {
    task: Value,
    /// The new task's status, or why the task is refused (a bad definition, insufficient scopes).
    verdict: Result<Value, ApiError>,
}

/// Everything createTask checks that needs no records: the taskId, the content type, the signature (and
/// `authorizedScopes`), the task's queue and the caller's scopes.
fn check_create_task(
    directory: &Directory,
    req: &HttpRequest,
    task_id: &str,
    body: &[u8],
    task: Value,
) -> Result<Checked, ApiError> {
    if !is_slugid(task_id) {
        return Err(ApiError::new(
            "InvalidRequestArguments",
            format!(
                "Invalid URL patterns:\nURL parameter 'taskId' given as '{task_id}' must match regular expression: '{SLUGID_PATTERN}'"
            ),
        ));
    }
    require_json_content_type(req)?;
    let caller = authenticate_request(directory, req, body)?;
    let verdict = judge_task(directory, &caller, task_id, &task);
    Ok(Checked { task, verdict })
}

/// The task's status if the caller may create it.
fn judge_task(directory: &Directory, caller: &Caller, task_id: &str, task: &Value) -> Result<Value, ApiError> {
    let def = task.as_object().ok_or_else(|| ApiError::new("InputValidationError", "task must be an object"))?;
    let str_field = |k: &str| def.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let task_queue_id = match (str_field("provisionerId"), str_field("workerType"), str_field("taskQueueId")) {
        (Some(p), Some(w), Some(tq)) => {
            if format!("{p}/{w}") != tq {
                return Err(ApiError::new("InputError", "taskQueueId must match \"provisionerId/workerType\""));
            }
            tq.to_string()
        }
        (Some(p), Some(w), None) => format!("{p}/{w}"),
        (_, _, Some(tq)) => tq.to_string(),
        _ => {
            return Err(ApiError::new(
                "InputError",
                "at least a provisionerId and a workerType or a taskQueueId must be provided\"",
            ));
        }
    };
    // Until a role is defined, authenticated callers skip the check (see the module docs).
    if matches!(caller, Caller::Anonymous) || directory.roles_defined {
        authorize(caller, &create_task_requirements(def, &task_queue_id).expression())?;
    }
    Ok(new_task_status(task_id, def, &task_queue_id))
}

impl QueueRecords {
    /// Creates the checked task unless a failure was injected or the taskId is taken; returns its status.
    fn create(&mut self, task_id: &str, checked: Checked, identity: Identity<'_>) -> Result<Value, ApiError> {
        if let Some((status, code)) = self.create_failures.pop_front() {
            return Err(ApiError {
                status,
                message: format!("Injected {code} failure from the fake Taskcluster queue"),
                code,
            });
        }
        let status = checked.verdict?;
        if let Some((existing, status)) = self.tasks.get(task_id) {
            if *existing == checked.task {
                return Ok(status.clone());
            }
            return Err(ApiError::new(
                "RequestConflict",
                format!(
                    "taskId `{task_id}` already used by another task.\nThis could be the result of faulty idempotency!"
                ),
            ));
        }
        self.tasks.insert(task_id.to_string(), (checked.task.clone(), status.clone()));
        self.created.push(CreatedTask {
            task_id: task_id.to_string(),
            task: checked.task,
            client_id: identity.client_id.to_string(),
            authorized_scopes: identity.authorized_scopes.clone(),
            received: identity.received,
        });
        Ok(status)
    }

    /// The task's status now: as created, in the state a test set; `None` for a task the queue doesn't know.
    fn status_of(&self, task_id: &str) -> Option<Value> {
        let state = self.states.get(task_id).copied();
        let mut status = match (self.tasks.get(task_id), state) {
            (Some((_, status)), _) => status.clone(),
            (None, Some(_)) => new_task_status(task_id, &Map::new(), "unknown/unknown"),
            (None, None) => return None,
        };
        if let Some(state) = state {
            status["state"] = json!(state.as_str());
            status["runs"] = runs(state);
        }
        Some(status)
    }
}

/// Whether `s` is a v4 slugid, as the queue requires of taskIds.
fn is_slugid(s: &str) -> bool {
    let b = s.as_bytes();
    let slug_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    b.len() == 22
        && b.iter().all(|&c| slug_char(c))
        && (b'Q'..=b'T').contains(&b[8])
        && b"CGKOSWaeimquy26-".contains(&b[10])
        && b"AQgw".contains(&b[21])
}

/// The scopes createTask requires: all of `all`, and one of `any`.
struct Requirements {
    all: Vec<String>,
    any: Vec<String>,
}

impl Requirements {
    fn expression(&self) -> Value {
        let mut all: Vec<Value> = self.all.iter().map(|s| json!(s)).collect();
        all.push(json!({ "AnyOf": self.any }));
        json!({ "AllOf": all })
    }
}

fn create_task_requirements(def: &Map<String, Value>, task_queue_id: &str) -> Requirements {
    let strings = |k: &str| -> Vec<String> {
        def.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut all = strings("scopes");
    all.extend(strings("routes").into_iter().map(|r| format!("queue:route:{r}")));
    let priority = match def.get("priority").and_then(Value::as_str) {
        Some(p) if PRIORITY_LEVELS.contains(&p) => p,
        _ => "lowest",
    };
    let upto = PRIORITY_LEVELS.iter().position(|p| *p == priority).unwrap_or(PRIORITY_LEVELS.len() - 1);
    let mut any = vec![format!("queue:create-task:{task_queue_id}")];
    any.extend(PRIORITY_LEVELS[..=upto].iter().map(|p| format!("queue:create-task:{p}:{task_queue_id}")));
    Requirements { all, any }
}

/// The status of a task just created from `def`.
fn new_task_status(task_id: &str, def: &Map<String, Value>, task_queue_id: &str) -> Value {
    let get = |k: &str, default: &str| -> Value {
        def.get(k).filter(|v| is_truthy(v)).cloned().unwrap_or_else(|| json!(default))
    };
    let (provisioner_id, worker_type) = task_queue_id.split_once('/').unwrap_or((task_queue_id, ""));
    let deadline = def.get("deadline").cloned().unwrap_or(Value::Null);
    let expires = def.get("expires").cloned().unwrap_or_else(|| {
        deadline
            .as_str()
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map(|d| json!(iso(d.with_timezone(&Utc) + chrono::Duration::days(365))))
            .unwrap_or(Value::Null)
    });
    let has_dependencies = def.get("dependencies").and_then(Value::as_array).is_some_and(|d| !d.is_empty());
    let (state, runs) = if has_dependencies {
        ("unscheduled", json!([]))
    } else {
        (
            "pending",
            json!([{
                "runId": 0,
                "state": "pending",
                "reasonCreated": "scheduled",
                "scheduled": now_iso(),
            }]),
        )
    };
    json!({
        "taskId": task_id,
        "provisionerId": provisioner_id,
        "workerType": worker_type,
        "taskQueueId": task_queue_id,
        "schedulerId": get("schedulerId", "-"),
        "projectId": get("projectId", "none"),
        "taskGroupId": get("taskGroupId", task_id),
        "deadline": deadline,
        "expires": expires,
        "retriesLeft": def.get("retries").cloned().unwrap_or(json!(5)),
        "state": state,
        "runs": runs,
    })
}

/// The queue's `status` (public: no credentials), `{"status": …}` or 404 `ResourceNotFound`; slowed down or
/// failed as tests asked.
pub(super) async fn task_status(path: web::Path<String>, data: web::Data<Shared>) -> HttpResponse {
    let task_id = path.into_inner();
    let delay = data.records().queue.status_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let answer = {
        let mut records = data.records();
        match records.queue.status_failures.pop_front() {
            Some((status, code)) => Err(ApiError {
                status,
                message: format!("Injected {code} failure from the fake Taskcluster queue"),
                code,
            }),
            None => records.queue.status_of(&task_id).ok_or_else(|| {
                ApiError::new("ResourceNotFound", format!("`{task_id}` does not correspond to a task that exists."))
            }),
        }
    };
    match answer {
        Ok(status) => HttpResponse::Ok().json(json!({ "status": status })),
        Err(err) => error_response("status", json!({ "taskId": task_id }), &json!({}), &err),
    }
}
