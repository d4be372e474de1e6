//! The scheduler: fires each hook's cron slots on time, exactly once, with any number of replicas.

pub mod expiry;
mod scheduler;
mod settings;
mod wake;

pub use expiry::{Expired, ExpiryOptions};
pub use scheduler::{Batch, Scheduler, SchedulerOptions};
pub use settings::Settings;
pub use wake::listen as listen_for_changes;

use std::sync::Arc;

use anyhow::Context as _;
use hooks_core::metrics::Metrics;
use hooks_core::{Health, Notifier, shutdown};

/// Builds the scheduler from its settings and runs it until SIGTERM or SIGINT.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let expiry_options = settings.expiry()?;
    let options = settings.options()?;
    let pool = settings.common.database.connect().await.context("preparing the database")?;
    Metrics::global().register_pool("main", pool.clone());
    let _ops = settings.ops.serve(Health::new(pool.clone()), Metrics::global().clone()).await?;
    let keyring = Arc::new(settings.common.crypto.keyring()?);
    // One client for every task and email, with a connection for each task creation that can be in flight.
    let deployment = settings.common.taskcluster.deployment(options.concurrency * options.workers)?;
    let sink = settings.common.taskcluster.sink(deployment.as_ref(), &pool);
    let notifier = Notifier::new(deployment.as_ref());
    let renderer = settings.common.render.renderer()?;
    let scheduler = Scheduler::new(pool.clone(), keyring, renderer, sink, notifier, options);
    let wake = wake::listen(settings.common.database.database_url.expose().to_owned());
    tracing::info!("hooks-scheduler ready");
    let expiring = tokio::spawn(expiry::run(pool.clone(), expiry_options));
    scheduler.run(wake, shutdown::signal()).await;
    // Each batch is a statement of its own: stopping mid-pass leaves nothing half done.
    expiring.abort();
    Ok(())
}
