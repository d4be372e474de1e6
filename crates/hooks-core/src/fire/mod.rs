//! Firing a hook, the one path every event takes: the event's identity gives the taskId (the same one each time
//! an event can be seen twice: a slot, a message delivery, a call naming its taskId), [`Firer::prepare`] renders
//! the template, [`Firer::create`] hands the task to the sink, and the daemon records the [`Attempt`] through the
//! storage functions for its kind of event. The firer itself holds no storage and starts no task.
//!
//! | event | identity, written before the task is created | recorded |
//! |---|---|---|
//! | cron slot (scheduler) | the claimed hook row and the slot's taskId | in the claim's transaction |
//! | Pulse message (listener) | its `pulse_fires` row | with the `pulse_fires` row finished |
//! | API call (api-server) | its last fire, pending ([`LastFireResult::Pending`]) ([`CallFires`]) | the same row's outcome |

mod calls;
mod context;
mod webhooks;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tracing::Instrument as _;

pub use calls::CallFires;
pub use context::{FireContext, FiredBy};
pub use webhooks::{Accepted, ReadyDelivery, WebhookDeliveries};

use crate::hook::HookDefinition;
use crate::metrics::{FireResult, Metrics};
use crate::render::{RenderError, Renderer};
use crate::sink::{CreateTaskError, TaskSink};
use crate::storage::{EventOutcome, FireEvent, LastFire, LastFireResult, StorageError, cap_error};
use crate::{HookGroupId, HookId, TaskId, time};

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
    /// The fire could not be written down before its task was created, so no task was created.
    #[error("cannot record the fire, so no task was created: {source}")]
    Unrecorded {
        /// The task id that would have been used.
        task_id: TaskId,
        /// What the database said.
        source: std::sync::Arc<StorageError>,
    },
}

impl FireError {
    /// Whether the failure is the daemon's or the queue's passing trouble (a 5xx, the network, the database, no
    /// render worker), worth retrying, rather than the hook's (a render error, a 4xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Render { source, .. } => source.is_transient(),
            Self::CreateTask { source, .. } => source.is_transient(),
            Self::Unrecorded { .. } => true,
        }
    }
}

/// Renders and creates tasks: one per daemon, shared by all its tasks. Recording is the daemon's (see the
/// module's table).
#[derive(Clone)]
pub struct Firer {
    renderer: Renderer,
    sink: std::sync::Arc<dyn TaskSink>,
    metrics: Metrics,
}

/// A fire that has happened but is not yet recorded.
#[derive(Debug)]
#[must_use = "an attempt must be recorded"]
pub struct Attempt {
    result: Result<FireOutcome, FireError>,
    last_fire: Option<LastFire>,
    event: FireEvent,
}

impl Attempt {
    /// What the fire did, before recording.
    pub fn result(&self) -> &Result<FireOutcome, FireError> {
        &self.result
    }

    /// The fire's result and what to record: the last-fire row (none for a declined fire) and the fire-log event.
    pub fn into_parts(self) -> (Result<FireOutcome, FireError>, Option<LastFire>, FireEvent) {
        (self.result, self.last_fire, self.event)
    }
}

impl Firer {
    /// A firer rendering with `renderer` and sending tasks to `sink`.
    pub fn new(renderer: Renderer, sink: std::sync::Arc<dyn TaskSink>) -> Self {
        Self { renderer, sink, metrics: Metrics::global().clone() }
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

    /// Renders and creates the task, recording nothing.
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
        // Kept as compact JSON until created: a scheduler holds thousands of prepared tasks until their slot, and
        // text takes a third of what the parsed map does.
        let rendered = rendered.map(|task| task.map(|task| Value::Object(task).to_string().into_boxed_str()));
        Prepared {
            hook_group_id: hook.hook_group_id.clone(),
            hook_id: hook.hook_id.clone(),
            fired_by: ctx.fired_by,
            source: ctx.source,
            task_id,
            rendered,
        }
    }

    /// Renders the task exactly as a fire with these arguments would (the same context, taskId and `now`, the
    /// defaults filled), creating and recording nothing: the task, `None` where the template declines, or why it
    /// cannot be rendered.
    pub async fn preview(
        &self,
        hook: &HookDefinition,
        ctx: FireContext,
        opts: FireOptions,
    ) -> Result<Option<Map<String, Value>>, RenderError> {
        read_back(self.prepare(hook, ctx, opts).await.rendered)
    }

    /// Creates a prepared task. The last fire's time is now, when the task is created (a slot's task is prepared
    /// ahead of it).
    pub async fn create(&self, prepared: Prepared) -> Attempt {
        let Prepared { hook_group_id, hook_id, fired_by, source: event_source, task_id, rendered } = prepared;
        let attempt_time = time::now_millis();
        let last_fire = |error: String| {
            let result = if error.is_empty() { LastFireResult::Success } else { LastFireResult::Error };
            last_fire(&hook_group_id, &hook_id, fired_by, &task_id, attempt_time, result, cap_error(error))
        };
        let event = |outcome: EventOutcome, error: Option<String>| FireEvent {
            hook_group_id: hook_group_id.to_string(),
            hook_id: hook_id.to_string(),
            time: attempt_time,
            fired_by,
            outcome,
            task_id: (outcome != EventOutcome::Declined).then(|| task_id.to_string()),
            error: error.map(cap_error),
            source: event_source.clone(),
        };
        let task = match read_back(rendered) {
            Ok(Some(task)) => task,
            Ok(None) => {
                self.metrics.fire(fired_by, FireResult::Declined);
                tracing::info!(%task_id, result = "declined", "hook fire");
                let event = event(EventOutcome::Declined, None);
                return Attempt { result: Ok(FireOutcome::Declined), last_fire: None, event };
            }
            Err(source) => {
                self.metrics.fire(fired_by, FireResult::Error);
                tracing::warn!(%task_id, result = "error", error = %source, "hook fire");
                let lf = last_fire(source.to_string());
                let event = event(EventOutcome::RenderError, Some(source.to_string()));
                return Attempt { result: Err(FireError::Render { task_id, source }), last_fire: Some(lf), event };
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
                let event = event(EventOutcome::Created, None);
                Attempt { result: Ok(FireOutcome::Created { task_id }), last_fire: Some(lf), event }
            }
            Err(source) => {
                self.metrics.fire(fired_by, FireResult::Error);
                tracing::warn!(%task_id, result = "error", error = %source, "hook fire");
                let lf = last_fire(source.to_string());
                let event = event(EventOutcome::CreateFailed, Some(source.to_string()));
                Attempt { result: Err(FireError::CreateTask { task_id, source }), last_fire: Some(lf), event }
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
    source: Map<String, Value>,
    task_id: TaskId,
    /// The rendered task as compact JSON, `None` where the template declined.
    rendered: Result<Option<Box<str>>, RenderError>,
}

impl Prepared {
    /// The fire's last fire as pending, to write before its task is created; none when no task will be
    /// (the template declined or failed to render).
    pub fn pending(&self) -> Option<LastFire> {
        let Ok(Some(_)) = &self.rendered else { return None };
        let (g, h, t) = (&self.hook_group_id, &self.hook_id, &self.task_id);
        Some(last_fire(g, h, self.fired_by, t, time::now_millis(), LastFireResult::Pending, String::new()))
    }

    /// The task id the fire uses.
    pub fn task_id(&self) -> &TaskId {
        &self.task_id
    }
}

/// A prepared task, parsed again. Our own serialization, read back: it cannot fail (the render worker's output was
/// parsed under the same rules), but if it did the fire fails like a render, for good.
fn read_back(rendered: Result<Option<Box<str>>, RenderError>) -> Result<Option<Map<String, Value>>, RenderError> {
    rendered.and_then(|task| {
        task.map(|task| serde_json::from_str::<Map<String, Value>>(&task))
            .transpose()
            .map_err(|e| RenderError::Failed(format!("the rendered task cannot be read back: {e}")))
    })
}

fn last_fire(
    hook_group_id: &HookGroupId,
    hook_id: &HookId,
    fired_by: FiredBy,
    task_id: &TaskId,
    time: DateTime<Utc>,
    result: LastFireResult,
    error: String,
) -> LastFire {
    LastFire {
        hook_group_id: hook_group_id.to_string(),
        hook_id: hook_id.to_string(),
        fired_by,
        task_id: task_id.to_string(),
        task_create_time: time,
        result,
        error,
    }
}
