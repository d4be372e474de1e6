//! The embedded sink: stores tasks in Postgres, for development and for running without a Taskcluster deployment.
//!
//! Tasks are written by one background writer in batches of whatever is waiting (no timer: alone, a task waits for
//! no one), so when many hooks fire at once one commit serves many tasks instead of one each.

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::{CreateTaskError, TaskLookupError, TaskSink, TaskState};
use crate::storage::{self, Batcher, Inserted, NewTask, Pool, StorageError};
use crate::{HookGroupId, HookId, TaskId};

/// The most tasks one statement stores.
const MAX_BATCH: usize = 256;

/// Stores created tasks in the `embedded_tasks` table.
#[derive(Clone)]
pub struct EmbeddedSink {
    writer: Batcher<NewTask, Inserted>,
    pool: Pool,
}

impl EmbeddedSink {
    /// A sink writing through `pool`; its writer runs on the current Tokio runtime until the last clone is dropped.
    pub fn new(pool: Pool) -> Self {
        Self { writer: Batcher::spawn(pool.clone(), MAX_BATCH, insert_tasks), pool }
    }
}

fn insert_tasks<'c>(
    conn: &'c mut diesel_async::AsyncPgConnection,
    tasks: &'c [NewTask],
) -> BoxFuture<'c, Result<Vec<Inserted>, StorageError>> {
    Box::pin(storage::insert_tasks(conn, tasks))
}

#[async_trait::async_trait]
impl TaskSink for EmbeddedSink {
    async fn create_task(
        &self,
        hook_group_id: &HookGroupId,
        hook_id: &HookId,
        task_id: &TaskId,
        task: &Map<String, Value>,
    ) -> Result<(), CreateTaskError> {
        super::refuse_unstorable(task)?;
        let task = NewTask {
            task_id: task_id.to_string(),
            hook_group_id: hook_group_id.to_string(),
            hook_id: hook_id.to_string(),
            definition: Value::Object(task.clone()),
        };
        let written = self.writer.submit(task).await;
        match written.map_err(|e| CreateTaskError::Unavailable { status: None, message: e.to_string() })? {
            Inserted::Stored => {
                tracing::info!(%hook_group_id, %hook_id, %task_id, "task created (embedded sink)");
                Ok(())
            }
            Inserted::Conflict => Err(CreateTaskError::Rejected {
                status: 409,
                code: "RequestConflict".into(),
                message: format!("taskId {task_id} already used by another task"),
            }),
        }
    }

    /// An embedded task never runs: it stays `pending`, as a task no worker has taken.
    async fn task_state(&self, task_id: &TaskId) -> Result<Option<TaskState>, TaskLookupError> {
        let lookup = async {
            let mut conn = self.pool.get().await?;
            storage::task_exists(&mut conn, task_id.as_str()).await
        };
        let exists =
            lookup.await.map_err(|e| TaskLookupError { task_id: task_id.to_string(), reason: e.to_string() })?;
        Ok(exists.then_some(TaskState::Pending))
    }

    async fn task_states(&self, task_ids: &[TaskId]) -> Option<Result<Vec<Option<TaskState>>, TaskLookupError>> {
        let ids: Vec<&str> = task_ids.iter().map(TaskId::as_str).collect();
        let lookup = async {
            let mut conn = self.pool.get().await?;
            storage::existing_tasks(&mut conn, &ids).await
        };
        let found = match lookup.await {
            Ok(found) => found,
            Err(e) => {
                return Some(Err(TaskLookupError { task_id: format!("{} tasks", ids.len()), reason: e.to_string() }));
            }
        };
        // An embedded task is never run: it stays pending.
        Some(Ok(ids.iter().map(|id| found.contains(*id).then_some(TaskState::Pending)).collect()))
    }

    fn name(&self) -> &'static str {
        "embedded"
    }
}
