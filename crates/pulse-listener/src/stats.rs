//! Counters of what the listener did, for logs, tests and the benchmark. A message's outcome is also counted in
//! the Prometheus metric `hooks_pulse_messages_total{outcome}`, through [`Counters::outcome`] only.

use std::sync::atomic::{AtomicU64, Ordering};

use hooks_core::metrics::{Metrics, PulseOutcome};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Live counters, shared by the listener's tasks.
        #[derive(Debug)]
        pub(crate) struct Counters {
            $(pub(crate) $name: AtomicU64,)*
            metrics: Metrics,
        }

        /// A snapshot of the counters.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct Stats {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Counters {
            pub(crate) fn new(metrics: Metrics) -> Self {
                Self { $($name: AtomicU64::new(0),)* metrics }
            }

            pub(crate) fn snapshot(&self) -> Stats {
                Stats { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters! {
    /// Messages received from hook queues.
    delivered,
    /// Messages acknowledged.
    acked,
    /// Tasks created (or found already created, on a redelivery).
    fired,
    /// Fires whose template rendered to nothing.
    declined,
    /// Fires that failed for good (render error, queue refusal); recorded as last fires.
    fire_errors,
    /// Transient failures retried (queue 5xx, database down).
    retries,
    /// Messages whose payload did not match the hook's triggerSchema; acknowledged without firing.
    schema_invalid,
    /// Messages for a hook that no longer exists; acknowledged without firing.
    hook_gone,
    /// Redelivered messages whose fire was already recorded; acknowledged without firing again.
    already_fired,
    /// Messages sent to the dead-letter queue by the listener (not JSON, or kept failing).
    dead_lettered,
    /// Messages the dead-letter queue held at the last check (overflow and delivery-limit included).
    dead_letter_depth,
    /// Reconcile passes completed.
    reconciles,
    /// Connections to the broker lost and re-established.
    reconnects,
    /// Hook queues consumed from now.
    consuming,
}

impl Counters {
    /// Counts a message's outcome here and in the metrics.
    pub(crate) fn outcome(&self, outcome: PulseOutcome) {
        let counter = match outcome {
            PulseOutcome::Fired => &self.fired,
            PulseOutcome::Declined => &self.declined,
            PulseOutcome::Invalid => &self.schema_invalid,
            PulseOutcome::Failed => &self.fire_errors,
            PulseOutcome::DeadLettered => &self.dead_lettered,
        };
        Self::add(counter);
        self.metrics.pulse_message(outcome);
    }

    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set(counter: &AtomicU64, value: u64) {
        counter.store(value, Ordering::Relaxed);
    }
}
