//! The Taskcluster queue sink: `PUT <rootUrl>/api/queue/v1/task/<taskId>` with the service's credentials,
//! restricted by `authorizedScopes` to the hook's role, so the task gets exactly the scopes the hook was given.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use taskcluster::{ClientBuilder, Credentials, Queue, Retry};

use super::{CreateTaskError, TaskSink};
use crate::{HookGroupId, HookId, SecretString, TaskId};

// Each client holds its own connection pool; keep one per recently-fired hook rather than one per fire.
const MAX_CACHED_CLIENTS: usize = 1024;

/// Creates tasks in a Taskcluster deployment's queue.
pub struct QueueSink {
    root_url: String,
    client_id: String,
    access_token: SecretString,
    retry: Retry,
    clients: Mutex<HashMap<String, Arc<Queue>>>,
}

impl QueueSink {
    /// A sink for the deployment at `root_url`, using the service's own credentials. 5xx answers and network
    /// errors are retried `retries` times with exponential backoff starting at `base_delay`.
    pub fn new(
        root_url: &str,
        client_id: &str,
        access_token: SecretString,
        retries: usize,
        base_delay: Duration,
    ) -> Self {
        Self {
            root_url: root_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            access_token,
            retry: Retry { retries, delay_factor: base_delay, ..Retry::default() },
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The role scope a hook's tasks are created with.
    pub fn hook_role(hook_group_id: &HookGroupId, hook_id: &HookId) -> String {
        format!("assume:hook-id:{hook_group_id}/{hook_id}")
    }

    fn client_for(&self, role: &str) -> Result<Arc<Queue>, CreateTaskError> {
        let mut clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(role) {
            return Ok(client.clone());
        }
        let builder = ClientBuilder::new(&self.root_url)
            .credentials(Credentials::new(&self.client_id, self.access_token.expose()))
            .authorized_scopes([role])
            .retry(self.retry.clone());
        let client = Arc::new(Queue::new(builder).map_err(|e| CreateTaskError::Unavailable {
            status: None,
            message: format!("cannot build a queue client for {}: {e}", self.root_url),
        })?);
        if clients.len() >= MAX_CACHED_CLIENTS {
            clients.clear();
        }
        clients.insert(role.to_owned(), client.clone());
        Ok(client)
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
        let client = self.client_for(&Self::hook_role(hook_group_id, hook_id))?;
        let body = Value::Object(task.clone());
        client.createTask(task_id.as_str(), &body).await.map(|_| ()).map_err(|e| classify(&e))
    }

    fn name(&self) -> &'static str {
        "queue"
    }
}

/// Turns the client's error into ours. The client keeps the status and, for 4xx answers, the body's message,
/// which for Taskcluster services ends with a block naming the error code.
fn classify(err: &anyhow::Error) -> CreateTaskError {
    let status = taskcluster::err_status_code(err).map(|s| s.as_u16());
    let full = err.to_string();
    match status {
        Some(status) if (400..500).contains(&status) => {
            let (message, code) = split_taskcluster_message(&full);
            CreateTaskError::Rejected { status, code: code.unwrap_or_else(|| default_code(status).to_owned()), message }
        }
        _ => CreateTaskError::Unavailable { status, message: format!("{err:#}") },
    }
}

// Taskcluster error messages end with "\n\n---\n\n* method: …\n* errorCode: X\n…"; keep the readable part and the code.
fn split_taskcluster_message(full: &str) -> (String, Option<String>) {
    let (message, trailer) = full.split_once("\n\n---\n\n").unwrap_or((full, ""));
    let code = trailer
        .lines()
        .find_map(|l| l.trim_start_matches("* ").strip_prefix("errorCode:"))
        .map(|c| c.trim().to_owned());
    (message.trim().to_owned(), code)
}

fn default_code(status: u16) -> &'static str {
    match status {
        401 => "AuthenticationFailed",
        403 => "InsufficientScopes",
        404 => "ResourceNotFound",
        409 => "RequestConflict",
        _ => "InputError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taskcluster_messages_are_split_into_text_and_code() {
        let full = "Client ID x does not have sufficient scopes\n\n---\n\n* method:     createTask\n* errorCode:  InsufficientScopes\n* statusCode: 403\n* time:       2026";
        let (message, code) = split_taskcluster_message(full);
        assert_eq!(message, "Client ID x does not have sufficient scopes");
        assert_eq!(code.as_deref(), Some("InsufficientScopes"));
        assert_eq!(split_taskcluster_message("plain"), ("plain".to_owned(), None));
    }
}
