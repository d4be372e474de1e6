//! The scheduler: fires each hook's cron slots on time, exactly once, with any number of replicas.

mod scheduler;
mod settings;
mod wake;

pub use scheduler::{Scheduler, SchedulerOptions};
pub use settings::Settings;
pub use wake::listen as listen_for_changes;

use std::sync::Arc;

use anyhow::Context as _;
use hooks_core::shutdown;

/// Builds the scheduler from its settings and runs it until SIGTERM or SIGINT.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let pool = settings.common.database.connect().await.context("preparing the database")?;
    let keyring = Arc::new(settings.common.crypto.keyring()?);
    let sink = settings.common.taskcluster.sink(&pool)?;
    let notifier = settings.common.taskcluster.notifier()?;
    let scheduler = Scheduler::new(pool, keyring, sink, notifier, settings.options()?);
    let wake = wake::listen(settings.common.database.database_url.expose().to_owned());
    tracing::info!("hooks-scheduler ready");
    scheduler.run(wake, shutdown::signal()).await;
    Ok(())
}
