//! The api-server's settings: flags, each with its environment variable.

use std::path::PathBuf;

use clap::Parser;
use hooks_core::config::{CryptoArgs, DatabaseArgs, PulseArgs, TaskclusterArgs};
use hooks_core::telemetry::LogArgs;

/// Serves the hooks v1 API.
#[derive(Debug, Clone, Parser)]
#[command(name = "hooks-api-server", version, about)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "HOOKS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Create the hooks defined by the `*.json` files in this directory when they don't exist yet.
    #[arg(long, env = "HOOKS_LOAD_HOOKS")]
    pub load_hooks: Option<PathBuf>,
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
