//! The Pulse listener: fires hooks from AMQP messages on their bindings, with any number of replicas sharing the
//! work as competing consumers.
//!
//! Each hook with bindings has a durable queue `queue/<PULSE_NAMESPACE>/<hookGroupId>/<hookId>`, bound exactly as
//! the hook says; the hooks table is the truth and `hooks_core::pulse::Reconciler` brings the broker to it. Each
//! message is checked against the hook as it is now, fires once under a taskId recorded before the task is
//! created (so a redelivery creates nothing new), and is acknowledged only after the fire is recorded.

mod batch;
mod cache;
mod changes;
mod claim;
mod consumer;
mod discards;
mod handler;
mod in_flight;
mod listener;
mod message;
mod options;
mod reconciling;
mod session;
mod settings;
mod stats;
mod upkeep;

pub use listener::Listener;
pub use options::ListenerOptions;
pub use settings::Settings;
pub use stats::Stats;

use std::sync::Arc;

use anyhow::Context as _;
use hooks_core::metrics::Metrics;
use hooks_core::{Health, shutdown};

/// Builds the listener from its settings and runs it until SIGTERM or SIGINT.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let options = settings.options()?;
    let pool = settings.common.database.connect().await.context("preparing the database")?;
    let keyring = Arc::new(settings.common.crypto.keyring()?);
    let deployment = settings.common.taskcluster.deployment(options.concurrency)?;
    let sink = settings.common.taskcluster.sink(deployment.as_ref(), &pool);
    Metrics::global().register_pool("main", pool.clone());
    let renderer = settings.common.render.renderer()?;
    let listener = Listener::new(pool.clone(), keyring, renderer, sink, options);
    let health = Health::new(pool).with_broker(listener.broker_health());
    let _ops = settings.ops.serve(health, Metrics::global().clone()).await?;
    tracing::info!("hooks-pulse-listener starting");
    listener.run(shutdown::signal()).await;
    tracing::info!("hooks-pulse-listener stopped");
    Ok(())
}
