//! The `audit_history` table: who changed which hook, how, and when.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::StorageError;
use super::schema::audit_history;
use crate::HookKey;

/// One audit entry.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_history, check_for_backend(diesel::pg::Pg))]
pub struct AuditEntry {
    /// The hook's group.
    pub hook_group_id: String,
    /// The hook.
    pub hook_id: String,
    /// Who made the change.
    pub client_id: String,
    /// `created`, `updated`, `deleted`, `trigger-token-reset`, `paused`, `resumed`.
    pub action: String,
    /// When.
    pub created: DateTime<Utc>,
}

/// Records that `client_id` did `action` to the hook.
pub(super) async fn record(
    conn: &mut AsyncPgConnection,
    hook: &HookKey,
    client_id: &str,
    action: &str,
) -> Result<(), StorageError> {
    diesel::insert_into(audit_history::table)
        .values((
            audit_history::hook_group_id.eq(hook.group.as_str()),
            audit_history::hook_id.eq(hook.id.as_str()),
            audit_history::client_id.eq(client_id),
            audit_history::action.eq(action),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The audit entries of one hook, oldest first.
pub async fn audit_history(conn: &mut AsyncPgConnection, hook: &HookKey) -> Result<Vec<AuditEntry>, StorageError> {
    Ok(audit_history::table
        .filter(audit_history::hook_group_id.eq(hook.group.as_str()))
        .filter(audit_history::hook_id.eq(hook.id.as_str()))
        .order(audit_history::id.asc())
        .select(AuditEntry::as_select())
        .load(conn)
        .await?)
}
