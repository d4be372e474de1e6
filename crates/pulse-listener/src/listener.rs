//! The listener's loop: connect, reconcile, consume; on a lost connection, connect again and start over.
//!
//! One session is one connection to the broker. A session declares the dead-letter queue, listens to the
//! hook-changed exchanges, reconciles every hook it serves, and consumes from each hook queue on a channel of its
//! own (a refused operation closes only that channel). It reconciles again the hooks a change names (Postgres
//! NOTIFY or a hook-changed message), a hook whose consumer the broker cancelled (its queue was deleted), and
//! everything every `reconcile_interval`. When the connection goes, messages not yet acknowledged return to their
//! queues (they are persistent in durable queues) and are redelivered to the next session or another replica;
//! fires in progress go on, so that the redelivery finds them recorded.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use hooks_core::crypto::Keyring;
use hooks_core::metrics::Metrics;
use hooks_core::pulse::broker::short;
use hooks_core::pulse::{BrokerHealth, HookQueue, Names, Pass, PulseError, QueueOptions, Reconciler, Scope, Topology};
use hooks_core::render::Renderer;
use hooks_core::sink::TaskSink;
use hooks_core::storage::Pool;
use hooks_core::storage::pulse::expire_pulse_fires;
use hooks_core::{Firer, SecretString};
use lapin::message::Delivery;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use tokio::sync::Semaphore;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::batch::Batcher;
use crate::cache::HookCache;
use crate::changes::{self, Change};
use crate::stats::{Counters, Stats};

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

/// State shared by the listener's tasks.
pub(crate) struct Shared {
    pub(crate) pool: Pool,
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) firer: Firer,
    pub(crate) cache: Arc<HookCache>,
    pub(crate) counters: Counters,
    pub(crate) options: ListenerOptions,
    pub(crate) discards: Mutex<HashMap<(String, String), u64>>,
    pub(crate) permits: Semaphore,
    reconciler: Reconciler,
    broker: BrokerHealth,
}

/// One connection to the broker, as message handlers see it.
pub(crate) struct SessionInfo {
    /// Unique per session: `pulse_fires.claimed_by`.
    pub(crate) id: String,
    connection: Arc<Connection>,
}

impl SessionInfo {
    /// Whether the connection is still up (so acknowledgements can still reach the broker).
    pub(crate) fn alive(&self) -> bool {
        self.connection.status().connected()
    }
}

/// The Pulse listener. Cloning is cheap; clones are the same listener.
#[derive(Clone)]
pub struct Listener {
    shared: Arc<Shared>,
}

impl Listener {
    /// A listener firing through `sink` and recording through `pool`.
    pub fn new(
        pool: Pool,
        keyring: Arc<Keyring>,
        renderer: Renderer,
        sink: Arc<dyn TaskSink>,
        options: ListenerOptions,
    ) -> Self {
        Self::with_metrics(pool, keyring, renderer, sink, options, Metrics::global().clone())
    }

    /// Like [`Listener::new`], counting in `metrics` instead of the process's (for tests).
    pub fn with_metrics(
        pool: Pool,
        keyring: Arc<Keyring>,
        renderer: Renderer,
        sink: Arc<dyn TaskSink>,
        options: ListenerOptions,
        metrics: Metrics,
    ) -> Self {
        let firer = Firer::new(renderer, sink).with_metrics(metrics.clone());
        let shared = Shared {
            pool,
            keyring,
            firer,
            cache: Arc::new(HookCache::default()),
            counters: Counters::new(metrics),
            permits: Semaphore::new(options.concurrency.max(1)),
            discards: Mutex::new(HashMap::new()),
            reconciler: Reconciler::new(options.scope.clone()),
            broker: BrokerHealth::default(),
            options,
        };
        Self { shared: Arc::new(shared) }
    }

    /// What the listener has done so far.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Whether the listener is connected to the broker now, for its heartbeat.
    pub fn broker_health(&self) -> BrokerHealth {
        self.shared.broker.clone()
    }

    /// Listens until `shutdown` resolves, then stops consuming, finishes and acknowledges the messages in flight
    /// (waiting at most `shutdown_grace`) and closes the connection.
    pub async fn run(&self, shutdown: impl Future<Output = ()> + Send) {
        let shutdown = std::pin::pin!(shutdown);
        let mut shutdown: Pin<&mut (dyn Future<Output = ()> + Send)> = shutdown;
        let shared = &self.shared;
        let (changes_tx, mut changes_rx) = mpsc::unbounded_channel();
        let _database_changes = changes::listen_database(
            shared.options.database_url.expose().to_owned(),
            shared.cache.clone(),
            changes_tx.clone(),
        );
        let mut handlers = JoinSet::new();
        let batcher = Batcher::start(&shared.pool);
        let mut sessions = 0u64;
        loop {
            let connection = tokio::select! {
                () = shutdown.as_mut() => break,
                c = hooks_core::pulse::connect_with_backoff(&shared.options.pulse_url, &shared.options.connection_name) => Arc::new(c),
            };
            sessions += 1;
            if sessions > 1 {
                Counters::add(&shared.counters.reconnects);
            }
            let started = Session::start(shared.clone(), batcher.clone(), connection.clone(), changes_tx.clone()).await;
            let mut session = match started {
                Ok(session) => session,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot set up on the broker; reconnecting");
                    let _ = connection.close(200, "setup failed".into()).await;
                    tokio::select! {
                        () = shutdown.as_mut() => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            tracing::info!(session = %session.info.id, "connected to the broker");
            shared.broker.set(connection.clone());
            match session.run(&mut changes_rx, &mut handlers, shutdown.as_mut()).await {
                End::Shutdown => {
                    session.stop(&mut handlers).await;
                    return;
                }
                End::Lost(reason) => {
                    shared.broker.clear();
                    tracing::warn!(reason = %reason, "lost the connection to the broker; reconnecting");
                    drop(session);
                    let _ = connection.close(200, "reconnecting".into()).await;
                }
            }
        }
        // Stopped while not connected: let fires in progress finish (their acknowledgements can't be sent; the
        // broker redelivers those messages and the redeliveries fire nothing new).
        drain(&mut handlers, shared.options.shutdown_grace).await;
    }
}

/// Waits for `handlers` at most `grace`, then abandons the rest.
async fn drain(handlers: &mut JoinSet<()>, grace: Duration) {
    let deadline = Instant::now() + grace;
    while !handlers.is_empty() {
        tokio::select! {
            _ = handlers.join_next() => {}
            () = tokio::time::sleep_until(deadline) => {
                tracing::warn!(
                    in_flight = handlers.len(),
                    "shutdown grace is over; messages still in flight are left to the broker to redeliver"
                );
                handlers.abort_all();
                return;
            }
        }
    }
}

/// Why a session ended.
enum End {
    Shutdown,
    Lost(String),
}

enum Event {
    Delivery(Arc<HookQueue>, Channel, Box<Delivery>),
    Ended { hook: (String, String), tag: String },
}

/// Hooks waiting to be reconciled.
#[derive(Debug, Default)]
struct Pending {
    all: bool,
    hooks: BTreeSet<(String, String)>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        !self.all && self.hooks.is_empty()
    }

    fn add(&mut self, change: Change) {
        match change {
            Change::All => self.all = true,
            Change::Hook(g, h) => {
                self.hooks.insert((g, h));
            }
        }
    }

    fn merge(&mut self, other: Pending) {
        self.all |= other.all;
        self.hooks.extend(other.hooks);
    }
}

struct Consuming {
    queue: Arc<HookQueue>,
    channel: Channel,
    tag: String,
}

/// What a reconcile pass running in the background hands back.
type PassDone = (Topology, Pending, Result<Pass, PulseError>);

struct Session {
    shared: Arc<Shared>,
    batcher: Batcher,
    info: Arc<SessionInfo>,
    /// Lent to the reconcile pass while one runs.
    topology: Option<Topology>,
    /// For housekeeping while a pass holds `topology`.
    upkeep_topology: Topology,
    consumers: HashMap<(String, String), Consuming>,
    events_tx: UnboundedSender<Event>,
    events_rx: UnboundedReceiver<Event>,
    /// The consumer tasks of this session; aborted when it ends.
    tasks: JoinSet<()>,
    /// To reconcile now.
    pending: Pending,
    /// To reconcile again at `deferred_at` (missing exchanges, failures).
    deferred: Pending,
    deferred_at: Option<Instant>,
    failures: u32,
    next_tag: u64,
    _hook_changes: Channel,
}

impl Session {
    async fn start(
        shared: Arc<Shared>,
        batcher: Batcher,
        connection: Arc<Connection>,
        changes_tx: UnboundedSender<Change>,
    ) -> Result<Self, PulseError> {
        let id = session_id();
        let names = shared.options.names.clone();
        let mut topology = Topology::new(connection.clone(), names.clone(), shared.options.queue.clone());
        let dead_letters = topology.declare_dead_letter_queue().await?;
        Counters::set(&shared.counters.dead_letter_depth, u64::from(dead_letters));
        topology.declare_hook_changed_exchanges().await?;
        let mut tasks = JoinSet::new();
        let hook_changes =
            changes::consume_hook_changes(&connection, &names, &id, shared.cache.clone(), changes_tx, &mut tasks)
                .await?;
        let upkeep_topology = Topology::new(connection.clone(), names, shared.options.queue.clone());
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        // After a reconnect the broker may have lost queues and bindings: declare and bind everything again.
        let pending = Pending { all: true, hooks: BTreeSet::new() };
        Ok(Self {
            info: Arc::new(SessionInfo { id, connection: connection.clone() }),
            shared,
            batcher,
            topology: Some(topology),
            upkeep_topology,
            consumers: HashMap::new(),
            events_tx,
            events_rx,
            tasks,
            pending,
            deferred: Pending::default(),
            deferred_at: None,
            failures: 0,
            next_tag: 0,
            _hook_changes: hook_changes,
        })
    }

    async fn run(
        &mut self,
        changes: &mut UnboundedReceiver<Change>,
        handlers: &mut JoinSet<()>,
        mut shutdown: Pin<&mut (dyn Future<Output = ()> + Send)>,
    ) -> End {
        let interval = self.shared.options.reconcile_interval;
        let mut connection_events = Box::pin(self.info.connection.events_listener());
        let mut next_full = Instant::now() + interval;
        let mut next_upkeep = Instant::now();
        // Passes run beside the message loop, one at a time: messages keep flowing while a slow pass goes on.
        let mut passes: JoinSet<PassDone> = JoinSet::new();
        loop {
            if passes.is_empty() && !self.pending.is_empty() {
                self.start_pass(&mut passes);
            }
            let mut wake = next_full.min(next_upkeep);
            if let Some(at) = self.deferred_at {
                wake = wake.min(at);
            }
            tokio::select! {
                biased;
                () = shutdown.as_mut() => return End::Shutdown,
                Some(event) = connection_events.next() => {
                    // Channel errors (a refused bind) come here too; only a dead connection ends the session.
                    if let lapin::Event::Error(e) = event
                        && !self.info.alive()
                    {
                        return End::Lost(e.to_string());
                    }
                }
                Some(event) = self.events_rx.recv() => {
                    if let Some(end) = self.on_event(event, handlers) {
                        return end;
                    }
                }
                Some(change) = changes.recv() => {
                    self.pending.add(change);
                    while let Ok(change) = changes.try_recv() {
                        self.pending.add(change);
                    }
                }
                Some(done) = passes.join_next(), if !passes.is_empty() => {
                    let outcome = match done {
                        Ok((topology, pending, result)) => {
                            self.topology = Some(topology);
                            self.finish_pass(pending, result).await
                        }
                        Err(e) => Err(End::Lost(format!("the reconcile task failed: {e}"))),
                    };
                    if let Err(end) = outcome {
                        return end;
                    }
                }
                Some(_) = handlers.join_next(), if !handlers.is_empty() => {}
                () = tokio::time::sleep_until(wake) => {
                    let now = Instant::now();
                    if self.deferred_at.is_some_and(|at| now >= at) {
                        self.deferred_at = None;
                        self.pending.merge(std::mem::take(&mut self.deferred));
                    }
                    if now >= next_full {
                        self.pending.all = true;
                        next_full = now + interval;
                    }
                    if now >= next_upkeep {
                        self.upkeep().await;
                        next_upkeep = now + interval;
                    }
                }
            }
        }
    }

    fn on_event(&mut self, event: Event, handlers: &mut JoinSet<()>) -> Option<End> {
        match event {
            Event::Delivery(queue, channel, delivery) => {
                handlers.spawn(self.shared.clone().process(
                    queue,
                    self.info.clone(),
                    self.batcher.clone(),
                    channel,
                    *delivery,
                ));
                None
            }
            Event::Ended { hook, tag } => {
                if self.consumers.get(&hook).is_none_or(|c| c.tag != tag) {
                    return None; // a consumer we cancelled ourselves
                }
                self.consumers.remove(&hook);
                Counters::set(&self.shared.counters.consuming, self.consumers.len() as u64);
                if !self.info.alive() {
                    return Some(End::Lost("the connection closed".into()));
                }
                tracing::warn!(
                    hook_group_id = %hook.0,
                    hook_id = %hook.1,
                    "the broker cancelled the hook's consumer (was its queue deleted?); restoring the queue"
                );
                self.pending.hooks.insert(hook);
                None
            }
        }
    }

    /// Starts reconciling what is pending, in the background.
    fn start_pass(&mut self, passes: &mut JoinSet<PassDone>) {
        let Some(mut topology) = self.topology.take() else { return };
        let pending = std::mem::take(&mut self.pending);
        let shared = self.shared.clone();
        passes.spawn(async move {
            let result = if pending.all {
                shared.reconciler.reconcile_all(&shared.pool, &mut topology).await
            } else {
                let hooks: Vec<(String, String)> = pending.hooks.iter().cloned().collect();
                shared.reconciler.reconcile_hooks(&shared.pool, &mut topology, &hooks).await
            };
            (topology, pending, result)
        });
    }

    /// Takes in a finished pass: consumes from the queues of the hooks served, and schedules retries.
    async fn finish_pass(&mut self, pending: Pending, result: Result<Pass, PulseError>) -> Result<(), End> {
        let shared = self.shared.clone();
        let pass = match result {
            Ok(pass) => pass,
            Err(e) => {
                if !self.info.alive() {
                    return Err(End::Lost(e.to_string()));
                }
                self.failures += 1;
                let delay = backoff(self.failures);
                tracing::warn!(error = %e, retry_in = ?delay, "cannot reconcile the broker; retrying");
                self.defer(pending, delay);
                return Ok(());
            }
        };
        self.failures = 0;
        Counters::add(&shared.counters.reconciles);
        if pass.missing_exchanges > 0 || pass.failed > 0 {
            // Only the counts are known, not which hooks: try the same set again.
            let retry = Pending { all: pending.all, hooks: pending.hooks.clone() };
            self.defer(retry, shared.options.missing_exchange_retry);
        }
        self.consume(&pass, pending.all).await
    }

    fn defer(&mut self, pending: Pending, delay: Duration) {
        self.deferred.merge(pending);
        let at = Instant::now() + delay;
        self.deferred_at = Some(self.deferred_at.map_or(at, |t| t.min(at)));
    }

    /// Starts and stops consumers to match a reconcile pass.
    async fn consume(&mut self, pass: &Pass, full: bool) -> Result<(), End> {
        let served: HashMap<(String, String), &HookQueue> =
            pass.queues.iter().map(|q| ((q.hook_group_id.clone(), q.hook_id.clone()), q)).collect();
        let mut stop: Vec<(String, String)> = pass.released.clone();
        if full {
            stop.extend(self.consumers.keys().filter(|k| !served.contains_key(*k)).cloned());
        }
        for hook in stop {
            self.stop_consumer(&hook).await;
        }
        for (hook, queue) in served {
            // A queue that had to be created again may have left our consumer registered but fed by nothing.
            let anew = pass.consume_anew.contains(&hook);
            if !anew && self.consumers.get(&hook).is_some_and(|c| c.queue.queue_name == queue.queue_name) {
                continue;
            }
            self.stop_consumer(&hook).await;
            if let Err(e) = self.start_consumer(queue.clone()).await {
                if !self.info.alive() {
                    return Err(End::Lost(e.to_string()));
                }
                tracing::warn!(hook_group_id = %hook.0, hook_id = %hook.1, error = %e, "cannot consume from the hook's queue; will retry");
                let retry = Pending { all: false, hooks: BTreeSet::from([hook]) };
                self.defer(retry, self.shared.options.missing_exchange_retry);
            }
        }
        Counters::set(&self.shared.counters.consuming, self.consumers.len() as u64);
        Ok(())
    }

    async fn start_consumer(&mut self, queue: HookQueue) -> Result<(), PulseError> {
        let failed = |action: String| move |source| PulseError::Broker { action, source };
        let channel = self.info.connection.create_channel().await.map_err(failed("opening a channel".into()))?;
        channel
            .basic_qos(self.shared.options.prefetch, BasicQosOptions { global: false })
            .await
            .map_err(failed("setting the prefetch".into()))?;
        self.next_tag += 1;
        let tag = format!("{}-{}", self.info.id, self.next_tag);
        let mut consumer = channel
            .basic_consume(
                short(&queue.queue_name)?,
                short(&tag)?,
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(failed(format!("consuming from {}", queue.queue_name)))?;
        let hook = (queue.hook_group_id.clone(), queue.hook_id.clone());
        let queue = Arc::new(queue);
        let (events, forwarded_queue, forwarded_channel, ended_tag) =
            (self.events_tx.clone(), queue.clone(), channel.clone(), tag.clone());
        self.tasks.spawn(async move {
            while let Some(delivery) = consumer.next().await {
                let Ok(delivery) = delivery else { break };
                let _ = events.send(Event::Delivery(
                    forwarded_queue.clone(),
                    forwarded_channel.clone(),
                    Box::new(delivery),
                ));
            }
            let _ = events.send(Event::Ended { hook, tag: ended_tag });
        });
        tracing::debug!(queue = %queue.queue_name, "consuming");
        let key = (queue.hook_group_id.clone(), queue.hook_id.clone());
        self.consumers.insert(key, Consuming { queue, channel, tag });
        Ok(())
    }

    async fn stop_consumer(&mut self, hook: &(String, String)) {
        if let Some(consumer) = self.consumers.remove(hook) {
            // Messages already received are still handled and acknowledged on the channel, which stays open
            // until the last of them is settled.
            if let Err(e) =
                consumer.channel.basic_cancel(short_or_empty(&consumer.tag), BasicCancelOptions::default()).await
            {
                tracing::debug!(error = %e, "cannot cancel a consumer");
            }
        }
    }

    /// Periodic housekeeping: watch the dead-letter queue and forget old fires.
    async fn upkeep(&mut self) {
        match self.upkeep_topology.dead_letter_count().await {
            Ok(depth) => {
                let before = self.shared.counters.snapshot().dead_letter_depth;
                Counters::set(&self.shared.counters.dead_letter_depth, u64::from(depth));
                if u64::from(depth) > before {
                    tracing::warn!(
                        queue = %self.shared.options.names.dead_letter_queue(),
                        depth,
                        new = u64::from(depth) - before,
                        "messages are waiting in the dead-letter queue: a hook queue overflowed or messages kept \
                         failing (each message's x-death header says which queue and why)"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot check the dead-letter queue"),
        }
        let retention =
            chrono::TimeDelta::from_std(self.shared.options.fire_retention).unwrap_or(chrono::TimeDelta::MAX);
        let before = chrono::Utc::now() - retention;
        let expired = match self.shared.pool.get().await {
            Ok(mut conn) => expire_pulse_fires(&mut conn, before).await,
            Err(e) => Err(e.into()),
        };
        match expired {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "old Pulse fires forgotten"),
            Err(e) => tracing::warn!(error = %e, "cannot expire old Pulse fires"),
        }
    }

    /// Stops consuming, handles the messages already received, waits for the fires in flight (at most
    /// `shutdown_grace`) and closes the connection.
    async fn stop(mut self, handlers: &mut JoinSet<()>) {
        let hooks: Vec<(String, String)> = self.consumers.keys().cloned().collect();
        let mut open: HashMap<(String, String), String> = HashMap::new();
        for hook in hooks {
            if let Some(consumer) = self.consumers.remove(&hook) {
                let cancelled =
                    consumer.channel.basic_cancel(short_or_empty(&consumer.tag), BasicCancelOptions::default()).await;
                if cancelled.is_ok() {
                    open.insert(hook, consumer.tag);
                }
            }
        }
        let deadline = Instant::now() + self.shared.options.shutdown_grace;
        // Until every cancelled consumer has ended, deliveries it received before the cancel still come in: they
        // are handled like any other, rather than handed back.
        while !open.is_empty() {
            tokio::select! {
                Some(event) = self.events_rx.recv() => match event {
                    Event::Delivery(queue, channel, delivery) => {
                        handlers.spawn(self.shared.clone().process(queue, self.info.clone(), self.batcher.clone(), channel, *delivery));
                    }
                    Event::Ended { hook, .. } => {
                        open.remove(&hook);
                    }
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        drain(handlers, deadline.saturating_duration_since(Instant::now())).await;
        self.tasks.abort_all();
        if let Err(e) = self.info.connection.close(200, "shutting down".into()).await {
            tracing::debug!(error = %e, "closing the connection");
        }
        tracing::info!("stopped consuming; messages in flight are settled");
    }
}

fn short_or_empty(tag: &str) -> lapin::types::ShortString {
    short(tag).unwrap_or_default()
}

fn backoff(failures: u32) -> Duration {
    (Duration::from_millis(100) * 2u32.saturating_pow(failures.min(10))).min(Duration::from_secs(10))
}

/// A random id for a session, unique across replicas and restarts.
fn session_id() -> String {
    let id = hooks_core::TaskId::generate();
    id.as_str().to_owned()
}
