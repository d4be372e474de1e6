//! Recording the fires of API calls (`triggerHook`, `triggerHookWithToken`). A call has no row of its own to
//! claim, as a slot or a message has, so its last fire is that row: written pending before the task is
//! created, given its outcome after. A task is therefore never created unrecorded:
//! - the database refuses the pending row: no task is created, and the caller gets a 500 it can retry;
//! - the outcome cannot be written: the caller still gets its answer (a created task is never answered as a
//!   failure, or the caller would retry and create a second task), and the outcome is written in the background;
//! - the api-server stops before the outcome is written: the pending row stays, and [`CallFires::settle_left_behind`]
//!   (run by every api-server) gives it its outcome by asking the sink whether the task exists.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tracing::Instrument as _;

use super::{FireContext, FireError, FireOptions, FireOutcome, Firer};
use crate::backoff::Backoff;
use crate::hook::HookDefinition;
use crate::sink::TaskSink;
use crate::storage::{
    Batcher, DeliveryEnd, EventOutcome, FireEvent, LastFire, LastFireResult, Pool, Recorded, StorageError,
    finish_deliveries, pending_fires_before, record_fire_events, record_last_fires_of_existing_hooks,
    settle_pending_fire,
};

/// The most last fires one statement writes.
const MAX_BATCH: usize = 256;
/// Outcomes waiting to be written after the database refused them; beyond this, an outcome is left to
/// [`CallFires::settle_left_behind`] (its pending row is already written, so nothing is lost).
const MAX_WAITING: usize = 10_000;
/// How an outcome the database refused is retried.
const RECORD_RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
/// How many pending fires one settling pass looks at.
const SETTLE_BATCH: i64 = 100;

/// Writes API calls' last fires and fire-log events; clones share one writer. Only the api-server starts one.
#[derive(Clone)]
pub struct CallFires {
    writer: Batcher<CallRecord, Recorded>,
    waiting: mpsc::Sender<CallRecord>,
}

/// One write for a call: its last fire (pending, or its outcome), its fire-log event and, for a webhook delivery,
/// how the delivery ended; any of them may be absent (a pending fire has no event yet; a declined or refused call
/// has no last fire). Every write is idempotent (an upsert; an event kept once per outcome and taskId; a delivery
/// ended only while pending), so a write retried after a lost commit records nothing twice.
#[derive(Debug, Clone)]
struct CallRecord {
    last_fire: Option<LastFire>,
    event: Option<FireEvent>,
    delivery: Option<DeliveryEnd>,
}

impl CallFires {
    /// Starts the writer (and the writer of outcomes the database refused at first) on the current Tokio runtime:
    /// the daemon's main one, since an actix worker's runtime stops before the other workers' last requests end.
    pub fn start(pool: Pool) -> Self {
        let writer = Batcher::spawn(pool, MAX_BATCH, write_call_records);
        let (waiting, refused) = mpsc::channel(MAX_WAITING);
        tokio::spawn(write_until_written(writer.clone(), refused));
        Self { writer, waiting }
    }

    /// Fires `hook` for an API call: its pending last fire is written, then its task created, then the outcome
    /// written (see the module's documentation for what happens when the database fails at each step).
    #[tracing::instrument(name = "fire", skip_all, fields(hook_group_id = %hook.hook_group_id, hook_id = %hook.hook_id, fired_by = %ctx.fired_by))]
    pub async fn fire(
        &self,
        firer: &Firer,
        hook: &HookDefinition,
        ctx: FireContext,
        opts: FireOptions,
    ) -> Result<FireOutcome, FireError> {
        let prepared = firer.prepare(hook, ctx, opts).await;
        if let Some(pending) = prepared.pending() {
            let pending = CallRecord { last_fire: Some(pending), event: None, delivery: None };
            let written = self.writer.submit(pending).instrument(tracing::info_span!("record_pending_fire")).await;
            if let Err(source) = written {
                tracing::warn!(task_id = %prepared.task_id(), error = %source, "cannot record the fire; no task created");
                return Err(FireError::Unrecorded { task_id: prepared.task_id().clone(), source });
            }
        }
        let (result, last_fire, event) = firer.create(prepared).await.into_parts();
        self.record(last_fire, event, None).await;
        result
    }

    /// Records a fire's outcome (and a webhook delivery's end, written with it).
    pub(super) async fn record(&self, last_fire: Option<LastFire>, event: FireEvent, delivery: Option<DeliveryEnd>) {
        let record = CallRecord { last_fire, event: Some(event), delivery };
        self.record_outcome(record).instrument(tracing::info_span!("record_last_fire")).await;
    }

    /// Records, in the fire log only, a call refused before it fired (its payload did not match the triggerSchema).
    pub async fn record_refused(&self, event: FireEvent) {
        self.record_outcome(CallRecord { last_fire: None, event: Some(event), delivery: None }).await;
    }

    async fn record_outcome(&self, record: CallRecord) {
        let Err(e) = self.writer.submit(record.clone()).await else { return };
        match self.waiting.try_send(record) {
            Ok(()) => tracing::warn!(error = %e, "cannot record the fire's outcome yet; it will be recorded later"),
            Err(_) => tracing::warn!(
                error = %e,
                "cannot record the fire's outcome, and too many wait already; a pending fire stays pending until \
                 settled, a fire-log event is lost"
            ),
        }
    }

    /// Gives their outcome to pending fires older than `before`, left behind by an api-server that stopped before
    /// it wrote them (or could not, for a long while): `success` when the sink has the task, else `error`. Returns
    /// how many it settled; a fire whose task the sink can't look up now stays pending for a later pass.
    pub async fn settle_left_behind(
        pool: &Pool,
        sink: &dyn TaskSink,
        before: DateTime<Utc>,
    ) -> Result<usize, StorageError> {
        let pending = pending_fires_before(&mut *pool.get().await?, before, SETTLE_BATCH).await?;
        let mut settled = 0;
        for mut fire in pending {
            // No connection is held while the sink is asked.
            let task_id = match crate::TaskId::parse(&fire.task_id) {
                Ok(id) => id,
                Err(e) => {
                    tracing::error!(task_id = %fire.task_id, error = %e, "a pending fire has an unusable taskId");
                    continue;
                }
            };
            let outcome = match sink.task_exists(&task_id).await {
                Ok(true) => {
                    fire.result = LastFireResult::Success;
                    EventOutcome::Created
                }
                Ok(false) => {
                    fire.result = LastFireResult::Error;
                    fire.error = format!(
                        "no task {task_id} exists: the api-server stopped (or lost the database) between recording \
                         this fire and creating its task"
                    );
                    EventOutcome::CreateFailed
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot settle a pending fire yet");
                    continue;
                }
            };
            let mut conn = pool.get().await?;
            if settle_pending_fire(&mut conn, &fire).await? {
                // What the call was is not known any more: only its kind and taskId.
                let event = FireEvent {
                    hook_group_id: fire.hook_group_id.clone(),
                    hook_id: fire.hook_id.clone(),
                    time: fire.task_create_time,
                    fired_by: fire.fired_by,
                    outcome,
                    task_id: Some(fire.task_id.clone()),
                    error: (!fire.error.is_empty()).then(|| fire.error.clone()),
                    source: serde_json::Map::new(),
                };
                record_fire_events(&mut conn, &[event]).await?;
                tracing::info!(hook_group_id = %fire.hook_group_id, hook_id = %fire.hook_id, %task_id, result = %fire.result, "settled a fire left pending");
                settled += 1;
            }
        }
        Ok(settled)
    }

    /// Runs [`CallFires::settle_left_behind`] every `every` for fires pending longer than `after` (longer than any
    /// call can take, retries included), until the runtime stops.
    pub async fn settle_periodically(pool: Pool, sink: Arc<dyn TaskSink>, every: Duration, after: Duration) {
        let after = chrono::TimeDelta::from_std(after).unwrap_or(chrono::TimeDelta::MAX);
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let before = Utc::now() - after;
            // A full batch settled: more may be waiting (after a long outage), so go on at once.
            loop {
                match Self::settle_left_behind(&pool, sink.as_ref(), before).await {
                    Ok(settled) if settled == SETTLE_BATCH as usize => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot settle pending fires now; trying again later");
                        break;
                    }
                }
            }
        }
    }
}

/// Writes the outcomes the database refused when they happened, one at a time in arrival order, each retried
/// with backoff (100 ms doubling to 30 s) until it is written. Ends when the last handle is dropped.
async fn write_until_written(writer: Batcher<CallRecord, Recorded>, mut refused: mpsc::Receiver<CallRecord>) {
    while let Some(record) = refused.recv().await {
        let mut delays = RECORD_RETRY.delays();
        while let Err(e) = writer.submit(record.clone()).await {
            let delay = delays.next_delay();
            tracing::warn!(error = %e, retry_in = ?delay, "cannot record a fire's outcome yet");
            tokio::time::sleep(delay).await;
        }
    }
}

fn write_call_records<'c>(
    conn: &'c mut AsyncPgConnection,
    records: &'c [CallRecord],
) -> BoxFuture<'c, Result<Vec<Recorded>, StorageError>> {
    Box::pin(async move {
        let fires: Vec<LastFire> = records.iter().filter_map(|r| r.last_fire.clone()).collect();
        let mut recorded = record_last_fires_of_existing_hooks(conn, &fires).await?.into_iter();
        let events: Vec<FireEvent> = records.iter().filter_map(|r| r.event.clone()).collect();
        record_fire_events(conn, &events).await?;
        let ends: Vec<DeliveryEnd> = records.iter().filter_map(|r| r.delivery.clone()).collect();
        if !ends.is_empty() {
            finish_deliveries(conn, &ends).await?;
        }
        // An event alone (a declined or refused call) has nothing to say about a last fire.
        let mut answer = |r: &CallRecord| if r.last_fire.is_some() { recorded.next() } else { None };
        Ok(records.iter().map(|r| answer(r).unwrap_or(Recorded::Written)).collect())
    })
}
