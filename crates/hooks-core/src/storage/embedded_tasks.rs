//! The `embedded_tasks` table: tasks kept by the embedded sink when no Taskcluster deployment is configured.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::StorageError;
use super::schema::embedded_tasks;

/// A task the embedded sink holds.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = embedded_tasks, check_for_backend(diesel::pg::Pg))]
pub struct EmbeddedTask {
    /// The task's id.
    pub task_id: String,
    /// The hook that created it.
    pub hook_group_id: String,
    /// The hook that created it.
    pub hook_id: String,
    /// The task definition.
    pub definition: Value,
    /// When it was stored.
    pub created: DateTime<Utc>,
}

/// What [`insert_task`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The task is stored, either now or by an earlier call with the identical definition.
    Stored,
    /// A different task already has this id.
    Conflict,
}

/// Stores a task. Like the queue's createTask, repeating an identical task is a success and a different task
/// under the same id is a conflict.
pub async fn insert_task(
    conn: &mut AsyncPgConnection,
    task_id: &str,
    hook_group_id: &str,
    hook_id: &str,
    definition: &Value,
) -> Result<Inserted, StorageError> {
    let n = diesel::insert_into(embedded_tasks::table)
        .values((
            embedded_tasks::task_id.eq(task_id),
            embedded_tasks::hook_group_id.eq(hook_group_id),
            embedded_tasks::hook_id.eq(hook_id),
            embedded_tasks::definition.eq(definition),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if n == 1 {
        return Ok(Inserted::Stored);
    }
    let existing: Value = embedded_tasks::table.find(task_id).select(embedded_tasks::definition).first(conn).await?;
    Ok(if &existing == definition { Inserted::Stored } else { Inserted::Conflict })
}

/// The tasks created by one hook, oldest first.
pub async fn tasks_of_hook(
    conn: &mut AsyncPgConnection,
    hook_group_id: &str,
    hook_id: &str,
) -> Result<Vec<EmbeddedTask>, StorageError> {
    Ok(embedded_tasks::table
        .filter(embedded_tasks::hook_group_id.eq(hook_group_id))
        .filter(embedded_tasks::hook_id.eq(hook_id))
        .order(embedded_tasks::created.asc())
        .select(EmbeddedTask::as_select())
        .load(conn)
        .await?)
}
