//! The Pulse listener's tables: `pulse_queues` (the queue kept for each hook and the bindings applied to it) and
//! `pulse_fires` (which message fired which task, so that a redelivered message creates nothing new).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::StorageError;
use super::schema::{hooks, pulse_fires, pulse_queues};
use crate::HookKey;
use crate::hook::Binding;

// Reconciling the broker is one replica's job at a time; this advisory lock makes them take turns.
const RECONCILE_LOCK: i64 = 0x686f_6f6b_735f_7071; // "hooks_pq"

/// A hook's Pulse bindings, as the listener reads them from `hooks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookBindings {
    /// The hook's group.
    pub hook_group_id: String,
    /// The hook.
    pub hook_id: String,
    /// Its bindings, possibly none.
    pub bindings: Vec<Binding>,
}

/// A row of `pulse_queues`: the queue the listener keeps for a hook and the bindings it may have applied to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulseQueue {
    /// The hook's group.
    pub hook_group_id: String,
    /// The hook.
    pub hook_id: String,
    /// The queue's full name on the broker.
    pub queue_name: String,
    /// Bindings that may exist on the broker (a superset while a change is being applied).
    pub bindings: Vec<Binding>,
}

fn parse_bindings(what: impl FnOnce() -> String, value: Value) -> Result<Vec<Binding>, StorageError> {
    serde_json::from_value(value).map_err(|e| StorageError::Corrupt { what: what(), problem: format!("bindings: {e}") })
}

fn to_json(bindings: &[Binding]) -> Result<Value, StorageError> {
    serde_json::to_value(bindings)
        .map_err(|e| StorageError::Corrupt { what: "pulse bindings".into(), problem: e.to_string() })
}

/// The bindings of every hook that has at least one.
#[tracing::instrument(name = "db.list_hook_bindings", skip_all)]
pub async fn list_hook_bindings(conn: &mut AsyncPgConnection) -> Result<Vec<HookBindings>, StorageError> {
    let rows: Vec<(String, String, Value)> = hooks::table
        .filter(hooks::bindings.ne(Value::Array(Vec::new())))
        .select((hooks::hook_group_id, hooks::hook_id, hooks::bindings))
        .order((hooks::hook_group_id, hooks::hook_id))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(g, h, b)| {
            let bindings = parse_bindings(|| format!("hook {g}/{h}"), b)?;
            Ok(HookBindings { hook_group_id: g, hook_id: h, bindings })
        })
        .collect()
}

/// The bindings of one hook; `None` when the hook does not exist.
#[tracing::instrument(name = "db.find_hook_bindings", skip_all)]
pub async fn find_hook_bindings(
    conn: &mut AsyncPgConnection,
    hook: &HookKey,
) -> Result<Option<HookBindings>, StorageError> {
    let (hook_group_id, hook_id) = hook.as_strs();
    let row: Option<Value> =
        hooks::table.find((hook_group_id, hook_id)).select(hooks::bindings).first(conn).await.optional()?;
    row.map(|b| {
        let bindings = parse_bindings(|| format!("hook {hook}"), b)?;
        Ok(HookBindings { hook_group_id: hook_group_id.to_owned(), hook_id: hook_id.to_owned(), bindings })
    })
    .transpose()
}

type QueueRow = (String, String, String, Value);

fn queue_from_row((g, h, queue_name, b): QueueRow) -> Result<PulseQueue, StorageError> {
    let bindings = parse_bindings(|| format!("pulse queue of hook {g}/{h}"), b)?;
    Ok(PulseQueue { hook_group_id: g, hook_id: h, queue_name, bindings })
}

/// Every queue the listener keeps.
#[tracing::instrument(name = "db.list_pulse_queues", skip_all)]
pub async fn list_pulse_queues(conn: &mut AsyncPgConnection) -> Result<Vec<PulseQueue>, StorageError> {
    let rows: Vec<QueueRow> = pulse_queues::table
        .select((pulse_queues::hook_group_id, pulse_queues::hook_id, pulse_queues::queue_name, pulse_queues::bindings))
        .order((pulse_queues::hook_group_id, pulse_queues::hook_id))
        .load(conn)
        .await?;
    rows.into_iter().map(queue_from_row).collect()
}

/// The queue kept for one hook, if any.
#[tracing::instrument(name = "db.find_pulse_queue", skip_all)]
pub async fn find_pulse_queue(
    conn: &mut AsyncPgConnection,
    hook: &HookKey,
) -> Result<Option<PulseQueue>, StorageError> {
    let row: Option<QueueRow> = pulse_queues::table
        .find(hook.as_strs())
        .select((pulse_queues::hook_group_id, pulse_queues::hook_id, pulse_queues::queue_name, pulse_queues::bindings))
        .first(conn)
        .await
        .optional()?;
    row.map(queue_from_row).transpose()
}

/// Stores (inserts or replaces) the queue kept for a hook.
#[tracing::instrument(name = "db.save_pulse_queue", skip_all)]
pub async fn save_pulse_queue(conn: &mut AsyncPgConnection, queue: &PulseQueue) -> Result<(), StorageError> {
    let bindings = to_json(&queue.bindings)?;
    diesel::insert_into(pulse_queues::table)
        .values((
            pulse_queues::hook_group_id.eq(&queue.hook_group_id),
            pulse_queues::hook_id.eq(&queue.hook_id),
            pulse_queues::queue_name.eq(&queue.queue_name),
            pulse_queues::bindings.eq(&bindings),
        ))
        .on_conflict((pulse_queues::hook_group_id, pulse_queues::hook_id))
        .do_update()
        .set((
            pulse_queues::queue_name.eq(excluded(pulse_queues::queue_name)),
            pulse_queues::bindings.eq(excluded(pulse_queues::bindings)),
            pulse_queues::updated.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets the queue kept for a hook, and the hook's Pulse fires with it.
#[tracing::instrument(name = "db.delete_pulse_queue", skip_all)]
pub async fn delete_pulse_queue(conn: &mut AsyncPgConnection, hook: &HookKey) -> Result<(), StorageError> {
    let (hook_group_id, hook_id) = hook.as_strs();
    diesel::delete(pulse_queues::table.find((hook_group_id, hook_id))).execute(conn).await?;
    diesel::delete(
        pulse_fires::table
            .filter(pulse_fires::hook_group_id.eq(hook_group_id))
            .filter(pulse_fires::hook_id.eq(hook_id)),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes the reconcile lock (a session-level Postgres advisory lock), waiting while another replica holds it. It
/// is held until [`unlock_reconcile`] or until the connection closes.
#[tracing::instrument(name = "db.lock_reconcile", skip_all)]
pub(crate) async fn lock_reconcile(conn: &mut AsyncPgConnection) -> Result<(), StorageError> {
    diesel::sql_query("SELECT pg_advisory_lock($1)").bind::<BigInt, _>(RECONCILE_LOCK).execute(conn).await?;
    Ok(())
}

/// Releases the reconcile lock taken by [`lock_reconcile`] on this connection.
#[tracing::instrument(name = "db.unlock_reconcile", skip_all)]
pub(crate) async fn unlock_reconcile(conn: &mut AsyncPgConnection) -> Result<(), StorageError> {
    diesel::sql_query("SELECT pg_advisory_unlock($1)").bind::<BigInt, _>(RECONCILE_LOCK).execute(conn).await?;
    Ok(())
}

/// One message's fire of one hook.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = pulse_fires, check_for_backend(diesel::pg::Pg))]
pub struct PulseFire {
    /// The hook's group.
    pub hook_group_id: String,
    /// The hook.
    pub hook_id: String,
    /// The task id the message fires.
    pub task_id: String,
    /// SHA-256 of the message (see the migration).
    pub message_key: Vec<u8>,
    /// The `now` the task is rendered with.
    pub fire_now: DateTime<Utc>,
    /// Whether the fire is recorded (or was declined).
    pub done: bool,
    /// The listener session that holds the message.
    pub claimed_by: String,
}

/// Records that messages are about to fire tasks (one statement); done before the tasks are created, so a
/// redelivery can find them.
#[tracing::instrument(name = "db.insert_pulse_fires", skip_all)]
pub async fn insert_pulse_fires(conn: &mut AsyncPgConnection, fires: &[PulseFire]) -> Result<(), StorageError> {
    diesel::insert_into(pulse_fires::table).values(fires).execute(conn).await?;
    Ok(())
}

/// Claims for `session` the earlier fire of a redelivered message with this key: an unfinished one if there is
/// any (newest first), else the newest finished one. Only rows held by other sessions are claimed.
///
/// A row another transaction holds (a batch marking it done, another claim) is waited for, never skipped: skipping
/// it would fire the message anew under a fresh taskId. Once the lock is released the row is checked again, so
/// byte-identical messages redelivered together to one session still each get a row of their own (the first claim
/// makes the row this session's, and the second moves on to the next).
#[tracing::instrument(name = "db.claim_pulse_fire", skip_all)]
pub async fn claim_pulse_fire(
    conn: &mut AsyncPgConnection,
    hook: &HookKey,
    message_key: &[u8],
    session: &str,
) -> Result<Option<PulseFire>, StorageError> {
    let (hook_group_id, hook_id) = hook.as_strs();
    use diesel::sql_types::{Bytea, Text};
    Ok(diesel::sql_query(
        "UPDATE pulse_fires SET claimed_by = $4 \
         WHERE (hook_group_id, hook_id, task_id) = ( \
             SELECT hook_group_id, hook_id, task_id FROM pulse_fires \
             WHERE hook_group_id = $1 AND hook_id = $2 AND message_key = $3 AND claimed_by <> $4 \
             ORDER BY done ASC, created DESC LIMIT 1 FOR UPDATE) \
         RETURNING hook_group_id, hook_id, task_id, message_key, fire_now, done, claimed_by",
    )
    .bind::<Text, _>(hook_group_id)
    .bind::<Text, _>(hook_id)
    .bind::<Bytea, _>(message_key)
    .bind::<Text, _>(session)
    .get_result(conn)
    .await
    .optional()?)
}

/// Marks several fires as recorded, given as `(hook, taskId)`, in one statement.
#[tracing::instrument(name = "db.finish_pulse_fires", skip_all)]
pub async fn finish_pulse_fires(conn: &mut AsyncPgConnection, fires: &[(HookKey, String)]) -> Result<(), StorageError> {
    use diesel::sql_types::{Array, Text};
    let groups: Vec<&str> = fires.iter().map(|f| f.0.group.as_str()).collect();
    let hooks: Vec<&str> = fires.iter().map(|f| f.0.id.as_str()).collect();
    let tasks: Vec<&str> = fires.iter().map(|f| f.1.as_str()).collect();
    // The rows are locked in key order first: two batches over the same rows then never wait on each other in a
    // cycle (a deadlock PostgreSQL breaks by failing one).
    diesel::sql_query(
        "WITH f AS (SELECT p.hook_group_id, p.hook_id, p.task_id FROM pulse_fires p \
             JOIN unnest($1::text[], $2::text[], $3::text[]) AS u(g, h, t) \
               ON p.hook_group_id = u.g AND p.hook_id = u.h AND p.task_id = u.t \
             ORDER BY 1, 2, 3 FOR UPDATE OF p) \
         UPDATE pulse_fires p SET done = true FROM f \
         WHERE p.hook_group_id = f.hook_group_id AND p.hook_id = f.hook_id AND p.task_id = f.task_id",
    )
    .bind::<Array<Text>, _>(groups)
    .bind::<Array<Text>, _>(hooks)
    .bind::<Array<Text>, _>(tasks)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes fires older than `before` (a message is never redelivered that late); returns how many.
#[tracing::instrument(name = "db.expire_pulse_fires", skip_all)]
pub async fn expire_pulse_fires(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> Result<usize, StorageError> {
    Ok(diesel::delete(pulse_fires::table.filter(pulse_fires::created.lt(before))).execute(conn).await?)
}
