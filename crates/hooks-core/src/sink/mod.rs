//! Where rendered tasks go: the Taskcluster queue, or the embedded sink when no deployment is configured.

mod embedded;
mod queue;
mod states;

use serde_json::{Map, Value};

pub use embedded::EmbeddedSink;
pub use queue::QueueSink;
pub use states::TaskStates;

use crate::{HookGroupId, HookId, TaskId};

/// Why a task was not created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateTaskError {
    /// The sink answered and refused the task (a 4xx from the queue): retrying the same task won't help.
    #[error("queue createTask answered {status} {code}: {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Taskcluster error code, e.g. `InsufficientScopes`.
        code: String,
        /// The queue's message.
        message: String,
    },
    /// The sink could not be reached or failed (network error, 5xx, database down), even after retries.
    #[error("queue createTask failed: {message}")]
    Unavailable {
        /// HTTP status, when there was an answer.
        status: Option<u16>,
        /// What happened.
        message: String,
    },
}

/// Refuses a task holding U+0000 before it reaches a sink: PostgreSQL (the embedded sink's, and the Taskcluster
/// queue's) cannot store it, and a refusal for this one fire is better than a failed write or a retried 500.
pub(crate) fn refuse_unstorable(task: &Map<String, Value>) -> Result<(), CreateTaskError> {
    crate::storable::check_no_nul_in(task).map_err(|e| {
        let at = if e.field.is_empty() { "the top level".to_owned() } else { e.field };
        CreateTaskError::Rejected {
            status: 400,
            code: "InputError".into(),
            message: format!("the task contains U+0000 at {at}, which cannot be stored"),
        }
    })
}

/// Why a sink could not tell whether a task exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot tell whether task {task_id} exists: {reason}")]
pub struct TaskLookupError {
    /// The task asked about.
    pub task_id: String,
    /// What went wrong.
    pub reason: String,
}

impl CreateTaskError {
    /// Whether trying the same task again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// Where a task is in its life, as the queue says (`status.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Waiting for its dependencies.
    Unscheduled,
    /// Waiting for a worker.
    Pending,
    /// A worker has it.
    Running,
    /// It succeeded.
    Completed,
    /// It failed.
    Failed,
    /// It did not run to an end (cancelled, deadline exceeded, worker shutdown, ...).
    Exception,
}

impl TaskState {
    const ALL: [TaskState; 6] =
        [Self::Unscheduled, Self::Pending, Self::Running, Self::Completed, Self::Failed, Self::Exception];

    /// The queue's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unscheduled => "unscheduled",
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Exception => "exception",
        }
    }

    /// The state the queue calls `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the task is done for good (its state will not change again).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Exception)
    }
}

/// A destination for rendered tasks. Creating the same task id with the same definition twice must succeed
/// and create one task (the queue's own idempotency), which is what makes re-fires safe.
#[async_trait::async_trait]
pub trait TaskSink: Send + Sync {
    /// Creates `task` under `task_id` with the hook's role.
    async fn create_task(
        &self,
        hook_group_id: &HookGroupId,
        hook_id: &HookId,
        task_id: &TaskId,
        task: &Map<String, Value>,
    ) -> Result<(), CreateTaskError>;

    /// The state of task `task_id`, or `None` when there is no such task.
    async fn task_state(&self, task_id: &TaskId) -> Result<Option<TaskState>, TaskLookupError>;

    /// The states of many tasks at once, in order, when the sink can look them up together (one query rather than
    /// one each); `None` when it can only look them up one by one, with [`TaskSink::task_state`].
    async fn task_states(&self, _task_ids: &[TaskId]) -> Option<Result<Vec<Option<TaskState>>, TaskLookupError>> {
        None
    }

    /// Whether a task `task_id` exists: how a fire whose daemon stopped before recording it learns its outcome.
    async fn task_exists(&self, task_id: &TaskId) -> Result<bool, TaskLookupError> {
        Ok(self.task_state(task_id).await?.is_some())
    }

    /// A short name for logs and metrics.
    fn name(&self) -> &'static str;
}
