//! The firing loop. One shape for every worker: `run_next` claims and fires one batch of due hooks and says what
//! the batch did ([`Batch`]), or `None` when nothing was due; `run` repeats it, sleeping until the earliest due
//! slot, a hook change (NOTIFY) or shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use futures::{FutureExt as _, StreamExt as _};
use hooks_core::render::Renderer;
use hooks_core::sink::TaskSink;
use hooks_core::storage::{
    EventOutcome, FireEvent, LastFire, Pool, StorageError, advance_slots, claim_due_hooks, earliest_due,
    note_schedule_failure, paused_among, record_fire_events, record_last_fires, retry_slot_at,
};
use hooks_core::{
    Attempt, Backoff, CatchUp, FireContext, FireError, FireOptions, FireOutcome, Firer, Hook, HookKey, Keyring,
    Notifier, Prepared, Schedule, SlotChoice, slot_to_fire, time,
};
use tokio::sync::Notify;
use tracing::Instrument as _;

/// How the scheduler works through due hooks.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Which missed slots to fire after downtime.
    pub catch_up: CatchUp,
    /// How long after its time a slot that fails transiently is still retried (under its taskId); then it is
    /// skipped and the catch-up policy picks the next.
    pub retry_window: TimeDelta,
    /// How many due hooks one claim takes.
    pub batch_size: usize,
    /// How many tasks are created at once, per batch.
    pub concurrency: usize,
    /// How many batches are claimed and fired at once: while one batch waits for its slot or settles, the next
    /// is claimed.
    pub workers: usize,
    /// How long before its slot a hook is claimed and its fire prepared, so that the slot's second is spent
    /// creating tasks rather than reading rows.
    pub claim_ahead: Duration,
}

/// Due hooks claimed per transaction unless configured: with four workers, 4,000 hooks of an instant are claimed and
/// rendered before their second (docs/architecture.md has the measurements behind the figure).
pub const DEFAULT_BATCH_SIZE: usize = 1_000;

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            catch_up: CatchUp::Latest,
            retry_window: TimeDelta::hours(1),
            batch_size: DEFAULT_BATCH_SIZE,
            concurrency: 64,
            workers: 4,
            claim_ahead: Duration::from_millis(500),
        }
    }
}

// With nothing scheduled, look again this often anyway (a missed NOTIFY costs at most this much delay).
const IDLE_RECHECK: Duration = Duration::from_secs(60);
// A due slot held by another worker or replica is being fired: look again this often until it is settled.
const BUSY_RECHECK: Duration = Duration::from_millis(50);
// Backoff for a slot whose task creation failed transiently: 1 s, 2 s, 4 s, ... up to a minute.
const SLOT_RETRY: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
// At most one failure email per hook this often; the next says how many failures it covers.
const EMAIL_INTERVAL: TimeDelta = TimeDelta::hours(1);

/// Fires the cron slots of all hooks.
pub struct Scheduler {
    pool: Pool,
    keyring: Arc<Keyring>,
    firer: Firer,
    notifier: Notifier,
    options: SchedulerOptions,
}

/// What one claimed batch did, hook by hook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batch {
    /// Hooks claimed (each due now or within the claim-ahead).
    pub claimed: usize,
    /// Slots fired: the task was created, or the fire failed for good and was recorded as an error.
    pub fired: usize,
    /// Slots that failed transiently and are tried again later under the same taskId.
    pub retrying: usize,
    /// Slots given up after failing transiently for the whole retry window.
    pub skipped: usize,
    /// Hooks that could not be fired at all (e.g. their key was removed), looked at again later.
    pub unusable: usize,
}

/// What became of one claimed slot.
enum SlotOutcome {
    /// The task was created, or the fire failed for good: record `last_fire` and move on to `next` (`None`: the
    /// hook has no more slots).
    Fired { last_fire: Option<LastFire>, event: FireEvent, next: Option<DateTime<Utc>> },
    /// Failed transiently within the retry window: the slot is tried again `at` this time, under its taskId, after
    /// this many `failures` in a row.
    RetryAt { at: DateTime<Utc>, failures: i32 },
    /// Failed transiently for the whole retry window: the slot is skipped, the hook moves on to `next`.
    Skipped { event: FireEvent, next: Option<DateTime<Utc>> },
}

/// One due hook and the slot it fires for: what settling the slot needs. The template, trigger schema and
/// bindings are not kept: a batch holds thousands of these from before the slot until it commits.
struct Planned {
    key: HookKey,
    schedule: Schedule,
    /// Whom to email about a failure, when the hook asks for it.
    owner: Option<String>,
    /// Transient failures of this slot so far.
    failures: i32,
    failure_emailed_at: Option<DateTime<Utc>>,
    failures_not_emailed: i32,
    slot: DateTime<Utc>,
    /// Not before this: the slot, or the retry time after a transient failure.
    not_before: DateTime<Utc>,
}

impl Planned {
    fn new(hook: &Hook, slot: DateTime<Utc>, not_before: DateTime<Utc>) -> Self {
        let def = &hook.definition;
        Self {
            key: def.key(),
            schedule: def.schedule.clone(),
            owner: def.metadata.email_on_error.then(|| def.metadata.owner.clone()),
            failures: hook.schedule_failures,
            failure_emailed_at: hook.failure_emailed_at,
            failures_not_emailed: hook.failures_not_emailed,
            slot,
            not_before,
        }
    }
}

impl Scheduler {
    /// A scheduler creating tasks in `sink` and telling owners of failures through `notifier`.
    pub fn new(
        pool: Pool,
        keyring: Arc<Keyring>,
        renderer: Renderer,
        sink: Arc<dyn TaskSink>,
        notifier: Notifier,
        options: SchedulerOptions,
    ) -> Self {
        let firer = Firer::new(renderer, sink);
        Self { pool, keyring, firer, notifier, options }
    }

    /// The same scheduler, counting in `metrics` instead of the process's (for tests).
    pub fn with_metrics(mut self, metrics: hooks_core::metrics::Metrics) -> Self {
        self.firer = self.firer.with_metrics(metrics);
        self
    }

    /// Claims one batch of hooks due now or within `claim_ahead`, fires each at its slot, records the fires and
    /// advances their slots, all in one transaction. Returns what the batch did, or `None` when nothing was due.
    pub async fn run_next(&self) -> Result<Option<Batch>, StorageError> {
        let now = Utc::now();
        let horizon = now + TimeDelta::from_std(self.options.claim_ahead).unwrap_or_default();
        let mut conn = self.pool.get().await?;
        // The claim's row locks are held until this transaction ends: each slot is fired, recorded and advanced
        // by exactly one replica. A crash before commit leaves the slot due; the re-fire renders the identical
        // task under the same taskId, which the queue accepts as the same task.
        conn.transaction::<_, StorageError, _>(async |tx| {
            let limit = i64::try_from(self.options.batch_size).unwrap_or(i64::MAX);
            let rows = claim_due_hooks(tx, horizon, limit).await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let mut batch = Batch { claimed: rows.len(), ..Batch::default() };
            let mut planned = Vec::with_capacity(rows.len());
            let mut events = Vec::new();
            let mut moves = Vec::with_capacity(rows.len());
            let keys: Vec<HookKey> =
                rows.iter().map(|r| HookKey::from_stored(r.hook_group_id.clone(), r.hook_id.clone())).collect();
            let paused = paused_among(tx, &keys).await?;
            for row in rows {
                let key = HookKey::from_stored(row.hook_group_id.clone(), row.hook_id.clone());
                let (g, h, due) = (key.group.as_str(), key.id.as_str(), row.next_scheduled_date);
                let retry_at = row.schedule_retry_at;
                match row.into_hook(&self.keyring) {
                    Ok(hook) => {
                        let due = due.unwrap_or(now);
                        if paused.contains(&key) {
                            // Every slot due by now (or the one claimed ahead) passes without firing, in one
                            // fire-log row: a paused hook is claimed once per slot, never fired.
                            let (last, passed) = match slot_to_fire(&hook.definition.schedule, due, now, CatchUp::Latest) {
                                SlotChoice::Fire { slot, skipped } => (slot, skipped + 1),
                                SlotChoice::SkipAll { last, skipped } => (last, skipped),
                            };
                            self.firer.metrics().slots_skipped(passed);
                            events.push(paused_slots(&hook, due, passed));
                            moves.push((key.clone(), hook.definition.schedule.next_after(last)));
                            batch.skipped += 1;
                            continue;
                        }
                        // The hook's own policy, if it has one, takes the place of the scheduler's.
                        let own = hook.definition.catch_up.as_ref();
                        let catch_up = self.options.catch_up.for_hook(own, self.options.retry_window);
                        // Missed slots are judged against the present, not the horizon: a slot a little late
                        // still fires rather than being skipped for one claimed ahead. A slot being retried is
                        // not missed: it is tried again itself, under its taskId.
                        let choice = match retry_at {
                            Some(_) => SlotChoice::Fire { slot: due, skipped: 0 },
                            None => slot_to_fire(&hook.definition.schedule, due, now, catch_up),
                        };
                        let (fired, skipped) = match choice {
                            SlotChoice::Fire { slot, skipped } => (Some(slot), skipped),
                            SlotChoice::SkipAll { skipped, .. } => (None, skipped),
                        };
                        if skipped > 0 {
                            self.firer.metrics().slots_skipped(skipped);
                            tracing::warn!(hook_group_id = %g, hook_id = %h, skipped, slot = ?fired.map(time::to_json), "missed slots skipped");
                            events.push(missed_slots(&hook, due, fired, skipped, catch_up));
                        }
                        match choice {
                            SlotChoice::Fire { slot, .. } => {
                                let not_before = retry_at.map_or(slot, |r| r.max(slot));
                                planned.push((Planned::new(&hook, slot, not_before), hook));
                            }
                            SlotChoice::SkipAll { last, .. } => {
                                moves.push((key, hook.definition.schedule.next_after(last)));
                            }
                        }
                    }
                    Err(e) => {
                        // Unusable until someone fixes it (e.g. its key was removed): look again in a minute.
                        tracing::error!(hook_group_id = %g, hook_id = %h, error = %e, "cannot fire hook");
                        retry_slot_at(tx, &key, now + delta(SLOT_RETRY.longest), 0).await?;
                        batch.unusable += 1;
                    }
                }
            }
            // Rendered now, ahead of the slots: on the second only the task creations are left. A bounded number
            // at a time (a render in flight holds its future's state, a few KB), each hook dropped once rendered:
            // only its Planned and rendered task are held until the batch settles.
            let prepared: Vec<(Planned, Prepared, tracing::Span)> = futures::stream::iter(planned).map(|(p, hook)| async move {
                let def = &hook.definition;
                let opts = FireOptions {
                    task_id: Some(hook.schedule_secret.task_id(&def.hook_group_id, &def.hook_id, p.slot)),
                    now: Some(p.slot),
                };
                // One trace per slot, not one per batch.
                let span = tracing::info_span!(parent: None, "slot", hook_group_id = %def.hook_group_id, hook_id = %def.hook_id, slot = %p.slot);
                let ctx = FireContext::schedule().with_source("slot", time::to_json(p.slot));
                let prepared = self.firer.prepare(def, ctx, opts).instrument(span.clone()).await;
                (p, prepared, span)
            })
            .buffered(self.options.concurrency)
            .collect()
            .await;
            let attempts: Vec<(Planned, Attempt)> = futures::stream::iter(prepared)
                .map(|(p, prepared, span)| async move {
                    // Claimed ahead: wait for the slot's second (or the retry's time).
                    if let Ok(early) = (p.not_before - Utc::now()).to_std() {
                        tokio::time::sleep(early).await;
                    }
                    let attempt = self.firer.create(prepared).instrument(span).await;
                    if let Ok(FireOutcome::Created { .. }) = attempt.result() {
                        // A slot fired early (it can't be) or on time counts as no lag.
                        self.firer.metrics().schedule_lag((Utc::now() - p.slot).to_std().unwrap_or_default());
                    }
                    (p, attempt)
                })
                .buffer_unordered(self.options.concurrency)
                .collect()
                .await;
            // Retries are timed from when the attempts ended, which may be after a wait for the slot.
            let now = Utc::now();
            let mut fires = Vec::with_capacity(attempts.len());
            for (planned, attempt) in attempts {
                let key = planned.key.clone();
                match self.settle(tx, planned, attempt, now).await? {
                    SlotOutcome::Fired { last_fire, event, next } => {
                        batch.fired += 1;
                        fires.extend(last_fire);
                        events.push(event);
                        moves.push((key, next));
                    }
                    SlotOutcome::RetryAt { at, failures } => {
                        batch.retrying += 1;
                        retry_slot_at(tx, &key, at, failures).await?;
                    }
                    SlotOutcome::Skipped { event, next } => {
                        batch.skipped += 1;
                        events.push(event);
                        moves.push((key, next));
                    }
                }
            }
            // One statement each for the whole batch: the claim's locks keep every row in place meanwhile.
            record_last_fires(tx, &fires).await?;
            record_fire_events(tx, &events).await?;
            advance_slots(tx, &moves).await?;
            Ok(Some(batch))
        })
        .await
    }

    /// Decides what one attempt means for its hook. A transient failure (a queue 5xx, the network, no render
    /// worker) is nobody's fault in the hook: it keeps the slot and its taskId and is retried with backoff while
    /// the slot is within the retry window, and is neither recorded as an error nor emailed about; past the window
    /// the slot is skipped. Only a permanent failure (a render error, a 4xx) is recorded and told to the owner.
    async fn settle(
        &self,
        tx: &mut AsyncPgConnection,
        p: Planned,
        attempt: Attempt,
        now: DateTime<Utc>,
    ) -> Result<SlotOutcome, StorageError> {
        let (g, h) = (p.key.group.as_str(), p.key.id.as_str());
        let next = p.schedule.next_after(p.slot);
        let (result, last_fire, event) = attempt.into_parts();
        match result {
            Err(e) if e.is_transient() => {
                let failures = p.failures + 1;
                let delay = delta(SLOT_RETRY.delay(u32::try_from(failures).unwrap_or(u32::MAX)));
                let slot = time::to_json(p.slot);
                if now + delay <= p.slot + self.options.retry_window {
                    tracing::warn!(hook_group_id = g, hook_id = h, %slot, error = %e, failures, retry_in = %delay, "slot failed transiently; retrying it under the same taskId");
                    return Ok(SlotOutcome::RetryAt { at: now + delay, failures });
                }
                self.firer.metrics().slots_skipped(1);
                tracing::error!(hook_group_id = g, hook_id = h, %slot, error = %e, failures, "slot kept failing transiently for the whole retry window (--catch-up-window); skipped");
                let reason = format!("failed {failures} times, for the whole retry window; the last error: {e}");
                return Ok(SlotOutcome::Skipped { event: event.with_outcome(EventOutcome::SkippedSlot, reason), next });
            }
            Err(e) => self.tell_owner(tx, &p, &e, next, now).await?,
            Ok(_) => {}
        }
        Ok(SlotOutcome::Fired { last_fire, event, next })
    }

    /// Emails the owner about a slot that failed for good, when the hook asks for it: at most once an
    /// [`EMAIL_INTERVAL`] per hook, the email counting the failures since the last. Never fails the slot.
    async fn tell_owner(
        &self,
        tx: &mut AsyncPgConnection,
        p: &Planned,
        error: &FireError,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let Some(owner) = &p.owner else {
            return Ok(());
        };
        let (key, g, h) = (&p.key, p.key.group.as_str(), p.key.id.as_str());
        if p.failure_emailed_at.is_some_and(|at| now - at < EMAIL_INTERVAL) {
            return note_schedule_failure(tx, key, None).await;
        }
        let earlier = p.failures_not_emailed;
        let earlier_text = match earlier {
            0 => String::new(),
            1 => " It also failed once since the last email about it.".to_owned(),
            n => format!(" It also failed {n} times since the last email about it."),
        };
        let subject = format!("Scheduled Taskcluster hook {key} failed");
        let next_text = next.map_or("The hook has no further slots.".to_owned(), |n| {
            format!("The hook will fire again at its next slot, {}.", time::to_json(n))
        });
        let content = format!(
            "The hook `{key}` failed to create a task for its slot at {}.{earlier_text}\n\nError:\n\n```\n{error}\n```\n\n\
             This slot will not be retried. {next_text} At most one such email is sent per hour. To stop these \
             emails, set `metadata.emailOnError` to false.",
            time::to_json(p.slot),
        );
        match self.notifier.email(owner, &subject, &content).await {
            Ok(()) => note_schedule_failure(tx, key, Some(now)).await,
            Err(e) => {
                tracing::warn!(hook_group_id = g, hook_id = h, error = %e, "cannot email the hook's owner");
                note_schedule_failure(tx, key, None).await
            }
        }
    }

    /// Runs batches until nothing is due. For tests.
    pub async fn run_until_idle(&self) -> Result<(), StorageError> {
        while self.run_next().await?.is_some() {}
        Ok(())
    }

    /// Fires due hooks until `shutdown` resolves, with `workers` batches at once. A batch in flight is finished
    /// (and committed) first.
    pub async fn run(&self, wake: Arc<Notify>, shutdown: impl Future<Output = ()>) {
        let shutdown = shutdown.shared();
        let workers = (0..self.options.workers.max(1)).map(|_| self.work(&wake, shutdown.clone()));
        futures::future::join_all(workers).await;
    }

    /// One worker: a batch, then sleep until the next may be due, a hook change or shutdown.
    async fn work(&self, wake: &Notify, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut delays = Backoff::RECONNECT.delays();
        loop {
            let wait = match self.run_next().await {
                // More may be due: go again at once, but only after looking at shutdown (below).
                Ok(Some(_)) => Duration::ZERO,
                Ok(None) => {
                    delays.reset();
                    self.until_next_due().await
                }
                Err(e) => {
                    tracing::error!(error = %e, "scheduler batch failed");
                    delays.next_delay()
                }
            };
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
                () = wake.notified() => {}
            }
        }
    }

    async fn until_next_due(&self) -> Duration {
        let due = match self.pool.get().await {
            Ok(mut conn) => earliest_due(&mut conn).await,
            Err(e) => Err(e.into()),
        };
        let ahead = TimeDelta::from_std(self.options.claim_ahead).unwrap_or_default();
        let now = Utc::now();
        match due {
            // Wake in time to claim it ahead of its slot.
            Ok(Some(due)) if due - ahead > now => (due - ahead - now).to_std().unwrap_or_default().min(IDLE_RECHECK),
            // Within reach but not claimed: another worker or replica holds it. Look again at the slot, or, once
            // it is due, shortly (it is being fired now), rather than spin.
            Ok(Some(due)) => (due - now).to_std().unwrap_or(BUSY_RECHECK).clamp(BUSY_RECHECK, IDLE_RECHECK),
            Ok(None) => IDLE_RECHECK,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the next due slot");
                Duration::from_secs(1)
            }
        }
    }
}

/// A delay as a time span (a delay too long for one is as good as forever).
fn delta(delay: Duration) -> TimeDelta {
    TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX)
}

/// The fire-log event for slots the catch-up policy passed over, from `first` to the one before `fired` (`None`:
/// all of them, none fired).
fn missed_slots(
    hook: &Hook,
    first: DateTime<Utc>,
    fired: Option<DateTime<Utc>>,
    skipped: u64,
    catch_up: CatchUp,
) -> FireEvent {
    let mut source = serde_json::Map::new();
    source.insert("slot".into(), time::to_json(first).into());
    source.insert("skippedSlots".into(), skipped.into());
    let policy = match catch_up {
        CatchUp::None => "catch-up none: slots reached more than a minute late are not fired",
        CatchUp::Latest => "only the latest missed slot fires",
        CatchUp::All { .. } => "slots older than the catch-up window are not fired",
    };
    let instead =
        fired.map_or("none is fired instead".to_owned(), |f| format!("the slot fired instead is {}", time::to_json(f)));
    let reason = format!(
        "{skipped} slot(s) from {} were missed while no scheduler ran, and skipped ({policy}); {instead}",
        time::to_json(first),
    );
    FireEvent::without_task(
        &hook.definition.key(),
        hooks_core::FiredBy::Schedule,
        EventOutcome::SkippedSlot,
        reason,
        source,
    )
}

/// The fire-log event for `count` slots from `first` that a paused hook passed over.
fn paused_slots(hook: &Hook, first: DateTime<Utc>, count: u64) -> FireEvent {
    let mut source = serde_json::Map::new();
    source.insert("slot".into(), time::to_json(first).into());
    source.insert("skippedSlots".into(), count.into());
    FireEvent::without_task(
        &hook.definition.key(),
        hooks_core::FiredBy::Schedule,
        EventOutcome::SkippedSlot,
        format!("{count} slot(s) from {} skipped: the hook is paused", time::to_json(first)),
        source,
    )
}
