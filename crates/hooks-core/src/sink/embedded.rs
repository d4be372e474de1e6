//! The embedded sink: stores tasks in Postgres, for development and for running without a Taskcluster deployment.
//!
//! Tasks are written by one background writer in batches of whatever is waiting (no timer: alone, a task waits for
//! no one), so when many hooks fire at once one commit serves many tasks instead of one each.

use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use super::{CreateTaskError, TaskSink};
use crate::storage::Pool;
use crate::storage::embedded_tasks::{self, Inserted, NewTask};
use crate::{HookGroupId, HookId, TaskId};

/// The most tasks one statement stores.
const MAX_BATCH: usize = 256;

struct Pending {
    task: NewTask,
    done: oneshot::Sender<Result<Inserted, String>>,
}

/// Stores created tasks in the `embedded_tasks` table.
#[derive(Clone)]
pub struct EmbeddedSink {
    writer: mpsc::UnboundedSender<Pending>,
}

impl EmbeddedSink {
    /// A sink writing through `pool`; its writer runs on the current Tokio runtime until the last clone is dropped.
    pub fn new(pool: Pool) -> Self {
        let (writer, pending) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(pool, pending));
        Self { writer }
    }
}

async fn write_batches(pool: Pool, mut pending: mpsc::UnboundedReceiver<Pending>) {
    while let Some(first) = pending.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (tasks, waiting): (Vec<NewTask>, Vec<_>) = batch.into_iter().map(|p| (p.task, p.done)).unzip();
        let stored = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            embedded_tasks::insert_tasks(&mut conn, &tasks).await.map_err(|e| e.to_string())
        };
        match stored.await {
            Ok(answers) => {
                for (done, answer) in waiting.into_iter().zip(answers) {
                    let _ = done.send(Ok(answer));
                }
            }
            Err(e) => {
                for done in waiting {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
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
        let unavailable = |message: String| CreateTaskError::Unavailable { status: None, message };
        let task = NewTask {
            task_id: task_id.to_string(),
            hook_group_id: hook_group_id.to_string(),
            hook_id: hook_id.to_string(),
            definition: Value::Object(task.clone()),
        };
        let (done, answer) = oneshot::channel();
        self.writer.send(Pending { task, done }).map_err(|_| unavailable("the embedded sink stopped".into()))?;
        match answer.await.map_err(|_| unavailable("the embedded sink stopped".into()))?.map_err(unavailable)? {
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
