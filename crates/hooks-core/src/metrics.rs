//! Prometheus metrics: one registry per process, with every metric the three daemons export, rendered in the
//! OpenMetrics text format (which Prometheus scrapes) by [`Metrics::render`].
//!
//! Each daemon uses [`Metrics::global`]; a test that needs counters of its own gives its [`crate::Firer`] a fresh
//! [`Metrics::new`], so tests running side by side in one process don't move each other's counts.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::fire::FiredBy;
use crate::storage::Pool;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How a fire ended, as `result` in `hooks_fires_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FireResult {
    /// A task was created.
    Success,
    /// Rendering or creating the task failed.
    Error,
    /// The template rendered to nothing.
    Declined,
}

impl FireResult {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Declined => "declined",
        }
    }
}

/// What the Pulse listener did with a message, as `outcome` in `hooks_pulse_messages_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PulseOutcome {
    /// A task was created (or found created, on a redelivery).
    Fired,
    /// The template rendered to nothing.
    Declined,
    /// The payload did not match the hook's triggerSchema.
    Invalid,
    /// The fire failed for good (recorded as a last fire).
    Failed,
    /// The message went to the dead-letter queue.
    DeadLettered,
    /// The hook no longer exists: acknowledged without firing.
    HookGone,
    /// A redelivered message whose fire was already recorded: acknowledged without firing again.
    AlreadyFired,
}

impl PulseOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Declined => "declined",
            Self::Invalid => "invalid",
            Self::Failed => "failed",
            Self::DeadLettered => "dead_lettered",
            Self::HookGone => "hook_gone",
            Self::AlreadyFired => "already_fired",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FireLabels {
    fired_by: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SinkLabels {
    sink: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

// Fires and task creation take milliseconds to seconds (with the queue's retries); HTTP calls a millisecond up.
fn latency_histogram() -> Histogram {
    Histogram::new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
}

// A slot is late by the claim, the render and the queue's answer: normally well under a second; minutes after
// downtime or a backlog.
fn lag_histogram() -> Histogram {
    Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0])
}

/// The registry and every metric in it. Cloning is cheap; clones share the metrics.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    fires: Family<FireLabels, Counter>,
    schedule_lag: Histogram,
    slots_skipped: Counter,
    pulse_messages: Family<OutcomeLabels, Counter>,
    pulse: PulseMetrics,
    task_create_duration: HistogramFamily<SinkLabels>,
    http_requests: Family<RequestLabels, Counter>,
    http_request_duration: HistogramFamily<MethodLabels>,
    pools: Arc<PoolCollector>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry of its own, with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let fires = Family::<FireLabels, Counter>::default();
        // prometheus-client appends `_total` to counters and the unit to histograms.
        registry.register("hooks_fires", "Hook fires, by what fired them and how they ended", fires.clone());
        let schedule_lag = lag_histogram();
        registry.register(
            "hooks_schedule_lag_seconds",
            "From a cron slot's time to its task being created",
            schedule_lag.clone(),
        );
        let slots_skipped = Counter::default();
        registry.register(
            "hooks_schedule_slots_skipped",
            "Cron slots not fired: missed (after downtime, or behind a slot that kept failing) and passed over by the \
             catch-up policy, or given up after failing transiently for the whole catch-up window",
            slots_skipped.clone(),
        );
        let pulse_messages = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "hooks_pulse_messages",
            "Pulse messages handled by the listener, by outcome",
            pulse_messages.clone(),
        );
        let pulse = PulseMetrics::register(&mut registry);
        let task_create_duration: HistogramFamily<SinkLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "hooks_task_create_duration_seconds",
            "Time taken by the task sink's createTask, retries included",
            task_create_duration.clone(),
        );
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests served, by API method name and status",
            http_requests.clone(),
        );
        let http_request_duration: HistogramFamily<MethodLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time taken to answer HTTP requests, by API method name",
            http_request_duration.clone(),
        );
        let pools = Arc::new(PoolCollector::default());
        registry.register_collector(Box::new(pools.clone()));
        let inner = Inner {
            registry,
            fires,
            schedule_lag,
            slots_skipped,
            pulse_messages,
            pulse,
            task_create_duration,
            http_requests,
            http_request_duration,
            pools,
        };
        Self { inner: Arc::new(inner) }
    }

    /// The process's metrics, which the daemons export.
    pub fn global() -> &'static Metrics {
        static GLOBAL: OnceLock<Metrics> = OnceLock::new();
        GLOBAL.get_or_init(Metrics::new)
    }

    /// Counts one fire.
    pub fn fire(&self, fired_by: FiredBy, result: FireResult) {
        self.inner.fires.get_or_create(&FireLabels { fired_by: fired_by.as_str(), result: result.as_str() }).inc();
    }

    /// How many fires were counted with these labels.
    pub fn fires(&self, fired_by: FiredBy, result: FireResult) -> u64 {
        let labels = FireLabels { fired_by: fired_by.as_str(), result: result.as_str() };
        self.inner.fires.get(&labels).map_or(0, |c| c.get())
    }

    /// Observes how late a cron slot's task was created.
    pub fn schedule_lag(&self, lag: Duration) {
        self.inner.schedule_lag.observe(lag.as_secs_f64());
    }

    /// Counts cron slots that will not be fired.
    pub fn slots_skipped(&self, n: u64) {
        self.inner.slots_skipped.inc_by(n);
    }

    /// How many cron slots were counted as skipped.
    pub fn skipped_slots(&self) -> u64 {
        self.inner.slots_skipped.get()
    }

    /// Counts one Pulse message's outcome.
    pub fn pulse_message(&self, outcome: PulseOutcome) {
        self.inner.pulse_messages.get_or_create(&OutcomeLabels { outcome: outcome.as_str() }).inc();
    }

    /// Counts one thing the pulse-listener did besides settling a message.
    pub fn pulse_event(&self, event: PulseEvent) {
        self.inner.pulse.events[event as usize].inc();
    }

    /// Sets how many messages the dead-letter queue holds.
    pub fn pulse_dead_letter_depth(&self, depth: u64) {
        self.inner.pulse.dead_letter_messages.set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Sets how many hook queues the pulse-listener consumes from.
    pub fn pulse_consumed_queues(&self, queues: u64) {
        self.inner.pulse.consumed_queues.set(i64::try_from(queues).unwrap_or(i64::MAX));
    }

    /// Observes one createTask call of `sink`.
    pub fn task_create(&self, sink: &'static str, took: Duration) {
        self.inner.task_create_duration.get_or_create(&SinkLabels { sink }).observe(took.as_secs_f64());
    }

    /// Counts one HTTP request answered, by API method name (`unknown` for unmatched routes).
    pub fn http_request(&self, method: &'static str, status: u16, took: Duration) {
        self.inner.http_requests.get_or_create(&RequestLabels { method, status }).inc();
        self.inner.http_request_duration.get_or_create(&MethodLabels { method }).observe(took.as_secs_f64());
    }

    /// Exports `pool`'s connections in use and idle as `hooks_db_pool_connections{pool, state}`, read at each
    /// scrape. Registering a name again replaces the earlier pool.
    pub fn register_pool(&self, name: &'static str, pool: Pool) {
        let mut pools = self.inner.pools.pools.lock().unwrap_or_else(|p| p.into_inner());
        pools.retain(|(n, _)| *n != name);
        pools.push((name, pool));
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an encoder error would mean a bug in a label, so serve what we have.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        text
    }
}

/// What the pulse-listener counts besides message outcomes, each in a counter of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PulseEvent {
    /// A message received from a hook queue (a redelivery counts again).
    Delivered,
    /// A message acknowledged after it was handled.
    Acked,
    /// A transient failure handling a message, retried after a backoff.
    Retried,
    /// A reconcile pass completed.
    Reconciled,
    /// A connection to the broker made again after one was lost.
    Reconnected,
}

impl PulseEvent {
    const ALL: [Self; 5] = [Self::Delivered, Self::Acked, Self::Retried, Self::Reconciled, Self::Reconnected];

    /// The counter's name (without `_total`) and help.
    fn metric(self) -> (&'static str, &'static str) {
        match self {
            Self::Delivered => {
                ("hooks_pulse_deliveries", "Messages received from hook queues (a redelivery counts again)")
            }
            Self::Acked => ("hooks_pulse_acks", "Messages acknowledged after they were handled"),
            Self::Retried => (
                "hooks_pulse_retries",
                "Transient failures handling a message (queue 5xx, database down), each retried after a backoff",
            ),
            Self::Reconciled => {
                ("hooks_pulse_reconciles", "Passes reconciling hook queues and bindings with the hooks table")
            }
            Self::Reconnected => ("hooks_pulse_reconnects", "Connections to the broker lost and made again"),
        }
    }
}

/// The pulse-listener's metrics besides `hooks_pulse_messages_total`: what its tests read of a listener, for
/// operators to see too.
struct PulseMetrics {
    events: [Counter; PulseEvent::ALL.len()],
    dead_letter_messages: Gauge,
    consumed_queues: Gauge,
}

impl PulseMetrics {
    fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            events: Default::default(),
            dead_letter_messages: Gauge::default(),
            consumed_queues: Gauge::default(),
        };
        for event in PulseEvent::ALL {
            let (name, help) = event.metric();
            registry.register(name, help, metrics.events[event as usize].clone());
        }
        registry.register(
            "hooks_pulse_dead_letter_messages",
            "Messages in the dead-letter queue at the last check (overflow, delivery limit, or dead-lettered by the \
             listener)",
            metrics.dead_letter_messages.clone(),
        );
        registry.register(
            "hooks_pulse_consumed_queues",
            "Hook queues this listener consumes from",
            metrics.consumed_queues.clone(),
        );
        metrics
    }
}

/// Samples the registered pools' status at scrape time.
#[derive(Default)]
struct PoolCollector {
    pools: Mutex<Vec<(&'static str, Pool)>>,
}

impl std::fmt::Debug for PoolCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolCollector").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let statuses: Vec<_> = {
            let pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
            pools.iter().map(|(name, pool)| (*name, pool.status())).collect()
        };
        if statuses.is_empty() {
            return Ok(());
        }
        let gauge = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "hooks_db_pool_connections",
            "Database connections of this process, in use or idle in the pool",
            None,
            gauge.metric_type(),
        )?;
        for (pool, status) in &statuses {
            let idle = status.available;
            let in_use = status.size.saturating_sub(idle);
            for (state, value) in [("in_use", in_use), ("idle", idle)] {
                let labels = PoolLabels { pool, state };
                ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX)).encode(family.encode_family(&labels)?)?;
            }
        }
        let gauge = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "hooks_db_pool_max_connections",
            "Most database connections the pool opens",
            None,
            gauge.metric_type(),
        )?;
        for (pool, status) in &statuses {
            let labels = [("pool", *pool)];
            ConstGauge::new(i64::try_from(status.max_size).unwrap_or(i64::MAX))
                .encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_their_labels() {
        let metrics = Metrics::new();
        metrics.fire(FiredBy::TriggerHook, FireResult::Declined);
        metrics.pulse_message(PulseOutcome::DeadLettered);
        metrics.pulse_event(PulseEvent::Reconnected);
        metrics.pulse_dead_letter_depth(3);
        metrics.http_request("triggerHook", 200, Duration::from_millis(3));
        metrics.schedule_lag(Duration::from_millis(20));
        let text = metrics.render();
        assert!(text.contains(r#"hooks_fires_total{fired_by="triggerHook",result="declined"} 1"#), "{text}");
        assert!(text.contains(r#"hooks_pulse_messages_total{outcome="dead_lettered"} 1"#), "{text}");
        assert!(text.contains("hooks_pulse_reconnects_total 1"), "{text}");
        assert!(text.contains("hooks_pulse_dead_letter_messages 3"), "{text}");
        assert!(text.contains(r#"http_requests_total{method="triggerHook",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"http_request_duration_seconds_count{method="triggerHook"} 1"#), "{text}");
        assert!(text.contains("hooks_schedule_lag_seconds_count 1"), "{text}");
        assert_eq!(metrics.fires(FiredBy::TriggerHook, FireResult::Declined), 1);
        assert_eq!(metrics.fires(FiredBy::Schedule, FireResult::Declined), 0);
    }
}
