//! Firing a hook: render its template with the event's context, hand the task to the sink, record the attempt.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::hook::HookDefinition;
use crate::metrics::{FireResult, Metrics};
use crate::render::{RenderError, Renderer};
use crate::sink::{CreateTaskError, TaskSink};
use crate::storage::batch::Batcher;
use crate::storage::last_fires::{self, LastFire, Recorded, cap_error};
use crate::storage::{Pool, StorageError};
use crate::{HookGroupId, HookId, TaskId, time};

/// What made a hook fire; it is `firedBy` in the JSON-e context and in last fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FiredBy {
    /// A cron slot.
    Schedule,
    /// An authenticated `triggerHook` call.
    TriggerHook,
    /// A webhook carrying the hook's trigger token.
    TriggerHookWithToken,
    /// A Pulse message on one of the hook's bindings.
    PulseMessage,
}

impl FiredBy {
    /// The name Taskcluster uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::TriggerHook => "triggerHook",
            Self::TriggerHookWithToken => "triggerHookWithToken",
            Self::PulseMessage => "pulseMessage",
        }
    }
}

impl fmt::Display for FiredBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the template sees about the event, besides `taskId` and `now`.
#[derive(Debug, Clone)]
pub struct FireContext {
    /// How the hook fired.
    pub fired_by: FiredBy,
    /// The payload (API calls, webhooks, Pulse messages); absent for schedules.
    pub payload: Option<Value>,
    /// The caller, for `triggerHook` only.
    pub client_id: Option<String>,
    /// Further context keys (a Pulse message's `exchange` and `routingKey`).
    pub extra: Map<String, Value>,
}

impl FireContext {
    /// The context of a scheduled fire.
    pub fn schedule() -> Self {
        Self { fired_by: FiredBy::Schedule, payload: None, client_id: None, extra: Map::new() }
    }

    /// The context of a `triggerHook` call by `client_id`.
    pub fn trigger_hook(payload: Value, client_id: impl Into<String>) -> Self {
        Self {
            fired_by: FiredBy::TriggerHook,
            payload: Some(payload),
            client_id: Some(client_id.into()),
            extra: Map::new(),
        }
    }

    /// The context of a webhook.
    pub fn trigger_hook_with_token(payload: Value) -> Self {
        Self { fired_by: FiredBy::TriggerHookWithToken, payload: Some(payload), client_id: None, extra: Map::new() }
    }

    /// The context of a Pulse message.
    pub fn pulse_message(payload: Value, exchange: &str, routing_key: &str) -> Self {
        let mut extra = Map::new();
        extra.insert("exchange".into(), Value::String(exchange.into()));
        extra.insert("routingKey".into(), Value::String(routing_key.into()));
        Self { fired_by: FiredBy::PulseMessage, payload: Some(payload), client_id: None, extra }
    }

    fn to_json(&self, task_id: &TaskId, now: DateTime<Utc>) -> Map<String, Value> {
        let mut ctx = self.extra.clone();
        ctx.insert("firedBy".into(), Value::String(self.fired_by.as_str().into()));
        if let Some(payload) = &self.payload {
            ctx.insert("payload".into(), payload.clone());
        }
        if let Some(client_id) = &self.client_id {
            ctx.insert("clientId".into(), Value::String(client_id.clone()));
        }
        ctx.insert("taskId".into(), Value::String(task_id.to_string()));
        ctx.insert("now".into(), Value::String(time::to_json(now)));
        ctx
    }
}

/// Choices the caller may make about a fire.
#[derive(Debug, Clone, Default)]
pub struct FireOptions {
    /// The task id to use; a fresh one when absent.
    pub task_id: Option<TaskId>,
    /// `now` for the template (a schedule passes its slot time); the current time when absent.
    pub now: Option<DateTime<Utc>>,
}

/// What a fire did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FireOutcome {
    /// A task was created (or already existed with the identical definition).
    Created {
        /// Its id.
        task_id: TaskId,
    },
    /// The template rendered to nothing: no task, no last-fire row.
    Declined,
}

/// Why a fire failed. The attempt is recorded as a last fire with this text.
#[derive(Debug, thiserror::Error)]
pub enum FireError {
    /// The template could not be rendered.
    #[error("{source}")]
    Render {
        /// The task id that would have been used.
        task_id: TaskId,
        /// What JSON-e said.
        source: RenderError,
    },
    /// The sink did not create the task.
    #[error("{source}")]
    CreateTask {
        /// The task id used.
        task_id: TaskId,
        /// What the sink said.
        source: CreateTaskError,
    },
}

impl FireError {
    /// Whether the failure is the daemon's or the queue's passing trouble (a 5xx, the network, the database, no
    /// render worker), worth retrying, rather than the hook's (a render error, a 4xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Render { source, .. } => source.is_transient(),
            Self::CreateTask { source, .. } => source.is_transient(),
        }
    }
}

/// Fires hooks: one per daemon, shared by all its tasks.
#[derive(Clone)]
pub struct Firer {
    renderer: Renderer,
    sink: Arc<dyn TaskSink>,
    last_fires: Batcher<LastFire, Recorded>,
    record_later: mpsc::UnboundedSender<LastFire>,
    metrics: Metrics,
}

/// The most last fires one statement records.
const MAX_LAST_FIRES_BATCH: usize = 256;

/// A fire that has happened but is not yet recorded: the scheduler and the Pulse listener fire concurrently, then
/// record many attempts in one statement (see [`Attempt::into_parts`]).
#[derive(Debug)]
#[must_use = "an attempt must be recorded"]
pub struct Attempt {
    result: Result<FireOutcome, FireError>,
    last_fire: Option<LastFire>,
}

impl Attempt {
    /// What the fire did, before recording.
    pub fn result(&self) -> &Result<FireOutcome, FireError> {
        &self.result
    }

    /// The fire's result and the last-fire row to write (none for a declined fire), for callers that record
    /// many attempts in one statement.
    pub fn into_parts(self) -> (Result<FireOutcome, FireError>, Option<LastFire>) {
        (self.result, self.last_fire)
    }
}

impl Firer {
    /// A firer sending tasks to `sink` and recording last fires through `pool`. Concurrent fires' last fires are
    /// written together, by a writer on the current Tokio runtime (the daemon's main one: an actix worker's
    /// runtime stops before the last requests of the others finish).
    pub fn new(renderer: Renderer, sink: Arc<dyn TaskSink>, pool: Pool) -> Self {
        let last_fires = Batcher::spawn(pool, MAX_LAST_FIRES_BATCH, record_last_fires);
        let (record_later, unrecorded) = mpsc::unbounded_channel();
        tokio::spawn(record_until_written(last_fires.clone(), unrecorded));
        Self { renderer, sink, last_fires, record_later, metrics: Metrics::global().clone() }
    }

    /// The same firer, counting its fires in `metrics` instead of the process's (for tests).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Where fires are counted.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The sink tasks go to.
    pub fn sink(&self) -> &dyn TaskSink {
        self.sink.as_ref()
    }

    /// Fires `hook` and records the attempt (together with other fires' attempts at the same moment).
    ///
    /// The fire's result is the answer, whether or not it could be recorded at once: a task that was created is
    /// never answered as a failure (a caller told so would retry, and create a second task). An attempt the
    /// database did not take is recorded later, retried in the background until it is written.
    pub async fn fire(
        &self,
        hook: &HookDefinition,
        ctx: FireContext,
        opts: FireOptions,
    ) -> Result<FireOutcome, FireError> {
        let Attempt { result, last_fire } = self.attempt(hook, ctx, opts).await;
        if let Some(last_fire) = last_fire {
            let recorded =
                self.last_fires.submit(last_fire.clone()).instrument(tracing::info_span!("record_last_fire")).await;
            if let Err(e) = recorded {
                tracing::warn!(task_id = %last_fire.task_id, error = %e, "cannot record the last fire yet; it will be recorded later");
                let _ = self.record_later.send(last_fire);
            }
        }
        result
    }

    /// Renders and creates the task without recording it; see [`Attempt::into_parts`].
    #[tracing::instrument(name = "fire", skip_all, fields(hook_group_id = %hook.hook_group_id, hook_id = %hook.hook_id, fired_by = %ctx.fired_by))]
    pub async fn attempt(&self, hook: &HookDefinition, ctx: FireContext, opts: FireOptions) -> Attempt {
        self.create(self.prepare(hook, ctx, opts).await).await
    }

    /// Renders the task, creating nothing yet: the scheduler renders a slot's tasks ahead of the slot, so that on
    /// the second only [`Firer::create`] is left.
    pub async fn prepare(&self, hook: &HookDefinition, ctx: FireContext, opts: FireOptions) -> Prepared {
        let task_id = opts.task_id.unwrap_or_else(TaskId::generate);
        let now = opts.now.map_or_else(time::now_millis, time::truncate_to_millis);
        let context = ctx.to_json(&task_id, now);
        let render = self.renderer.render(&hook.task, &context, &task_id, now);
        let rendered = render.instrument(tracing::info_span!("render")).await;
        Prepared {
            hook_group_id: hook.hook_group_id.clone(),
            hook_id: hook.hook_id.clone(),
            fired_by: ctx.fired_by,
            task_id,
            rendered,
        }
    }

    /// Creates a prepared task. The last fire's time is now, when the task is created (a slot's task is prepared
    /// ahead of it).
    pub async fn create(&self, prepared: Prepared) -> Attempt {
        let Prepared { hook_group_id, hook_id, fired_by, task_id, rendered } = prepared;
        let attempt_time = time::now_millis();
        let last_fire = |error: String| LastFire {
            hook_group_id: hook_group_id.to_string(),
            hook_id: hook_id.to_string(),
            fired_by: fired_by.as_str().to_owned(),
            task_id: task_id.to_string(),
            task_create_time: attempt_time,
            result: if error.is_empty() { "success" } else { "error" }.to_owned(),
            error: cap_error(error),
        };
        let task = match rendered {
            Ok(Some(task)) => task,
            Ok(None) => {
                self.metrics.fire(fired_by, FireResult::Declined);
                tracing::info!(%task_id, result = "declined", "hook fire");
                return Attempt { result: Ok(FireOutcome::Declined), last_fire: None };
            }
            Err(source) => {
                self.metrics.fire(fired_by, FireResult::Error);
                tracing::warn!(%task_id, result = "error", error = %source, "hook fire");
                let lf = last_fire(source.to_string());
                return Attempt { result: Err(FireError::Render { task_id, source }), last_fire: Some(lf) };
            }
        };
        let started = std::time::Instant::now();
        let create = self.sink.create_task(&hook_group_id, &hook_id, &task_id, &task);
        let created = create.instrument(tracing::info_span!("create_task", sink = self.sink.name())).await;
        self.metrics.task_create(self.sink.name(), started.elapsed());
        match created {
            Ok(()) => {
                self.metrics.fire(fired_by, FireResult::Success);
                tracing::info!(%task_id, result = "success", sink = self.sink.name(), "hook fire");
                let lf = last_fire(String::new());
                Attempt { result: Ok(FireOutcome::Created { task_id }), last_fire: Some(lf) }
            }
            Err(source) => {
                self.metrics.fire(fired_by, FireResult::Error);
                tracing::warn!(%task_id, result = "error", error = %source, "hook fire");
                let lf = last_fire(source.to_string());
                Attempt { result: Err(FireError::CreateTask { task_id, source }), last_fire: Some(lf) }
            }
        }
    }
}

/// A rendered fire waiting to be created: see [`Firer::prepare`].
#[derive(Debug)]
#[must_use = "a prepared fire must be created"]
pub struct Prepared {
    hook_group_id: HookGroupId,
    hook_id: HookId,
    fired_by: FiredBy,
    task_id: TaskId,
    rendered: Result<Option<Map<String, Value>>, RenderError>,
}

// Backoff for last fires recorded later: 100 ms, doubling, up to 30 s.
const RECORD_RETRY_BASE: Duration = Duration::from_millis(100);
const RECORD_RETRY_MAX: Duration = Duration::from_secs(30);

/// Writes the last fires the database did not take when they happened, one at a time in arrival order, each
/// retried with backoff until it is written. Ends when the firer is dropped and nothing is left.
async fn record_until_written(
    last_fires: Batcher<LastFire, Recorded>,
    mut unrecorded: mpsc::UnboundedReceiver<LastFire>,
) {
    while let Some(last_fire) = unrecorded.recv().await {
        let mut backoff = RECORD_RETRY_BASE;
        loop {
            match last_fires.submit(last_fire.clone()).await {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(task_id = %last_fire.task_id, error = %e, retry_in = ?backoff, "cannot record a last fire yet");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(RECORD_RETRY_MAX);
                }
            }
        }
    }
}

fn record_last_fires<'c>(
    conn: &'c mut AsyncPgConnection,
    fires: &'c [LastFire],
) -> BoxFuture<'c, Result<Vec<Recorded>, StorageError>> {
    Box::pin(last_fires::record_last_fires_of_existing_hooks(conn, fires))
}
