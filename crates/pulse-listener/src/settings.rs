//! The listener's settings: flags, each with its environment variable.

use std::time::Duration;

use clap::Parser;
use hooks_core::pulse::{Names, QueueOptions, QueueType, Scope};
use hooks_core::{CommonArgs, OpsArgs, PulseArgs};

use crate::ListenerOptions;

/// Fires hooks from Pulse messages.
#[derive(Debug, Clone, Parser)]
#[command(name = "hooks-pulse-listener", version, about)]
pub struct Settings {
    /// Serve only hooks bound to an exchange this regular expression matches in full (for per-exchange
    /// deployments); unset: every hook.
    #[arg(long, env = "HOOKS_PULSE_EXCHANGES")]
    pub exchanges: Option<String>,
    /// Kind of queue declared for each hook.
    #[arg(long, env = "HOOKS_PULSE_QUEUE_TYPE", value_enum, default_value_t = QueueType::Quorum)]
    pub queue_type: QueueType,
    /// Most messages a hook queue holds; beyond that the oldest go to the dead-letter queue.
    #[arg(long, env = "HOOKS_PULSE_QUEUE_MAX_LENGTH", default_value_t = 100_000)]
    pub queue_max_length: u32,
    /// Quorum queues: deliveries of one message (each ending without an acknowledgement) before it is
    /// dead-lettered.
    #[arg(long, env = "HOOKS_PULSE_DELIVERY_LIMIT", default_value_t = 20)]
    pub delivery_limit: u32,
    /// Unacknowledged messages the broker may send per hook queue.
    #[arg(long, env = "HOOKS_PULSE_PREFETCH", default_value_t = 32)]
    pub prefetch: u16,
    /// Tasks created at once.
    #[arg(long, env = "HOOKS_PULSE_CONCURRENCY", default_value_t = 64)]
    pub concurrency: usize,
    /// Attempts at creating a task that fail transiently (queue 5xx, network) before the message is dead-lettered.
    #[arg(long, env = "HOOKS_PULSE_FIRE_ATTEMPTS", default_value_t = 10)]
    pub fire_attempts: u32,
    /// How often every hook is reconciled with the broker, besides on every change.
    #[arg(long, env = "HOOKS_PULSE_RECONCILE_INTERVAL", default_value = "60s")]
    pub reconcile_interval: String,
    /// How long SIGTERM waits for the messages in flight.
    #[arg(long, env = "HOOKS_PULSE_SHUTDOWN_GRACE", default_value = "30s")]
    pub shutdown_grace: String,
    /// How long a message's fire is remembered, to recognise its redelivery.
    #[arg(long, env = "HOOKS_PULSE_FIRE_RETENTION", default_value = "7days")]
    pub fire_retention: String,
    /// Broker.
    #[command(flatten)]
    pub pulse: PulseArgs,
    /// Database, deployment, keys and logging.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Metrics and health port.
    #[command(flatten)]
    pub ops: OpsArgs,
}

fn duration(flag: &str, value: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(value).map_err(|e| anyhow::anyhow!("{flag} {value:?}: {e}"))
}

impl Settings {
    /// The listener's options, or an error naming the bad flag.
    pub fn options(&self) -> anyhow::Result<ListenerOptions> {
        let scope = match &self.exchanges {
            None => Scope::all(),
            Some(pattern) => Scope::exchanges(pattern)
                .map_err(|e| anyhow::anyhow!("--exchanges / HOOKS_PULSE_EXCHANGES is not a regular expression: {e}"))?,
        };
        anyhow::ensure!(self.prefetch > 0, "--prefetch / HOOKS_PULSE_PREFETCH must be at least 1");
        anyhow::ensure!(self.concurrency > 0, "--concurrency / HOOKS_PULSE_CONCURRENCY must be at least 1");
        anyhow::ensure!(self.fire_attempts > 0, "--fire-attempts / HOOKS_PULSE_FIRE_ATTEMPTS must be at least 1");
        anyhow::ensure!(
            self.queue_max_length > 0,
            "--queue-max-length / HOOKS_PULSE_QUEUE_MAX_LENGTH must be at least 1"
        );
        let mut options = ListenerOptions::new(
            self.pulse.pulse_url.clone(),
            &self.pulse.pulse_namespace,
            self.common.database.database_url.clone(),
        );
        options.names = Names::new(&self.pulse.pulse_namespace);
        options.queue = QueueOptions {
            queue_type: self.queue_type,
            max_length: self.queue_max_length,
            delivery_limit: self.delivery_limit,
        };
        options.scope = scope;
        options.prefetch = self.prefetch;
        options.concurrency = self.concurrency;
        options.fire_attempts = self.fire_attempts;
        options.reconcile_interval =
            duration("--reconcile-interval / HOOKS_PULSE_RECONCILE_INTERVAL", &self.reconcile_interval)?;
        options.shutdown_grace = duration("--shutdown-grace / HOOKS_PULSE_SHUTDOWN_GRACE", &self.shutdown_grace)?;
        options.fire_retention = duration("--fire-retention / HOOKS_PULSE_FIRE_RETENTION", &self.fire_retention)?;
        anyhow::ensure!(
            !options.reconcile_interval.is_zero(),
            "--reconcile-interval / HOOKS_PULSE_RECONCILE_INTERVAL must be longer than zero"
        );
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hooks_core::Binding;

    fn parse(args: &[&str]) -> anyhow::Result<ListenerOptions> {
        let mut argv = vec!["hooks-pulse-listener"];
        argv.extend_from_slice(args);
        Settings::try_parse_from(argv)?.options()
    }

    #[test]
    fn flags_become_options() {
        let options = parse(&[
            "--exchanges",
            "exchange/taskcluster-queue/v1/.*",
            "--queue-type",
            "classic",
            "--queue-max-length",
            "10",
            "--reconcile-interval",
            "5s",
            "--pulse-namespace",
            "ns",
        ])
        .unwrap();
        assert_eq!(options.queue.queue_type, QueueType::Classic);
        assert_eq!(options.queue.max_length, 10);
        assert_eq!(options.reconcile_interval, Duration::from_secs(5));
        assert_eq!(options.names.hook_queue("g", "h"), "queue/ns/g/h");
        let bound = |e: &str| vec![Binding { exchange: e.into(), routing_key_pattern: "#".into() }];
        assert!(options.scope.includes(&bound("exchange/taskcluster-queue/v1/task-completed")));
        assert!(!options.scope.includes(&bound("exchange/taskcluster-github/v1/push")));
        let defaults = parse(&[]).unwrap();
        assert_eq!(defaults.queue.queue_type, QueueType::Quorum);
        assert!(defaults.scope.includes(&bound("anything")));
    }

    #[test]
    fn bad_flags_are_named() {
        let e = parse(&["--exchanges", "("]).unwrap_err().to_string();
        assert!(e.contains("--exchanges / HOOKS_PULSE_EXCHANGES"), "{e}");
        let e = parse(&["--shutdown-grace", "soon"]).unwrap_err().to_string();
        assert!(e.contains("--shutdown-grace"), "{e}");
        let e = parse(&["--prefetch", "0"]).unwrap_err().to_string();
        assert!(e.contains("--prefetch"), "{e}");
    }
}

#[cfg(test)]
#[test]
fn every_flag_and_variable_is_in_the_configuration_reference() {
    test_support::docs::assert_documented(&<Settings as clap::CommandFactory>::command());
}
