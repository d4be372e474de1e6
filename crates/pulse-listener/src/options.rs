//! How a listener works: the options its settings become (and tests set directly).

use std::time::Duration;

use hooks_core::SecretString;
use hooks_core::pulse::{Names, QueueOptions, Scope};

/// How the listener works.
#[derive(Debug, Clone)]
pub struct ListenerOptions {
    /// AMQP URL of the broker.
    pub pulse_url: SecretString,
    /// Names of queues and exchanges (from `PULSE_NAMESPACE`).
    pub names: Names,
    /// Postgres URL, for LISTEN on a connection of its own.
    pub database_url: SecretString,
    /// How hook queues are declared.
    pub queue: QueueOptions,
    /// Which hooks this replica serves.
    pub scope: Scope,
    /// Unacknowledged messages the broker may send per hook queue.
    pub prefetch: u16,
    /// Tasks created at once.
    pub concurrency: usize,
    /// Attempts at creating a task, failing transiently each time, before the message is dead-lettered.
    pub fire_attempts: u32,
    /// First delay before a transient failure is retried; it doubles up to `retry_max`.
    pub retry_base: Duration,
    /// Longest delay between retries.
    pub retry_max: Duration,
    /// How often every hook is reconciled, as a safety net under the change notifications.
    pub reconcile_interval: Duration,
    /// How soon a binding to an exchange that did not exist is tried again.
    pub missing_exchange_retry: Duration,
    /// How long shutdown waits for the messages in flight.
    pub shutdown_grace: Duration,
    /// How long a message's fire is remembered, to recognise its redelivery.
    pub fire_retention: Duration,
    /// The connection's name on the broker.
    pub connection_name: String,
}

impl ListenerOptions {
    /// Defaults for a broker at `pulse_url` and a database at `database_url`, under `namespace`.
    pub fn new(pulse_url: SecretString, namespace: &str, database_url: SecretString) -> Self {
        Self {
            pulse_url,
            names: Names::new(namespace),
            database_url,
            queue: QueueOptions::default(),
            scope: Scope::all(),
            prefetch: 32,
            concurrency: 64,
            fire_attempts: 10,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            reconcile_interval: Duration::from_secs(60),
            missing_exchange_retry: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(30),
            fire_retention: Duration::from_secs(7 * 24 * 3600),
            connection_name: "hooks-pulse-listener".into(),
        }
    }
}
