//! One session is one connection to the broker. It declares the dead-letter queue, listens to the hook-changed
//! exchanges, starts its upkeep, and then runs one loop: it hands each delivery to its handler, reconciles what
//! changes name (see [`crate::reconciling`]) and consumes as each pass says (see [`crate::consumer`]), until
//! shutdown or until the connection goes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use hooks_core::pulse::{PulseError, Topology};
use hooks_core::storage::Pool;
use lapin::{Channel, Connection};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::ListenerOptions;
use crate::changes::{self, Change, Reaction};
use crate::consumer::{Consumers, Event};
use crate::handler::HandlerContext;
use crate::in_flight::InFlight;
use crate::reconciling::{PassOutcome, Reconciling};
use crate::stats::Counters;
use crate::upkeep::Upkeep;

/// How long stopping waits for cancelled consumers to report their end (the broker answers a cancel in
/// milliseconds).
const CONSUMERS_END_WITHIN: Duration = Duration::from_secs(2);
/// How long stopping waits for the broker to confirm the connection's close.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);

/// One connection to the broker, as message handlers see it.
pub(crate) struct SessionInfo {
    /// Unique per session: `pulse_fires.claimed_by`.
    id: String,
    connection: Arc<Connection>,
}

impl SessionInfo {
    /// The session's id, unique across replicas and restarts.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Its connection.
    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Whether the connection is still up (so acknowledgements can still reach the broker).
    pub(crate) fn alive(&self) -> bool {
        self.connection.status().connected()
    }
}

/// What every session of a listener is made from; the listener keeps it for its lifetime.
pub(crate) struct SessionSetup {
    /// The listener's options.
    pub(crate) options: ListenerOptions,
    /// Where hooks and fires are stored.
    pub(crate) pool: Pool,
    /// What is counted.
    pub(crate) counters: Arc<Counters>,
    /// What message handlers use.
    pub(crate) handlers: Arc<HandlerContext>,
    /// What a hook change sets off.
    pub(crate) changes: Reaction,
}

/// Why a session ended.
pub(crate) enum End {
    /// Shutdown was asked for: stop the session with [`Session::stop`].
    Shutdown,
    /// The connection went, for this reason.
    Lost(String),
}

/// A session.
pub(crate) struct Session {
    info: Arc<SessionInfo>,
    consumers: Consumers,
    reconciling: Reconciling,
    shutdown_grace: Duration,
    /// The hook-changed consumer's and the upkeep's tasks; aborted when the session ends.
    tasks: JoinSet<()>,
    _hook_changes: Channel,
}

impl Session {
    /// Sets up a session on `connection`.
    pub(crate) async fn start(connection: Arc<Connection>, setup: &SessionSetup) -> Result<Self, PulseError> {
        let options = &setup.options;
        let info = Arc::new(SessionInfo { id: hooks_core::TaskId::generate().to_string(), connection });
        let topology = || Topology::new(info.connection.clone(), options.names.clone(), options.queue.clone());
        let mut reconcile_topology = topology();
        let dead_letters = reconcile_topology.declare_dead_letter_queue().await?;
        setup.counters.set_dead_letter_depth(u64::from(dead_letters));
        reconcile_topology.declare_hook_changed_exchanges().await?;
        let mut tasks = JoinSet::new();
        let hook_changes = changes::consume_hook_changes(
            &info.connection,
            &options.names,
            &info.id,
            setup.changes.clone(),
            &mut tasks,
        )
        .await?;
        let upkeep = Upkeep::new(topology(), setup.pool.clone(), setup.counters.clone(), options);
        tasks.spawn(upkeep.run());
        let consumers = Consumers::new(info.clone(), setup.handlers.clone(), setup.counters.clone(), options.prefetch);
        let reconciling = Reconciling::new(reconcile_topology, setup.pool.clone(), setup.counters.clone(), options);
        let shutdown_grace = options.shutdown_grace;
        Ok(Self { info, consumers, reconciling, shutdown_grace, tasks, _hook_changes: hook_changes })
    }

    /// The session's id.
    pub(crate) fn id(&self) -> &str {
        self.info.id()
    }

    /// Runs until `shutdown` resolves or the connection goes.
    pub(crate) async fn run(
        &mut self,
        changes: &mut UnboundedReceiver<Change>,
        in_flight: &mut InFlight,
        mut shutdown: Pin<&mut (dyn Future<Output = ()> + Send)>,
    ) -> End {
        let mut connection_events = Box::pin(self.info.connection.events_listener());
        loop {
            self.reconciling.start();
            let due = self.reconciling.next_due();
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
                Some(event) = self.consumers.next_event() => {
                    if let Some(end) = self.on_event(event, in_flight) {
                        return end;
                    }
                }
                Some(change) = changes.recv() => {
                    self.reconciling.change(change);
                    while let Ok(change) = changes.try_recv() {
                        self.reconciling.change(change);
                    }
                }
                outcome = self.reconciling.finished() => match outcome {
                    PassOutcome::Done { pass, full } => match self.consumers.apply(&pass, full).await {
                        Ok(failed) => self.reconciling.retry(failed),
                        Err(e) => return End::Lost(e.to_string()),
                    },
                    PassOutcome::Retrying => {}
                    PassOutcome::Lost(reason) => return End::Lost(reason),
                },
                () = in_flight.finished() => {}
                () = tokio::time::sleep_until(due) => self.reconciling.due(Instant::now()),
            }
        }
    }

    fn on_event(&mut self, event: Event, in_flight: &mut InFlight) -> Option<End> {
        match event {
            Event::Delivery(handler) => in_flight.spawn(*handler),
            Event::Ended { hook, tag } => {
                if !self.consumers.ended(&hook, &tag) {
                    return None; // a consumer we cancelled ourselves
                }
                if !self.info.alive() {
                    return Some(End::Lost("the connection closed".into()));
                }
                tracing::warn!(
                    %hook,
                    "the broker cancelled the hook's consumer (was its queue deleted?); restoring the queue"
                );
                self.reconciling.change(Change::Hook(hook));
            }
        }
        None
    }

    /// Stops consuming, handles the messages already received, waits for the fires in flight (at most
    /// `shutdown_grace`) and closes the connection.
    pub(crate) async fn stop(mut self, in_flight: &mut InFlight) {
        let mut open = self.consumers.cancel_all().await;
        let deadline = Instant::now() + self.shutdown_grace;
        // Until every cancelled consumer has ended, deliveries it received before the cancel still come in: they
        // are handled like any other, rather than handed back. A consumer whose end the client library never
        // reports (its channel already closing) is not waited for past CONSUMERS_END_WITHIN: what it received and
        // did not hand over goes back to the broker with the connection, and is redelivered.
        let ends_by = deadline.min(Instant::now() + CONSUMERS_END_WITHIN);
        while !open.is_empty() {
            tokio::select! {
                Some(event) = self.consumers.next_event() => match event {
                    Event::Delivery(handler) => in_flight.spawn(*handler),
                    Event::Ended { hook, .. } => {
                        open.remove(&hook);
                    }
                },
                () = tokio::time::sleep_until(ends_by) => {
                    tracing::warn!(consumers = open.len(), "cancelled consumers did not report their end; stopping without them");
                    break;
                }
            }
        }
        in_flight.drain(deadline).await;
        self.consumers.abort();
        self.tasks.abort_all();
        // The broker's close-ok may never come on a connection already failing; the process exits regardless.
        match tokio::time::timeout(CLOSE_WITHIN, self.info.connection.close(200, "shutting down".into())).await {
            Ok(Err(e)) => tracing::debug!(error = %e, "closing the connection"),
            Err(_) => tracing::warn!("the broker did not confirm the close in time; stopping without it"),
            Ok(Ok(())) => {}
        }
        tracing::info!("stopped consuming; messages in flight are settled");
    }
}
