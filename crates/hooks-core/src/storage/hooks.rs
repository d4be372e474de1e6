//! The `hooks` table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use futures::future::BoxFuture;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

use super::batch::Batcher;
use super::pauses::Pause;
use super::schema::hooks;
use super::webhooks::{WebhookRow, find_webhook_rows};
use super::{Pool, StorageError, audit};
use crate::cron::Schedule;
use crate::crypto::Keyring;
use crate::hook::{Binding, Hook, HookDefinition, HookMetadata, parse_zone};
use crate::slot::{CatchUpInput, HookCatchUp};
use crate::trigger_schema::TriggerSchema;
use crate::webhook::Webhook;
use crate::{HookGroupId, HookId, HookKey, SecretString};

/// A row of `hooks` as stored.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = hooks, check_for_backend(diesel::pg::Pg))]
pub struct HookRow {
    /// The group.
    pub hook_group_id: String,
    /// The hook.
    pub hook_id: String,
    /// `HookMetadata` as JSON.
    pub metadata: Value,
    /// The JSON-e template.
    pub task: Value,
    /// `[Binding]` as JSON.
    pub bindings: Value,
    /// `[String]` as JSON.
    pub schedule: Value,
    /// The trigger schema.
    pub trigger_schema: Value,
    /// The sealed trigger token.
    pub encrypted_trigger_token: Vec<u8>,
    /// The sealed per-hook schedule secret.
    pub encrypted_schedule_secret: Vec<u8>,
    /// The next slot to fire.
    pub next_scheduled_date: Option<DateTime<Utc>>,
    /// Not before this time, after a transient failure of the slot.
    pub schedule_retry_at: Option<DateTime<Utc>>,
    /// How many attempts at the current slot failed transiently.
    pub schedule_failures: i32,
    /// When the hook was created.
    pub created: DateTime<Utc>,
    /// When the hook was last changed.
    pub updated: DateTime<Utc>,
    /// When its owner was last emailed about a failed scheduled fire.
    pub failure_emailed_at: Option<DateTime<Utc>>,
    /// Permanent failures of scheduled fires since that email.
    pub failures_not_emailed: i32,
    /// The IANA zone the schedule is read in; NULL: UTC.
    pub time_zone: Option<String>,
    /// The hook's own catch-up policy; NULL: the scheduler's.
    pub catch_up_policy: Option<String>,
    /// With policy `all`: the window as written.
    pub catch_up_window: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = hooks)]
struct NewHook<'a> {
    hook_group_id: &'a str,
    hook_id: &'a str,
    metadata: Value,
    task: Value,
    bindings: Value,
    schedule: Value,
    trigger_schema: &'a Value,
    encrypted_trigger_token: Vec<u8>,
    encrypted_schedule_secret: Vec<u8>,
    next_scheduled_date: Option<DateTime<Utc>>,
    time_zone: Option<&'a str>,
    catch_up_policy: Option<String>,
    catch_up_window: Option<String>,
}

/// Locks the hook's row for the rest of the transaction, so a concurrent delete cannot slip between a check that it
/// exists and a write of something that goes with it; `false` when there is no such hook.
pub(super) async fn lock_hook(conn: &mut AsyncPgConnection, hook: &HookKey) -> Result<bool, StorageError> {
    let found = hooks::table.find(hook.as_strs()).select(hooks::hook_id).for_update().first::<String>(conn).await;
    Ok(found.optional()?.is_some())
}

/// The associated data a hook's trigger token is sealed under.
pub(super) fn trigger_token_context(g: &str, h: &str) -> String {
    format!("trigger-token:{g}/{h}")
}

/// The associated data a hook's schedule secret is sealed under.
pub(super) fn schedule_secret_context(g: &str, h: &str) -> String {
    format!("schedule-secret:{g}/{h}")
}

impl HookRow {
    /// Turns the row back into a [`Hook`], opening its trigger token.
    pub fn into_hook(self, keyring: &Keyring) -> Result<Hook, StorageError> {
        let what = format!("hook {}/{}", self.hook_group_id, self.hook_id);
        let corrupt = |problem: String| StorageError::Corrupt { what: what.clone(), problem };
        let hook_group_id = HookGroupId::parse(&self.hook_group_id).map_err(|e| corrupt(e.to_string()))?;
        let hook_id = HookId::parse(&self.hook_id).map_err(|e| corrupt(e.to_string()))?;
        let metadata: HookMetadata =
            serde_json::from_value(self.metadata).map_err(|e| corrupt(format!("metadata: {e}")))?;
        let bindings: Vec<Binding> =
            serde_json::from_value(self.bindings).map_err(|e| corrupt(format!("bindings: {e}")))?;
        let patterns: Vec<String> =
            serde_json::from_value(self.schedule).map_err(|e| corrupt(format!("schedule: {e}")))?;
        let zone = parse_zone(self.time_zone.as_deref()).map_err(|e| corrupt(e.to_string()))?;
        let schedule = Schedule::parse(&patterns).map_err(|e| corrupt(e.to_string()))?.in_zone(zone);
        let catch_up = self
            .catch_up_policy
            .map(|policy| HookCatchUp::parse(&CatchUpInput { policy, window: self.catch_up_window }))
            .transpose()
            .map_err(|e| corrupt(e.within("catchUp").to_string()))?;
        let Value::Object(task) = self.task else {
            return Err(corrupt("task is not an object".into()));
        };
        let trigger_schema = TriggerSchema::parse(self.trigger_schema).map_err(|e| corrupt(e.to_string()))?;
        let trigger_token = keyring
            .open_secret(
                &trigger_token_context(hook_group_id.as_str(), hook_id.as_str()),
                &self.encrypted_trigger_token,
            )
            .map_err(|e| corrupt(format!("trigger token: {e}")))?;
        let schedule_secret = keyring
            .open(&schedule_secret_context(hook_group_id.as_str(), hook_id.as_str()), &self.encrypted_schedule_secret)
            .map(crate::slot::ScheduleSecret::new)
            .map_err(|e| corrupt(format!("schedule secret: {e}")))?;
        Ok(Hook {
            definition: HookDefinition {
                hook_group_id,
                hook_id,
                metadata,
                bindings,
                schedule,
                catch_up,
                task,
                trigger_schema,
            },
            trigger_token,
            schedule_secret,
            next_scheduled_date: self.next_scheduled_date,
            schedule_failures: self.schedule_failures,
            failure_emailed_at: self.failure_emailed_at,
            failures_not_emailed: self.failures_not_emailed,
        })
    }
}

/// What [`create_hook`] did.
#[derive(Debug)]
pub enum CreateOutcome {
    /// The hook was stored.
    Created(Hook),
    /// A hook with these ids already exists; here it is, unchanged.
    Exists(Hook),
}

/// Stores a new hook with a fresh trigger token and schedule secret, and records who created it, in one
/// transaction. When the ids are taken, nothing is written and the existing hook is returned.
#[tracing::instrument(name = "db.create_hook", skip_all)]
pub async fn create_hook(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    def: &HookDefinition,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<CreateOutcome, StorageError> {
    let (g, h) = (def.hook_group_id.as_str(), def.hook_id.as_str());
    let trigger_token = SecretString::new(slugid::nice());
    let mut schedule_secret = [0u8; 32];
    let sealing =
        |e: crate::crypto::CryptoError| StorageError::Corrupt { what: format!("hook {g}/{h}"), problem: e.to_string() };
    keyring.random_bytes(&mut schedule_secret).map_err(sealing)?;
    let (catch_up_policy, catch_up_window) = catch_up_columns(def);
    let row = NewHook {
        hook_group_id: g,
        hook_id: h,
        metadata: to_json(&def.metadata)?,
        task: Value::Object(def.task.clone()),
        bindings: to_json(&def.bindings)?,
        schedule: to_json(&def.schedule.to_strings())?,
        trigger_schema: def.trigger_schema.as_value(),
        encrypted_trigger_token: keyring.seal_secret(&trigger_token_context(g, h), &trigger_token).map_err(sealing)?,
        encrypted_schedule_secret: keyring.seal(&schedule_secret_context(g, h), &schedule_secret).map_err(sealing)?,
        next_scheduled_date: def.schedule.next_after(now),
        time_zone: def.schedule.zone().map(|z| z.name()),
        catch_up_policy,
        catch_up_window,
    };
    let inserted = conn
        .transaction::<_, StorageError, _>(async |conn| {
            let n = diesel::insert_into(hooks::table).values(&row).on_conflict_do_nothing().execute(conn).await?;
            if n == 1 {
                audit::record(conn, &def.key(), client_id, "created").await?;
            }
            Ok(n == 1)
        })
        .await?;
    let hook = find_hook(conn, keyring, &def.key()).await?.ok_or_else(|| StorageError::Corrupt {
        what: format!("hook {g}/{h}"),
        problem: "removed while it was being created".into(),
    })?;
    Ok(if inserted { CreateOutcome::Created(hook) } else { CreateOutcome::Exists(hook) })
}

/// Loads one hook.
#[tracing::instrument(name = "db.find_hook", skip_all)]
pub async fn find_hook(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    hook: &HookKey,
) -> Result<Option<Hook>, StorageError> {
    let row = hooks::table.find(hook.as_strs()).select(HookRow::as_select()).first(conn).await.optional()?;
    row.map(|r| r.into_hook(keyring)).transpose()
}

/// The rows of many hooks in one query, answering each key in order (`None`: no such hook).
#[tracing::instrument(name = "db.find_hook_rows", skip_all)]
pub async fn find_hook_rows(
    conn: &mut AsyncPgConnection,
    keys: &[HookKey],
) -> Result<Vec<Option<HookRow>>, StorageError> {
    use diesel::sql_types::{Array, Text};
    let groups: Vec<&str> = keys.iter().map(|k| k.group.as_str()).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    let rows: Vec<HookRow> = diesel::sql_query(
        "SELECT hooks.* FROM hooks JOIN (SELECT DISTINCT g, h FROM unnest($1::text[], $2::text[]) AS k(g, h)) AS k \
         ON hooks.hook_group_id = k.g AND hooks.hook_id = k.h",
    )
    .bind::<Array<Text>, _>(groups)
    .bind::<Array<Text>, _>(ids)
    .load(conn)
    .await?;
    let found = rows.into_iter().map(|r| (HookKey::from_stored(r.hook_group_id.clone(), r.hook_id.clone()), r));
    Ok(in_order_of(keys, found.collect()))
}

/// The rows `found` for each of `keys`, in order: a key asked twice gets its row twice (cloned for all but its last
/// asker).
pub(super) fn in_order_of<R: Clone>(keys: &[HookKey], mut found: HashMap<HookKey, R>) -> Vec<Option<R>> {
    let mut answers: Vec<Option<R>> = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let asked_again = keys[i + 1..].contains(key);
        answers.push(if asked_again { found.get(key).cloned() } else { found.remove(key) });
    }
    answers
}

/// Finds hooks for many concurrent callers (API requests), one query serving whoever is waiting: under load a
/// round trip serves many requests, alone a request waits for no one. Each read starts after its caller asked,
/// so it sees every change committed before.
#[derive(Clone)]
pub struct HookFinder {
    rows: Batcher<HookKey, Option<HookRow>>,
    webhooks: Batcher<HookKey, Option<WebhookRow>>,
    keyring: Arc<Keyring>,
}

/// The most hooks one query reads.
const MAX_FIND_BATCH: usize = 128;

impl HookFinder {
    /// A finder reading through `pool`; its reader runs on the current Tokio runtime.
    pub fn new(pool: Pool, keyring: Arc<Keyring>) -> Self {
        let webhooks = Batcher::spawn(pool.clone(), MAX_FIND_BATCH, read_webhook_rows);
        Self { rows: Batcher::spawn(pool, MAX_FIND_BATCH, read_rows), webhooks, keyring }
    }

    /// The hook, or `None` when there is no such hook.
    pub async fn find(&self, hook: &HookKey) -> Result<Option<Hook>, StorageError> {
        let row = self.rows.submit(hook.clone()).await?;
        row.map(|r| r.into_hook(&self.keyring)).transpose()
    }

    /// The hook's webhook and the hook's pause (a delivery needs both), or `None` when it has no webhook.
    pub async fn find_webhook(&self, hook: &HookKey) -> Result<Option<(Webhook, Option<Pause>)>, StorageError> {
        let row = self.webhooks.submit(hook.clone()).await?;
        row.map(|r| r.open(&self.keyring)).transpose()
    }
}

fn read_webhook_rows<'c>(
    conn: &'c mut AsyncPgConnection,
    keys: &'c [HookKey],
) -> BoxFuture<'c, Result<Vec<Option<WebhookRow>>, StorageError>> {
    Box::pin(find_webhook_rows(conn, keys))
}

fn read_rows<'c>(
    conn: &'c mut AsyncPgConnection,
    keys: &'c [HookKey],
) -> BoxFuture<'c, Result<Vec<Option<HookRow>>, StorageError>> {
    Box::pin(find_hook_rows(conn, keys))
}

/// Replaces a hook's definition (metadata, task, bindings, schedule, trigger schema), moves it to the first slot
/// of its schedule after `now`, and records who did it, in one transaction. Secrets are kept. Returns whether the
/// hook existed.
#[tracing::instrument(name = "db.update_hook_definition", skip_all)]
pub async fn update_hook_definition(
    conn: &mut AsyncPgConnection,
    def: &HookDefinition,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let (g, h) = (def.hook_group_id.as_str(), def.hook_id.as_str());
    let (metadata, bindings, schedule) =
        (to_json(&def.metadata)?, to_json(&def.bindings)?, to_json(&def.schedule.to_strings())?);
    let (catch_up_policy, catch_up_window) = catch_up_columns(def);
    conn.transaction::<_, StorageError, _>(async |conn| {
        // Waits for the row lock of a scheduler batch holding this hook (it may have claimed the hook ahead of its
        // slot), and only then reads the clock: the new schedule starts after the slot that batch fired, never at it
        // again.
        let found: Option<String> =
            hooks::table.find((g, h)).select(hooks::hook_id).for_no_key_update().first(conn).await.optional()?;
        if found.is_none() {
            return Ok(false);
        }
        let settled = now.max(Utc::now());
        diesel::update(hooks::table.find((g, h)))
            .set((
                hooks::metadata.eq(metadata),
                hooks::task.eq(Value::Object(def.task.clone())),
                hooks::bindings.eq(bindings),
                hooks::schedule.eq(schedule),
                hooks::trigger_schema.eq(def.trigger_schema.as_value()),
                // Not given on update means not set, as for `schedule`.
                hooks::time_zone.eq(def.schedule.zone().map(|z| z.name())),
                hooks::catch_up_policy.eq(catch_up_policy),
                hooks::catch_up_window.eq(catch_up_window),
                hooks::next_scheduled_date.eq(def.schedule.next_after(settled)),
                hooks::schedule_retry_at.eq(None::<DateTime<Utc>>),
                hooks::schedule_failures.eq(0),
                hooks::updated.eq(now),
            ))
            .execute(conn)
            .await?;
        audit::record(conn, &def.key(), client_id, "updated").await?;
        Ok(true)
    })
    .await
}

/// Deletes a hook (its last fires go with it) and records who did, in one transaction. Returns whether it existed.
#[tracing::instrument(name = "db.delete_hook", skip_all)]
pub async fn delete_hook(conn: &mut AsyncPgConnection, hook: &HookKey, client_id: &str) -> Result<bool, StorageError> {
    let (hook_group_id, hook_id) = hook.as_strs();
    conn.transaction::<_, StorageError, _>(async |conn| {
        let n = diesel::delete(hooks::table.find((hook_group_id, hook_id))).execute(conn).await?;
        if n == 1 {
            audit::record(conn, hook, client_id, "deleted").await?;
        }
        Ok(n == 1)
    })
    .await
}

/// A hook's catch-up policy as its two columns, policy and window (both `None` when the hook has none).
fn catch_up_columns(def: &HookDefinition) -> (Option<String>, Option<String>) {
    match def.catch_up.as_ref().map(HookCatchUp::to_input) {
        Some(CatchUpInput { policy, window }) => (Some(policy), window),
        None => (None, None),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, StorageError> {
    serde_json::to_value(v).map_err(|e| StorageError::Corrupt { what: "a hook field".into(), problem: e.to_string() })
}

/// Claims up to `limit` hooks whose slot (and retry time, after a transient failure) is due at `now`, earliest
/// first. Locks the rows (`FOR NO KEY UPDATE SKIP LOCKED`) until the caller's transaction ends: other scheduler
/// replicas skip them, and an update or removal of the hook waits until the slot is settled. The lock leaves the
/// key alone, so a last fire recorded meanwhile by a trigger or a Pulse message (whose foreign-key check takes a
/// key-share lock) does not wait for the batch.
#[tracing::instrument(name = "db.claim_due_hooks", skip_all)]
pub async fn claim_due_hooks(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<HookRow>, StorageError> {
    Ok(hooks::table
        .filter(hooks::next_scheduled_date.le(now))
        .filter(hooks::schedule_retry_at.is_null().or(hooks::schedule_retry_at.le(now)))
        .order(hooks::next_scheduled_date.asc())
        .limit(limit)
        .select(HookRow::as_select())
        .for_no_key_update()
        .skip_locked()
        .load(conn)
        .await?)
}

/// Moves many hooks to their next slots in one statement (`None`: no more slots), clearing their retry state.
#[tracing::instrument(name = "db.advance_slots", skip_all)]
pub async fn advance_slots(
    conn: &mut AsyncPgConnection,
    moves: &[(HookKey, Option<DateTime<Utc>>)],
) -> Result<(), StorageError> {
    use diesel::sql_types::{Array, Nullable, Text, Timestamptz};
    if moves.is_empty() {
        return Ok(());
    }
    let groups: Vec<&str> = moves.iter().map(|m| m.0.group.as_str()).collect();
    let ids: Vec<&str> = moves.iter().map(|m| m.0.id.as_str()).collect();
    let next: Vec<Option<DateTime<Utc>>> = moves.iter().map(|m| m.1).collect();
    diesel::sql_query(
        "UPDATE hooks SET next_scheduled_date = v.next, schedule_retry_at = NULL, schedule_failures = 0 \
         FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS v(g, h, next) \
         WHERE hooks.hook_group_id = v.g AND hooks.hook_id = v.h",
    )
    .bind::<Array<Text>, _>(groups)
    .bind::<Array<Text>, _>(ids)
    .bind::<Array<Nullable<Timestamptz>>, _>(next)
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps a hook on its current slot and tries it again at `at`, after `failures` transient failures.
#[tracing::instrument(name = "db.retry_slot_at", skip_all)]
pub async fn retry_slot_at(
    conn: &mut AsyncPgConnection,
    hook: &HookKey,
    at: DateTime<Utc>,
    failures: i32,
) -> Result<(), StorageError> {
    diesel::update(hooks::table.find(hook.as_strs()))
        .set((hooks::schedule_retry_at.eq(Some(at)), hooks::schedule_failures.eq(failures)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Notes a permanent failure of a hook's scheduled fire for the owner's failure emails: `emailed` when an email
/// went out now (the count starts again), else one more failure not yet told.
#[tracing::instrument(name = "db.note_schedule_failure", skip_all)]
pub async fn note_schedule_failure(
    conn: &mut AsyncPgConnection,
    hook: &HookKey,
    emailed: Option<DateTime<Utc>>,
) -> Result<(), StorageError> {
    let hook = hooks::table.find(hook.as_strs());
    match emailed {
        Some(at) => {
            diesel::update(hook)
                .set((hooks::failure_emailed_at.eq(Some(at)), hooks::failures_not_emailed.eq(0)))
                .execute(conn)
                .await?
        }
        None => {
            diesel::update(hook)
                .set(hooks::failures_not_emailed.eq(hooks::failures_not_emailed + 1))
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

/// The earliest time any hook is due to fire (its slot, or its retry time when later).
#[tracing::instrument(name = "db.earliest_due", skip_all)]
pub async fn earliest_due(conn: &mut AsyncPgConnection) -> Result<Option<DateTime<Utc>>, StorageError> {
    #[derive(QueryableByName)]
    struct Due {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
        due: Option<DateTime<Utc>>,
    }
    let due: Due = diesel::sql_query(
        "SELECT min(GREATEST(next_scheduled_date, COALESCE(schedule_retry_at, next_scheduled_date))) AS due \
         FROM hooks WHERE next_scheduled_date IS NOT NULL",
    )
    .get_result(conn)
    .await?;
    Ok(due.due)
}

/// The ids of all hook groups, sorted.
#[tracing::instrument(name = "db.list_hook_groups", skip_all)]
pub async fn list_hook_groups(conn: &mut AsyncPgConnection) -> Result<Vec<String>, StorageError> {
    Ok(hooks::table.select(hooks::hook_group_id).distinct().order(hooks::hook_group_id.asc()).load(conn).await?)
}

/// The hooks of one group, sorted by id.
#[tracing::instrument(name = "db.list_hooks", skip_all)]
pub async fn list_hooks(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    hook_group_id: &str,
) -> Result<Vec<Hook>, StorageError> {
    let rows: Vec<HookRow> = hooks::table
        .filter(hooks::hook_group_id.eq(hook_group_id))
        .order(hooks::hook_id.asc())
        .select(HookRow::as_select())
        .load(conn)
        .await?;
    rows.into_iter().map(|r| r.into_hook(keyring)).collect()
}

/// Replaces a hook's definition, recomputes its next slot from `now` and records who did it, in one transaction.
/// The trigger token and schedule secret are kept. Returns `None` when there is no such hook.
#[tracing::instrument(name = "db.update_hook", skip_all)]
pub async fn update_hook(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    def: &HookDefinition,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Hook>, StorageError> {
    if !update_hook_definition(conn, def, client_id, now).await? {
        return Ok(None);
    }
    find_hook(conn, keyring, &def.key()).await
}

/// Gives a hook a new trigger token (the old one stops working at once) and records who did it. Returns the new
/// token, or `None` when there is no such hook.
#[tracing::instrument(name = "db.reset_trigger_token", skip_all)]
pub async fn reset_trigger_token(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    hook: &HookKey,
    client_id: &str,
) -> Result<Option<SecretString>, StorageError> {
    let token = SecretString::new(slugid::nice());
    let found = set_trigger_token(conn, keyring, hook, &token, client_id).await?;
    Ok(found.then_some(token))
}

/// Sets a hook's trigger token to `token` (for a hook copied from another deployment, whose webhooks must keep
/// working) and records who did it. Returns whether the hook exists.
#[tracing::instrument(name = "db.set_trigger_token", skip_all)]
pub async fn set_trigger_token(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    hook: &HookKey,
    token: &SecretString,
    client_id: &str,
) -> Result<bool, StorageError> {
    let (hook_group_id, hook_id) = hook.as_strs();
    let sealed = keyring
        .seal_secret(&trigger_token_context(hook_group_id, hook_id), token)
        .map_err(|e| StorageError::Corrupt { what: format!("hook {hook}"), problem: e.to_string() })?;
    conn.transaction::<_, StorageError, _>(async |conn| {
        let n = diesel::update(hooks::table.find((hook_group_id, hook_id)))
            .set(hooks::encrypted_trigger_token.eq(&sealed))
            .execute(conn)
            .await?;
        if n == 1 {
            audit::record(conn, hook, client_id, "trigger-token-reset").await?;
        }
        Ok(n == 1)
    })
    .await
}
