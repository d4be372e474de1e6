//! The `fire_log` table: what became of every event that reached a hook, including those that created no task
//! (a declined render, a payload the triggerSchema refused, a skipped slot, a dead-lettered message), which
//! `last_fires` does not keep. Each daemon writes its events where it writes its last fires, in the same
//! transaction or batch; they expire with them.

use std::fmt;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Map, Value};

use super::StorageError;
use super::last_fires::cap_error;
use super::schema::fire_log;
use crate::{FiredBy, HookKey};

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventOutcome {
    /// A task was created.
    Created,
    /// The template rendered to nothing: no task.
    Declined,
    /// The template could not be rendered.
    RenderError,
    /// The payload did not match the hook's triggerSchema.
    PayloadRejected,
    /// The queue did not create the task.
    CreateFailed,
    /// A cron slot was not fired (missed while no scheduler ran, or failing past the retry window).
    SkippedSlot,
    /// A Pulse message was sent to the dead-letter queue.
    DeadLettered,
}

impl EventOutcome {
    const ALL: [EventOutcome; 7] = [
        Self::Created,
        Self::Declined,
        Self::RenderError,
        Self::PayloadRejected,
        Self::CreateFailed,
        Self::SkippedSlot,
        Self::DeadLettered,
    ];

    /// The name in the API and the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Declined => "declined",
            Self::RenderError => "render-error",
            Self::PayloadRejected => "payload-rejected",
            Self::CreateFailed => "create-failed",
            Self::SkippedSlot => "skipped-slot",
            Self::DeadLettered => "dead-lettered",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for EventOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event of a hook's fire log.
#[derive(Debug, Clone, PartialEq)]
pub struct FireEvent {
    /// The hook's group.
    pub hook_group_id: String,
    /// The hook.
    pub hook_id: String,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// What kind of event it was.
    pub fired_by: FiredBy,
    /// What became of it.
    pub outcome: EventOutcome,
    /// The task created, or that would have been (absent when no task was attempted).
    pub task_id: Option<String>,
    /// What went wrong, at most [`super::last_fires::MAX_ERROR_BYTES`]; never the payload.
    pub error: Option<String>,
    /// Which event it was: `slot`; `exchange`, `routingKey`, `messageId`; `deliveryId`; `clientId`.
    pub source: Map<String, Value>,
}

impl FireEvent {
    /// An event that never reached the renderer, so no task was attempted (a payload the triggerSchema refused,
    /// a message that could not be handled), happening now.
    pub fn without_task(
        hook: &HookKey,
        fired_by: FiredBy,
        outcome: EventOutcome,
        error: impl Into<String>,
        source: Map<String, Value>,
    ) -> Self {
        Self {
            hook_group_id: hook.group.to_string(),
            hook_id: hook.id.to_string(),
            time: crate::time::now_millis(),
            fired_by,
            outcome,
            task_id: None,
            error: Some(cap_error(error.into())),
            source,
        }
    }

    /// The same event with another outcome and error (a failed fire the daemon then gives up on).
    pub fn with_outcome(mut self, outcome: EventOutcome, error: impl Into<String>) -> Self {
        self.outcome = outcome;
        self.error = Some(cap_error(error.into()));
        self
    }

    // The same event written twice is kept once: a fire's outcome is one event per taskId.
    fn event_key(&self) -> Option<String> {
        self.task_id.as_ref().map(|t| format!("{}:{t}", self.outcome))
    }
}

/// Writes events of hooks that still exist (those of a removed hook are dropped, as its log went with it), in
/// one statement; an event already written (same hook, outcome and taskId) is kept as it was. Rows are inserted
/// in key order, so two batches over the same keys never deadlock.
#[tracing::instrument(name = "db.record_fire_events", skip_all)]
pub async fn record_fire_events(conn: &mut AsyncPgConnection, events: &[FireEvent]) -> Result<(), StorageError> {
    use diesel::sql_types::{Array, Jsonb, Nullable, Text, Timestamptz};
    if events.is_empty() {
        return Ok(());
    }
    let mut events: Vec<(&FireEvent, Option<String>)> = events.iter().map(|e| (e, e.event_key())).collect();
    events.sort_by(|(a, ak), (b, bk)| (&a.hook_group_id, &a.hook_id, ak).cmp(&(&b.hook_group_id, &b.hook_id, bk)));
    let text = |get: fn(&FireEvent) -> &str| events.iter().map(|(e, _)| get(e)).collect::<Vec<_>>();
    let optional = |get: fn(&FireEvent) -> Option<&str>| events.iter().map(|(e, _)| get(e)).collect::<Vec<_>>();
    diesel::sql_query(
        "INSERT INTO fire_log (hook_group_id, hook_id, time, fired_by, outcome, task_id, error, source, event_key) \
         SELECT v.g, v.h, v.t, v.f, v.o, v.task, v.e, v.s, v.k FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], \
         $7::text[], $8::jsonb[], $9::text[]) WITH ORDINALITY AS v(g, h, t, f, o, task, e, s, k, n) \
         WHERE EXISTS (SELECT 1 FROM hooks WHERE hook_group_id = v.g AND hook_id = v.h) \
         ORDER BY v.n \
         ON CONFLICT (hook_group_id, hook_id, event_key) DO NOTHING",
    )
    .bind::<Array<Text>, _>(text(|e| &e.hook_group_id))
    .bind::<Array<Text>, _>(text(|e| &e.hook_id))
    .bind::<Array<Timestamptz>, _>(events.iter().map(|(e, _)| e.time).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(text(|e| e.fired_by.as_str()))
    .bind::<Array<Text>, _>(text(|e| e.outcome.as_str()))
    .bind::<Array<Nullable<Text>>, _>(optional(|e| e.task_id.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(optional(|e| e.error.as_deref()))
    // jsonb refuses U+0000, which a Pulse routing key can hold: escaped, so the event is kept rather than failing
    // the whole batch.
    .bind::<Array<Jsonb>, _>(
        events.iter().map(|(e, _)| Value::Object(crate::storable::escape_nul_in(&e.source))).collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(events.iter().map(|(_, k)| k.as_deref()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Where a page of the fire log starts: after this event in newest-first order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogCursor {
    /// The last listed event's time.
    pub time: DateTime<Utc>,
    /// The last listed event's id (breaks ties between events at the same time).
    pub id: i64,
}

/// An event as listed, with its place for the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    /// Where the next page starts if this is the last one listed.
    pub cursor: LogCursor,
    /// The event.
    pub event: FireEvent,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = fire_log, check_for_backend(diesel::pg::Pg))]
struct Row {
    id: i64,
    hook_group_id: String,
    hook_id: String,
    time: DateTime<Utc>,
    fired_by: String,
    outcome: String,
    task_id: Option<String>,
    error: Option<String>,
    source: Value,
}

/// Up to `limit` events of one hook, newest first, starting after `after`.
#[tracing::instrument(name = "db.list_fire_log", skip_all)]
pub async fn list_fire_log(
    conn: &mut AsyncPgConnection,
    hook: &HookKey,
    limit: i64,
    after: Option<LogCursor>,
) -> Result<Vec<LoggedEvent>, StorageError> {
    let mut query = fire_log::table
        .filter(fire_log::hook_group_id.eq(hook.group.as_str()))
        .filter(fire_log::hook_id.eq(hook.id.as_str()))
        .into_boxed();
    if let Some(c) = after {
        // Keyset pagination on the (time, id) index: stable while new events arrive, and cheap at any depth.
        query = query.filter(fire_log::time.lt(c.time).or(fire_log::time.eq(c.time).and(fire_log::id.lt(c.id))));
    }
    let rows: Vec<Row> = query
        .order((fire_log::time.desc(), fire_log::id.desc()))
        .limit(limit)
        .select(Row::as_select())
        .load(conn)
        .await?;
    rows.into_iter().map(into_logged).collect()
}

fn into_logged(row: Row) -> Result<LoggedEvent, StorageError> {
    let corrupt = |problem: String| StorageError::Corrupt { what: format!("fire log event {}", row.id), problem };
    let fired_by =
        FiredBy::parse(&row.fired_by).ok_or_else(|| corrupt(format!("unknown firedBy {:?}", row.fired_by)))?;
    let outcome =
        EventOutcome::parse(&row.outcome).ok_or_else(|| corrupt(format!("unknown outcome {:?}", row.outcome)))?;
    let Value::Object(source) = row.source else { return Err(corrupt("source is not an object".into())) };
    Ok(LoggedEvent {
        cursor: LogCursor { time: row.time, id: row.id },
        event: FireEvent {
            hook_group_id: row.hook_group_id,
            hook_id: row.hook_id,
            time: row.time,
            fired_by,
            outcome,
            task_id: row.task_id,
            error: row.error,
            source,
        },
    })
}

/// Deletes at most `limit` events older than `before` (any hook), returning how many; like
/// [`super::last_fires::expire_last_fires`], one short statement that skips rows another caller is deleting.
#[tracing::instrument(name = "db.expire_fire_log", skip_all)]
pub async fn expire_fire_log(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<usize, StorageError> {
    use diesel::sql_types::{BigInt, Timestamptz};
    Ok(diesel::sql_query(
        "DELETE FROM fire_log WHERE id IN ( \
            SELECT id FROM fire_log WHERE time < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
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
    fn outcomes_round_trip_through_their_names() {
        for outcome in EventOutcome::ALL {
            assert_eq!(EventOutcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(EventOutcome::parse("success"), None);
    }
}
