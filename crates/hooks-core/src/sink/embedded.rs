//! The embedded sink: stores tasks in Postgres, for development and for running without a Taskcluster deployment.

use serde_json::{Map, Value};

use super::{CreateTaskError, TaskSink};
use crate::storage::Pool;
use crate::storage::embedded_tasks::{self, Inserted};
use crate::{HookGroupId, HookId, TaskId};

/// Stores created tasks in the `embedded_tasks` table.
#[derive(Clone)]
pub struct EmbeddedSink {
    pool: Pool,
}

impl EmbeddedSink {
    /// A sink writing through `pool`.
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
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
        let unavailable =
            |e: &dyn std::fmt::Display| CreateTaskError::Unavailable { status: None, message: e.to_string() };
        let mut conn = self.pool.get().await.map_err(|e| unavailable(&e))?;
        let definition = Value::Object(task.clone());
        match embedded_tasks::insert_task(
            &mut conn,
            task_id.as_str(),
            hook_group_id.as_str(),
            hook_id.as_str(),
            &definition,
        )
        .await
        .map_err(|e| unavailable(&e))?
        {
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

    fn name(&self) -> &'static str {
        "embedded"
    }
}
