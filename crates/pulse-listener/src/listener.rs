//! The listener's loop: connect, run a session, and on a lost connection connect again and start over.
//!
//! What outlives a connection is set up once here: the hook cache and its change subscription, the batched writes,
//! what message handlers share, and the messages in flight. Each connection is a [`Session`]. When the connection
//! goes, messages not yet acknowledged return to their queues (they are persistent in durable queues) and are
//! redelivered to the next session or another replica; fires in progress go on, so that the redelivery finds them
//! recorded.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hooks_core::metrics::Metrics;
use hooks_core::metrics::PulseEvent;
use hooks_core::pulse::BrokerHealth;
use hooks_core::render::Renderer;
use hooks_core::sink::TaskSink;
use hooks_core::storage::Pool;
use hooks_core::{Firer, Keyring};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::ListenerOptions;
use crate::batch::Batcher;
use crate::cache::HookCache;
use crate::changes::Reaction;
use crate::claim::Claims;
use crate::handler::HandlerContext;
use crate::in_flight::InFlight;
use crate::session::{End, Session, SessionSetup};
use crate::stats::{Counters, Stats};

/// The Pulse listener. Cloning is cheap; clones are the same listener.
#[derive(Clone)]
pub struct Listener {
    inner: Arc<Inner>,
}

/// What a listener is made with.
struct Inner {
    pool: Pool,
    keyring: Arc<Keyring>,
    firer: Firer,
    options: ListenerOptions,
    counters: Arc<Counters>,
    broker: BrokerHealth,
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
        let counters = Arc::new(Counters::new(metrics));
        let inner = Inner { pool, keyring, firer, options, counters, broker: BrokerHealth::default() };
        Self { inner: Arc::new(inner) }
    }

    /// What the listener has done so far.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// Whether the listener is connected to the broker now, for its heartbeat.
    pub fn broker_health(&self) -> BrokerHealth {
        self.inner.broker.clone()
    }

    /// Listens until `shutdown` resolves, then stops consuming, finishes and acknowledges the messages in flight
    /// (waiting at most `shutdown_grace`) and closes the connection.
    pub async fn run(&self, shutdown: impl Future<Output = ()> + Send) {
        let shutdown = std::pin::pin!(shutdown);
        let mut shutdown: Pin<&mut (dyn Future<Output = ()> + Send)> = shutdown;
        let Inner { pool, keyring, firer, options, counters, broker } = &*self.inner;
        let hooks = Arc::new(HookCache::new(pool.clone(), keyring.clone()));
        let (changes_tx, mut changes) = mpsc::unbounded_channel();
        let reaction = Reaction::new(hooks.clone(), changes_tx);
        let _database_changes = reaction.clone().subscribe(options.database_url.clone());
        let claims = Claims::new(pool.clone(), Batcher::start(pool));
        let handlers = HandlerContext::new(hooks, claims, firer.clone(), counters.clone(), options);
        let setup = SessionSetup {
            options: options.clone(),
            pool: pool.clone(),
            counters: counters.clone(),
            handlers: Arc::new(handlers),
            changes: reaction,
        };
        let mut in_flight = InFlight::default();
        let mut connected_before = false;
        loop {
            let connection = tokio::select! {
                () = shutdown.as_mut() => break,
                c = hooks_core::pulse::connect_with_backoff(&options.pulse_url, &options.connection_name) => Arc::new(c),
            };
            if connected_before {
                counters.event(PulseEvent::Reconnected);
            }
            connected_before = true;
            let mut session = match Session::start(connection.clone(), &setup).await {
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
            tracing::info!(session = %session.id(), "connected to the broker");
            broker.set(connection.clone());
            match session.run(&mut changes, &mut in_flight, shutdown.as_mut()).await {
                End::Shutdown => {
                    session.stop(&mut in_flight).await;
                    return;
                }
                End::Lost(reason) => {
                    broker.clear();
                    tracing::warn!(reason = %reason, "lost the connection to the broker; reconnecting");
                    drop(session);
                    let _ = connection.close(200, "reconnecting".into()).await;
                }
            }
        }
        // Stopped while not connected: let fires in progress finish (their acknowledgements can't be sent; the
        // broker redelivers those messages and the redeliveries fire nothing new).
        in_flight.drain(Instant::now() + options.shutdown_grace).await;
    }
}
