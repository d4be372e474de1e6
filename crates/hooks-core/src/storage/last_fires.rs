//! The `last_fires` table: one row per fire attempt that was not declined. An API call's row is written
//! [`LastFireResult::Pending`] before its task is created and given its outcome after (see [`crate::fire::CallFires`]); pending
//! rows are not listed.

use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use std::borrow::Cow;

use super::StorageError;
use super::schema::last_fires;
use crate::storable::escape_nul;
use crate::{FiredBy, HookKey};

/// What a last-fire row says of its attempt; stored (and listed by the API) as `success`, `error` or `pending`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum LastFireResult {
    /// The task was created.
    Success,
    /// The fire failed for good; the row's `error` says why.
    Error,
    /// The fire's task is being created: written before the task is, so that a task created by a daemon that then
    /// stops is still recorded. Never listed.
    Pending,
}

impl LastFireResult {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Pending => "pending",
        }
    }
}

impl std::fmt::Display for LastFireResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for LastFireResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl ToSql<Text, Pg> for LastFireResult {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
    }
}

impl FromSql<Text, Pg> for LastFireResult {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        match <String as FromSql<Text, Pg>>::from_sql(bytes)?.as_str() {
            "success" => Ok(Self::Success),
            "error" => Ok(Self::Error),
            "pending" => Ok(Self::Pending),
            other => Err(format!("unknown last-fire result {other:?}").into()),
        }
    }
}

impl ToSql<Text, Pg> for FiredBy {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
    }
}

impl FromSql<Text, Pg> for FiredBy {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let name = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        FiredBy::parse(&name).ok_or_else(|| format!("unknown firedBy {name:?}").into())
    }
}

/// The longest error text kept in a last-fire row (128 KiB), as upstream.
pub(super) const MAX_ERROR_BYTES: usize = 128 * 1024;

/// One fire attempt.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = last_fires, check_for_backend(diesel::pg::Pg))]
pub struct LastFire {
    /// The hook's group.
    pub hook_group_id: String,
    /// The hook.
    pub hook_id: String,
    /// How the hook fired.
    pub fired_by: FiredBy,
    /// The task id used (or that would have been).
    pub task_id: String,
    /// When the attempt started.
    pub task_create_time: DateTime<Utc>,
    /// Success or error ([`LastFireResult::Pending`] until an API call's fire has its outcome).
    pub result: LastFireResult,
    /// Empty on success; otherwise what went wrong, at most 128 KiB.
    pub error: String,
}

/// Escapes U+0000 (which PostgreSQL text refuses; error texts may quote payloads) as `\u0000`, then cuts `text`
/// to at most [`MAX_ERROR_BYTES`] bytes, on a character boundary.
pub(crate) fn cap_error(text: String) -> String {
    let mut text = match escape_nul(&text) {
        Cow::Owned(escaped) => escaped,
        Cow::Borrowed(_) => text,
    };
    if text.len() > MAX_ERROR_BYTES {
        let mut end = MAX_ERROR_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// What [`record_last_fire`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The row was written (or an earlier attempt with the same taskId was updated).
    Written,
    /// The hook no longer exists, so there is nothing to record against.
    HookGone,
}

/// Records a fire attempt. A second attempt with the same taskId (a retried slot) updates the first row
/// instead of failing, so a retry that succeeds turns an earlier error into a success; a pending attempt
/// never overwrites an outcome (a call repeating a taskId that already fired).
///
/// A removed hook is found by the insert itself (it inserts nothing), not by a failed foreign key, so recording
/// on a caller's transaction never aborts it; only a removal committed in the instant between the check and the
/// insert still fails the key (reported as [`Recorded::HookGone`], the caller's transaction then being aborted).
#[tracing::instrument(name = "db.record_last_fire", skip_all)]
pub async fn record_last_fire(conn: &mut AsyncPgConnection, fire: &LastFire) -> Result<Recorded, StorageError> {
    use diesel::sql_types::Timestamptz;
    let result = diesel::sql_query(
        "INSERT INTO last_fires (hook_group_id, hook_id, fired_by, task_id, task_create_time, result, error) \
         SELECT $1, $2, $3, $4, $5, $6, $7 \
         WHERE EXISTS (SELECT 1 FROM hooks WHERE hook_group_id = $1 AND hook_id = $2) \
         ON CONFLICT (hook_group_id, hook_id, task_id) DO UPDATE \
         SET fired_by = EXCLUDED.fired_by, result = EXCLUDED.result, error = EXCLUDED.error \
         WHERE EXCLUDED.result <> 'pending' OR last_fires.result = 'pending'",
    )
    .bind::<Text, _>(&fire.hook_group_id)
    .bind::<Text, _>(&fire.hook_id)
    .bind::<Text, _>(&fire.fired_by)
    .bind::<Text, _>(&fire.task_id)
    .bind::<Timestamptz, _>(fire.task_create_time)
    .bind::<Text, _>(&fire.result)
    .bind::<Text, _>(&fire.error)
    .execute(conn)
    .await;
    let recorded = match result {
        Ok(0) => Recorded::HookGone,
        Ok(_) => Recorded::Written,
        // The hook was removed while it fired; its last fires went with it.
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::ForeignKeyViolation, _)) => {
            Recorded::HookGone
        }
        Err(e) => return Err(e.into()),
    };
    log_if_gone(fire, recorded);
    Ok(recorded)
}

fn log_if_gone(fire: &LastFire, recorded: Recorded) {
    // A pending attempt not written may also have met an outcome already recorded under its taskId.
    if recorded == Recorded::HookGone && fire.result != LastFireResult::Pending {
        tracing::info!(
            hook_group_id = %fire.hook_group_id,
            hook_id = %fire.hook_id,
            "hook removed while firing; its last fire is not kept"
        );
    }
}

/// [`record_last_fire`] for many attempts in one statement, answering each in order. Should a hook be removed
/// in the instant between the statement's check and its insert, the foreign key fails the statement and each
/// attempt is recorded on its own instead (on a connection inside a transaction, that failure aborts the
/// transaction and is returned, for the caller to retry).
#[tracing::instrument(name = "db.record_last_fires_of_existing_hooks", skip_all)]
pub async fn record_last_fires_of_existing_hooks(
    conn: &mut AsyncPgConnection,
    fires: &[LastFire],
) -> Result<Vec<Recorded>, StorageError> {
    use diesel::sql_types::{Array, Timestamptz};
    #[derive(QueryableByName, PartialEq, Eq, Hash)]
    struct Key {
        #[diesel(sql_type = Text)]
        hook_group_id: String,
        #[diesel(sql_type = Text)]
        hook_id: String,
        #[diesel(sql_type = Text)]
        task_id: String,
    }
    // One statement may not update a row twice: of attempts sharing a taskId, the last one is written.
    let key = |f: &LastFire| (f.hook_group_id.clone(), f.hook_id.clone(), f.task_id.clone());
    // In key order, the order the rows are then locked in: two batches over the same rows lock them in the same
    // order, so neither waits for the other while holding what the other waits for (a deadlock PostgreSQL breaks
    // by failing one).
    let mut last_of: std::collections::BTreeMap<_, &LastFire> = std::collections::BTreeMap::new();
    for f in fires {
        last_of.insert(key(f), f);
    }
    let unique: Vec<&LastFire> = last_of.into_values().collect();
    let column = |get: fn(&LastFire) -> &str| unique.iter().map(|f| get(f)).collect::<Vec<_>>();
    let written = diesel::sql_query(
        "INSERT INTO last_fires (hook_group_id, hook_id, fired_by, task_id, task_create_time, result, error) \
         SELECT v.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], \
         $7::text[]) AS v(g, h, f, t, c, r, e) \
         WHERE EXISTS (SELECT 1 FROM hooks WHERE hook_group_id = v.g AND hook_id = v.h) \
         ORDER BY v.g, v.h, v.t \
         ON CONFLICT (hook_group_id, hook_id, task_id) DO UPDATE \
         SET fired_by = EXCLUDED.fired_by, result = EXCLUDED.result, error = EXCLUDED.error \
         WHERE EXCLUDED.result <> 'pending' OR last_fires.result = 'pending' \
         RETURNING hook_group_id, hook_id, task_id",
    )
    .bind::<Array<Text>, _>(column(|f| &f.hook_group_id))
    .bind::<Array<Text>, _>(column(|f| &f.hook_id))
    .bind::<Array<Text>, _>(unique.iter().map(|f| f.fired_by.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(column(|f| &f.task_id))
    .bind::<Array<Timestamptz>, _>(unique.iter().map(|f| f.task_create_time).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(unique.iter().map(|f| f.result.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(column(|f| &f.error))
    .load::<Key>(conn)
    .await;
    match written {
        Ok(keys) => {
            let written: std::collections::HashSet<_> =
                keys.into_iter().map(|k| (k.hook_group_id, k.hook_id, k.task_id)).collect();
            let recorded = |f| if written.contains(&key(f)) { Recorded::Written } else { Recorded::HookGone };
            Ok(fires.iter().map(|f| (f, recorded(f))).inspect(|(f, r)| log_if_gone(f, *r)).map(|(_, r)| r).collect())
        }
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::ForeignKeyViolation, _)) => {
            let mut answers = Vec::with_capacity(fires.len());
            for f in fires {
                answers.push(record_last_fire(conn, f).await?);
            }
            Ok(answers)
        }
        Err(e) => Err(e.into()),
    }
}

/// Records many fire attempts in one statement, with the same retry rule as [`record_last_fire`]. The caller
/// must hold the hooks' rows locked (as the scheduler's claim does), so none can disappear meanwhile.
#[tracing::instrument(name = "db.record_last_fires", skip_all)]
pub async fn record_last_fires(conn: &mut AsyncPgConnection, fires: &[LastFire]) -> Result<(), StorageError> {
    if fires.is_empty() {
        return Ok(());
    }
    // In key order, as in `record_last_fires_of_existing_hooks`.
    let mut fires: Vec<&LastFire> = fires.iter().collect();
    fires.sort_by(|a, b| (&a.hook_group_id, &a.hook_id, &a.task_id).cmp(&(&b.hook_group_id, &b.hook_id, &b.task_id)));
    diesel::insert_into(last_fires::table)
        .values(fires)
        .on_conflict((last_fires::hook_group_id, last_fires::hook_id, last_fires::task_id))
        .do_update()
        .set((
            last_fires::fired_by.eq(excluded(last_fires::fired_by)),
            last_fires::result.eq(excluded(last_fires::result)),
            last_fires::error.eq(excluded(last_fires::error)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Where a page of last fires starts: after this fire in newest-first order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    /// The last listed fire's time.
    pub task_create_time: DateTime<Utc>,
    /// The last listed fire's task id (breaks ties between fires at the same time).
    pub task_id: String,
}

/// Up to `limit` last fires of one hook, newest first, starting after `after`.
#[tracing::instrument(name = "db.list_last_fires", skip_all)]
pub async fn list_last_fires(
    conn: &mut AsyncPgConnection,
    hook: &HookKey,
    limit: i64,
    after: Option<&PageCursor>,
) -> Result<Vec<LastFire>, StorageError> {
    let mut query = last_fires::table
        .filter(last_fires::hook_group_id.eq(hook.group.as_str()))
        .filter(last_fires::hook_id.eq(hook.id.as_str()))
        .filter(last_fires::result.ne(LastFireResult::Pending))
        .into_boxed();
    if let Some(c) = after {
        // Keyset pagination on the (time, taskId) index: stable while new fires arrive, and cheap at any depth.
        query = query.filter(
            last_fires::task_create_time
                .lt(c.task_create_time)
                .or(last_fires::task_create_time.eq(c.task_create_time).and(last_fires::task_id.lt(&c.task_id))),
        );
    }
    Ok(query
        .order((last_fires::task_create_time.desc(), last_fires::task_id.desc()))
        .limit(limit)
        .select(LastFire::as_select())
        .load(conn)
        .await?)
}

/// Up to `limit` pending fires (any hook) that started before `before`, oldest first: fires whose daemon
/// stopped between creating their task and recording its outcome.
#[tracing::instrument(name = "db.pending_fires_before", skip_all)]
pub(crate) async fn pending_fires_before(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<LastFire>, StorageError> {
    Ok(last_fires::table
        .filter(last_fires::result.eq(LastFireResult::Pending))
        .filter(last_fires::task_create_time.lt(before))
        .order(last_fires::task_create_time.asc())
        .limit(limit)
        .select(LastFire::as_select())
        .load(conn)
        .await?)
}

/// Gives a pending fire its outcome (`fire.result` and `fire.error`), unless it has one already; returns
/// whether it was still pending.
#[tracing::instrument(name = "db.settle_pending_fire", skip_all)]
pub(crate) async fn settle_pending_fire(conn: &mut AsyncPgConnection, fire: &LastFire) -> Result<bool, StorageError> {
    let key = last_fires::table.find((&fire.hook_group_id, &fire.hook_id, &fire.task_id));
    let updated = diesel::update(key.filter(last_fires::result.eq(LastFireResult::Pending)))
        .set((last_fires::result.eq(&fire.result), last_fires::error.eq(&fire.error)))
        .execute(conn)
        .await?;
    Ok(updated > 0)
}

/// Deletes at most `limit` last fires older than `before` (any hook), returning how many. Each call is one short
/// statement, so expiry never holds many locks for long; rows another caller is deleting are skipped (SKIP
/// LOCKED), so schedulers expiring at the same time don't wait on each other. Audit history is not touched.
#[tracing::instrument(name = "db.expire_last_fires", skip_all)]
pub async fn expire_last_fires(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<usize, StorageError> {
    use diesel::sql_types::{BigInt, Timestamptz};
    // By primary key, through the task_create_time index; locks only the rows it deletes.
    Ok(diesel::sql_query(
        "DELETE FROM last_fires WHERE (hook_group_id, hook_id, task_id) IN ( \
            SELECT hook_group_id, hook_id, task_id FROM last_fires WHERE task_create_time < $1 \
            LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(before)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_error_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(cap_error("short".into()), "short");
        let long = "é".repeat(MAX_ERROR_BYTES);
        let capped = cap_error(long);
        assert!(capped.len() <= MAX_ERROR_BYTES);
        assert!(capped.len() >= MAX_ERROR_BYTES - 1);
    }

    #[test]
    fn cap_error_escapes_nul_so_postgres_can_store_it() {
        assert_eq!(
            cap_error("String 'a\u{0}b' isn't a time expression".into()),
            "String 'a\\u0000b' isn't a time expression"
        );
        assert!(cap_error("\u{0}".repeat(MAX_ERROR_BYTES)).len() <= MAX_ERROR_BYTES);
    }
}
