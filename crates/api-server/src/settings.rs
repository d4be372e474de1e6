//! The api-server's settings: flags, each with its environment variable.

use std::path::PathBuf;

use clap::Parser;
use hooks_core::auth::AuthArgs;
use hooks_core::config::{CommonArgs, PulseArgs};

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
    /// Database, deployment, keys and logging.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Broker.
    #[command(flatten)]
    pub pulse: PulseArgs,
    /// Authentication.
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Believe X-Forwarded-Proto and X-Forwarded-Port for the host and port requests were signed for (only behind
    /// a load balancer that sets them).
    #[arg(long, env = "HOOKS_TRUST_PROXY")]
    pub trust_proxy: bool,
}
