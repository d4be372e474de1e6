//! The Pulse listener: fires hooks from AMQP messages on their bindings.

use anyhow::Context as _;
use clap::Parser;
use hooks_core::config::{CryptoArgs, DatabaseArgs, PulseArgs, TaskclusterArgs};
use hooks_core::shutdown;
use hooks_core::telemetry::LogArgs;

/// Fires hooks from Pulse messages.
#[derive(Debug, Clone, Parser)]
#[command(name = "hooks-pulse-listener", version, about)]
pub struct Settings {
    /// Database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Taskcluster deployment.
    #[command(flatten)]
    pub taskcluster: TaskclusterArgs,
    /// Secrets at rest.
    #[command(flatten)]
    pub crypto: CryptoArgs,
    /// Broker.
    #[command(flatten)]
    pub pulse: PulseArgs,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Connects, migrates and waits for the signal to stop (consuming comes with the listener issue).
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let pool = settings.database.connect().await.context("preparing the database")?;
    let _keyring = settings.crypto.keyring()?;
    let _sink = settings.taskcluster.sink(&pool)?;
    tracing::info!("hooks-pulse-listener ready");
    shutdown::signal().await;
    Ok(())
}
