//! The api-server's settings: flags, each with its environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use hooks_core::auth::AuthArgs;
use hooks_core::{CommonArgs, PulseArgs};

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
    /// Development mode (`make run`): --load-hooks replaces a stored hook whose secrets were sealed under a key that
    /// is gone, instead of stopping with an error.
    #[arg(long, env = "HOOKS_DEV")]
    pub dev: bool,
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
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// One-off commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Apply pending database migrations (under the advisory lock every daemon takes) and exit: for a
    /// deployment's migration job, with the daemons started with --no-migrate.
    Migrate,
    /// Copy every hook of an existing Taskcluster deployment (through its public API) into this one; run again to
    /// bring over later changes. Prints what it does (or would do, with --dry-run).
    Import(ImportArgs),
}

/// Where `import` copies hooks from.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Root URL of the deployment whose hooks service to copy from.
    #[arg(long = "from", env = "HOOKS_IMPORT_FROM")]
    pub from: String,
    /// Client id to read hooks with (needs `hooks:list-hooks:*` and `hooks:get:*`, and
    /// `hooks:get-trigger-token:*` with --copy-trigger-tokens).
    #[arg(long, env = "HOOKS_IMPORT_CLIENT_ID")]
    pub from_client_id: Option<String>,
    /// That client's access token.
    #[arg(long, env = "HOOKS_IMPORT_ACCESS_TOKEN", hide_env_values = true)]
    pub from_access_token: Option<hooks_core::SecretString>,
    /// Also copy each hook's trigger token, so webhook URLs keep working after the switch.
    #[arg(long)]
    pub copy_trigger_tokens: bool,
    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[cfg(test)]
#[test]
fn every_flag_and_variable_is_in_the_configuration_reference() {
    test_support::docs::assert_documented(&<Settings as clap::CommandFactory>::command());
}
