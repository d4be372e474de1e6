//! What the listener did, counted twice over: per listener, for its tests and the benchmark ([`Stats`]), and in the
//! process's Prometheus metrics, for operators (`hooks_pulse_*`). Every count goes through one method here that does
//! both, so that operators see what the tests see; the metric first, so a count a test has seen is already in it.

use std::sync::atomic::{AtomicU64, Ordering};

use hooks_core::metrics::{Metrics, PulseEvent, PulseOutcome};

// Each counter names the metric it mirrors, so none can be added without one.
macro_rules! counters {
    (
        outcomes { $($(#[$outcome_doc:meta])* $outcome:ident = $outcome_variant:ident,)* }
        events { $($(#[$event_doc:meta])* $event:ident = $event_variant:ident,)* }
        gauges { $($(#[$gauge_doc:meta])* $gauge:ident,)* }
    ) => {
        /// Live counters, shared by the listener's tasks.
        #[derive(Debug)]
        pub(crate) struct Counters {
            $($outcome: AtomicU64,)*
            $($event: AtomicU64,)*
            $($gauge: AtomicU64,)*
            metrics: Metrics,
        }

        /// A snapshot of the counters.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct Stats {
            $($(#[$outcome_doc])* pub $outcome: u64,)*
            $($(#[$event_doc])* pub $event: u64,)*
            $($(#[$gauge_doc])* pub $gauge: u64,)*
        }

        impl Counters {
            pub(crate) fn new(metrics: Metrics) -> Self {
                Self {
                    $($outcome: AtomicU64::new(0),)*
                    $($event: AtomicU64::new(0),)*
                    $($gauge: AtomicU64::new(0),)*
                    metrics,
                }
            }

            pub(crate) fn snapshot(&self) -> Stats {
                Stats {
                    $($outcome: self.$outcome.load(Ordering::Relaxed),)*
                    $($event: self.$event.load(Ordering::Relaxed),)*
                    $($gauge: self.$gauge.load(Ordering::Relaxed),)*
                }
            }

            fn of_outcome(&self, outcome: PulseOutcome) -> &AtomicU64 {
                match outcome {
                    $(PulseOutcome::$outcome_variant => &self.$outcome,)*
                }
            }

            fn of_event(&self, event: PulseEvent) -> &AtomicU64 {
                match event {
                    $(PulseEvent::$event_variant => &self.$event,)*
                }
            }
        }
    };
}

counters! {
    outcomes {
        /// Tasks created (or found already created, on a redelivery).
        fired = Fired,
        /// Fires whose template rendered to nothing.
        declined = Declined,
        /// Fires that failed for good (render error, queue refusal); recorded as last fires.
        fire_errors = Failed,
        /// Messages whose payload did not match the hook's triggerSchema; acknowledged without firing.
        schema_invalid = Invalid,
        /// Messages for a hook that no longer exists; acknowledged without firing.
        hook_gone = HookGone,
        /// Redelivered messages whose fire was already recorded; acknowledged without firing again.
        already_fired = AlreadyFired,
        /// Messages sent to the dead-letter queue by the listener (not JSON, or kept failing).
        dead_lettered = DeadLettered,
    }
    events {
        /// Messages received from hook queues.
        delivered = Delivered,
        /// Messages acknowledged.
        acked = Acked,
        /// Transient failures retried (queue 5xx, database down).
        retries = Retried,
        /// Reconcile passes completed.
        reconciles = Reconciled,
        /// Connections to the broker lost and re-established.
        reconnects = Reconnected,
    }
    gauges {
        /// Messages the dead-letter queue held at the last check (overflow and delivery-limit included).
        dead_letter_depth,
        /// Hook queues consumed from now.
        consuming,
    }
}

impl Counters {
    /// Counts what became of a message.
    pub(crate) fn outcome(&self, outcome: PulseOutcome) {
        self.metrics.pulse_message(outcome);
        self.of_outcome(outcome).fetch_add(1, Ordering::Relaxed);
    }

    /// Counts something else the listener did.
    pub(crate) fn event(&self, event: PulseEvent) {
        self.metrics.pulse_event(event);
        self.of_event(event).fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the dead-letter queue's depth; returns the depth before.
    pub(crate) fn set_dead_letter_depth(&self, depth: u64) -> u64 {
        self.metrics.pulse_dead_letter_depth(depth);
        self.dead_letter_depth.swap(depth, Ordering::Relaxed)
    }

    /// Sets how many hook queues are consumed from.
    pub(crate) fn set_consuming(&self, queues: usize) {
        let queues = queues as u64;
        self.metrics.pulse_consumed_queues(queues);
        self.consuming.store(queues, Ordering::Relaxed);
    }
}
