//! The Taskcluster queue sink: `PUT <rootUrl>/api/queue/v1/task/<taskId>` with the service's credentials,
//! restricted by `authorizedScopes` to the hook's role, so the task gets exactly the scopes the hook was given.

use reqwest::Method;
use serde_json::{Map, Value};

use super::{CreateTaskError, TaskLookupError, TaskSink, TaskState};
use crate::deployment::{CallError, Deployment, RetryPolicy};
use crate::{HookGroupId, HookId, TaskId};

/// Creates tasks in a Taskcluster deployment's queue, every hook's through the deployment's one HTTP client.
pub struct QueueSink {
    deployment: Deployment,
    retry: RetryPolicy,
}

impl QueueSink {
    /// A sink creating tasks in `deployment`'s queue; 5xx answers and network errors are retried as `retry` says.
    pub fn new(deployment: Deployment, retry: RetryPolicy) -> Self {
        Self { deployment, retry }
    }

    /// The role scope a hook's tasks are created with.
    pub fn hook_role(hook_group_id: &HookGroupId, hook_id: &HookId) -> String {
        format!("assume:hook-id:{hook_group_id}/{hook_id}")
    }
}

#[async_trait::async_trait]
impl TaskSink for QueueSink {
    async fn create_task(
        &self,
        hook_group_id: &HookGroupId,
        hook_id: &HookId,
        task_id: &TaskId,
        task: &Map<String, Value>,
    ) -> Result<(), CreateTaskError> {
        super::refuse_unstorable(task)?;
        let role = Self::hook_role(hook_group_id, hook_id);
        // A taskId is a slugid: nothing in it needs escaping in a path.
        let path = format!("api/queue/v1/task/{task_id}");
        self.deployment.send_json(Method::PUT, &path, task, &[&role], &self.retry).await.map_err(|e| match e {
            CallError::Rejected { status, code, message } => CreateTaskError::Rejected { status, code, message },
            CallError::Unavailable { status, message } => CreateTaskError::Unavailable { status, message },
        })
    }

    async fn task_state(&self, task_id: &TaskId) -> Result<Option<TaskState>, TaskLookupError> {
        let lookup_error = |reason: String| TaskLookupError { task_id: task_id.to_string(), reason };
        // The queue's task status is public: no credentials are spent on it.
        let path = format!("api/queue/v1/task/{task_id}/status");
        let Some(status) =
            self.deployment.get_public(&path, &self.retry).await.map_err(|e| lookup_error(e.to_string()))?
        else {
            return Ok(None);
        };
        let state = status.pointer("/status/state").and_then(Value::as_str);
        match state.and_then(TaskState::parse) {
            Some(state) => Ok(Some(state)),
            None => Err(lookup_error(format!("the queue's task status has no known status.state: {state:?}"))),
        }
    }

    fn name(&self) -> &'static str {
        "queue"
    }
}
