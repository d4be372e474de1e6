//! The hooks v1 HTTP API, wire-compatible with Taskcluster's hooks service.

mod around_call;
mod auth;
mod body;
mod call;
mod encoding;
mod error;
mod import;
mod metrics;
mod routes;
pub mod schemas;
mod settings;
mod startup;
mod state;
mod ui;

pub use settings::{Command, ImportArgs, Settings};
pub use startup::{Application, run};

/// Runs what the settings ask for: a one-off command, or the server until it is told to stop.
pub async fn main(settings: Settings) -> anyhow::Result<()> {
    match &settings.command {
        None => run(settings).await,
        Some(Command::Migrate) => {
            let applied = settings.common.database.migrate().await?;
            tracing::info!(count = applied.len(), "migrations applied");
            Ok(())
        }
        Some(Command::Import(args)) => import::run(&settings, args).await,
    }
}
