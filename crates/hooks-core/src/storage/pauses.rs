//! The `hook_pauses` table: which hooks are paused, why, by whom and since when. Pausing is state, not
//! definition, so it lives apart from the `hooks` row (updateHook leaves it alone) and goes with the hook.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};

use super::StorageError;
use super::audit;
use super::hooks::lock_hook;
use super::schema::{hook_pauses, hooks};
use crate::HookKey;

/// A hook's pause.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = hook_pauses, check_for_backend(diesel::pg::Pg))]
pub struct Pause {
    /// Why, as the pausing caller said.
    pub reason: String,
    /// The clientId that paused it (last).
    pub paused_by: String,
    /// When it was first paused.
    pub since: DateTime<Utc>,
}

/// Pauses a hook, or gives a paused hook its new reason and pauser (keeping `since`), and records who did, in one
/// transaction. Returns the pause, or `None` when there is no such hook.
#[tracing::instrument(name = "db.pause_hook", skip_all)]
pub async fn pause_hook(
    conn: &mut AsyncPgConnection,
    hook: &HookKey,
    reason: &str,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Pause>, StorageError> {
    let (hook_group_id, hook_id) = hook.as_strs();
    conn.transaction::<_, StorageError, _>(async |conn| {
        if !lock_hook(conn, hook).await? {
            return Ok(None);
        }
        let pause = diesel::insert_into(hook_pauses::table)
            .values((
                hook_pauses::hook_group_id.eq(hook_group_id),
                hook_pauses::hook_id.eq(hook_id),
                hook_pauses::reason.eq(reason),
                hook_pauses::paused_by.eq(client_id),
                hook_pauses::since.eq(now),
            ))
            .on_conflict((hook_pauses::hook_group_id, hook_pauses::hook_id))
            .do_update()
            .set((
                hook_pauses::reason.eq(excluded(hook_pauses::reason)),
                hook_pauses::paused_by.eq(excluded(hook_pauses::paused_by)),
            ))
            .returning(Pause::as_returning())
            .get_result(conn)
            .await?;
        audit::record(conn, hook, client_id, "paused").await?;
        Ok(Some(pause))
    })
    .await
}

/// What resuming found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeOutcome {
    /// The hook was paused and now is not.
    Resumed,
    /// The hook was not paused: nothing changed.
    NotPaused,
    /// There is no such hook.
    NoSuchHook,
}

/// Resumes a hook and records who did, in one transaction; resuming a hook that is not paused changes nothing.
#[tracing::instrument(name = "db.resume_hook", skip_all)]
pub async fn resume_hook(
    conn: &mut AsyncPgConnection,
    hook: &HookKey,
    client_id: &str,
) -> Result<ResumeOutcome, StorageError> {
    let (hook_group_id, hook_id) = hook.as_strs();
    conn.transaction::<_, StorageError, _>(async |conn| {
        let n = diesel::delete(hook_pauses::table.find((hook_group_id, hook_id))).execute(conn).await?;
        if n == 1 {
            audit::record(conn, hook, client_id, "resumed").await?;
            return Ok(ResumeOutcome::Resumed);
        }
        let exists = hooks::table
            .find((hook_group_id, hook_id))
            .select(hooks::hook_id)
            .first::<String>(conn)
            .await
            .optional()?;
        Ok(if exists.is_some() { ResumeOutcome::NotPaused } else { ResumeOutcome::NoSuchHook })
    })
    .await
}

/// The hook's pause, if it is paused.
pub async fn find_pause(conn: &mut AsyncPgConnection, hook: &HookKey) -> Result<Option<Pause>, StorageError> {
    let (hook_group_id, hook_id) = hook.as_strs();
    Ok(hook_pauses::table.find((hook_group_id, hook_id)).select(Pause::as_select()).first(conn).await.optional()?)
}

/// Which of `keys` are paused.
pub async fn paused_among(conn: &mut AsyncPgConnection, keys: &[HookKey]) -> Result<Vec<HookKey>, StorageError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let groups: Vec<&str> = keys.iter().map(|k| k.group.as_str()).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    // Matching groups and ids apart may find a pair not asked for; keep only the keys asked for.
    let rows: Vec<(String, String)> = hook_pauses::table
        .filter(hook_pauses::hook_group_id.eq_any(groups))
        .filter(hook_pauses::hook_id.eq_any(ids))
        .select((hook_pauses::hook_group_id, hook_pauses::hook_id))
        .load(conn)
        .await?;
    Ok(keys.iter().filter(|k| rows.iter().any(|(g, h)| k.group.as_str() == g && k.id.as_str() == h)).cloned().collect())
}
