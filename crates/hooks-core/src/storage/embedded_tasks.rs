//! The `embedded_tasks` table: tasks kept by the embedded sink when no Taskcluster deployment is configured.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::StorageError;
use super::schema::embedded_tasks;
use crate::HookKey;

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
#[tracing::instrument(name = "db.insert_task", skip_all)]
pub async fn insert_task(
    conn: &mut AsyncPgConnection,
    task_id: &str,
    hook: &HookKey,
    definition: &Value,
) -> Result<Inserted, StorageError> {
    let task = NewTask {
        task_id: task_id.to_owned(),
        hook_group_id: hook.group.to_string(),
        hook_id: hook.id.to_string(),
        definition: definition.clone(),
    };
    let mut answers = insert_tasks(conn, std::slice::from_ref(&task)).await?;
    Ok(answers.pop().unwrap_or(Inserted::Conflict))
}

/// A task to store with [`insert_tasks`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// The task's id.
    pub task_id: String,
    /// The hook that created it.
    pub hook_group_id: String,
    /// The hook that created it.
    pub hook_id: String,
    /// The task definition.
    pub definition: Value,
}

/// Stores many tasks in one statement (so one commit serves them all), with [`insert_task`]'s rule for each;
/// the answers are in the order of `tasks`.
#[tracing::instrument(name = "db.insert_tasks", skip_all)]
pub async fn insert_tasks(conn: &mut AsyncPgConnection, tasks: &[NewTask]) -> Result<Vec<Inserted>, StorageError> {
    let rows: Vec<_> = tasks
        .iter()
        .map(|t| {
            (
                embedded_tasks::task_id.eq(&t.task_id),
                embedded_tasks::hook_group_id.eq(&t.hook_group_id),
                embedded_tasks::hook_id.eq(&t.hook_id),
                embedded_tasks::definition.eq(&t.definition),
            )
        })
        .collect();
    let inserted: Vec<String> = diesel::insert_into(embedded_tasks::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .returning(embedded_tasks::task_id)
        .get_results(conn)
        .await?;
    let mut inserted: std::collections::HashSet<String> = inserted.into_iter().collect();
    let others: Vec<&str> =
        tasks.iter().filter(|t| !inserted.contains(&t.task_id)).map(|t| t.task_id.as_str()).collect();
    let existing: std::collections::HashMap<String, Value> = if others.is_empty() {
        Default::default()
    } else {
        embedded_tasks::table
            .filter(embedded_tasks::task_id.eq_any(&others))
            .select((embedded_tasks::task_id, embedded_tasks::definition))
            .load::<(String, Value)>(conn)
            .await?
            .into_iter()
            .collect()
    };
    Ok(tasks
        .iter()
        .map(|t| {
            // A task id inserted by this statement answers Stored once; a repeat within the batch compares.
            if inserted.remove(&t.task_id) {
                return Inserted::Stored;
            }
            let stored = existing
                .get(&t.task_id)
                .or_else(|| tasks.iter().find(|first| first.task_id == t.task_id).map(|first| &first.definition));
            if stored == Some(&t.definition) { Inserted::Stored } else { Inserted::Conflict }
        })
        .collect())
}

/// The tasks created by one hook, oldest first.
#[tracing::instrument(name = "db.tasks_of_hook", skip_all)]
pub async fn tasks_of_hook(conn: &mut AsyncPgConnection, hook: &HookKey) -> Result<Vec<EmbeddedTask>, StorageError> {
    Ok(embedded_tasks::table
        .filter(embedded_tasks::hook_group_id.eq(hook.group.as_str()))
        .filter(embedded_tasks::hook_id.eq(hook.id.as_str()))
        .order(embedded_tasks::created.asc())
        .select(EmbeddedTask::as_select())
        .load(conn)
        .await?)
}

/// Whether a task `task_id` was stored.
#[tracing::instrument(name = "db.task_exists", skip_all)]
pub async fn task_exists(conn: &mut AsyncPgConnection, task_id: &str) -> Result<bool, StorageError> {
    let found = embedded_tasks::table.find(task_id).select(embedded_tasks::task_id).first::<String>(conn).await;
    Ok(found.optional()?.is_some())
}

/// Which of `task_ids` were stored.
#[tracing::instrument(name = "db.existing_tasks", skip_all)]
pub async fn existing_tasks(
    conn: &mut AsyncPgConnection,
    task_ids: &[&str],
) -> Result<std::collections::HashSet<String>, StorageError> {
    let found: Vec<String> = embedded_tasks::table
        .filter(embedded_tasks::task_id.eq_any(task_ids))
        .select(embedded_tasks::task_id)
        .load(conn)
        .await?;
    Ok(found.into_iter().collect())
}
