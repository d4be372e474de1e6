//! Settings shared by the three daemons: clap argument groups, each flag with its environment variable.
//! The names of the variables are a contract with deployments (see the configuration table in README.md).

use std::sync::Arc;

use clap::Args;

use crate::SecretString;
use crate::crypto::{CryptoError, Keyring};
use crate::deployment::{Deployment, DeploymentError, RetryPolicy};
use crate::hook::{DEFAULT_EXCHANGE_DENYLIST, ExchangeDenylist};
use crate::sink::{EmbeddedSink, QueueSink, TaskSink};
use crate::storage::{self, Pool, StorageError};

/// What every daemon needs: its database, the Taskcluster deployment, the keys for secrets, and logging.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Taskcluster deployment.
    #[command(flatten)]
    pub taskcluster: TaskclusterArgs,
    /// Secrets at rest.
    #[command(flatten)]
    pub crypto: CryptoArgs,
    /// Logging.
    #[command(flatten)]
    pub log: crate::telemetry::LogArgs,
    /// What one JSON-e render may cost.
    #[command(flatten)]
    pub render: crate::render::RenderArgs,
}

/// Where the database is and how to use it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Postgres URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/hooks",
        hide_env_values = true
    )]
    pub database_url: SecretString,
    /// Largest number of database connections this process opens.
    #[arg(long, env = "HOOKS_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: usize,
    /// Don't apply pending database migrations at start-up (run them separately, e.g. as a deployment job).
    #[arg(long, env = "HOOKS_NO_MIGRATE")]
    pub no_migrate: bool,
    /// Create the database named in DATABASE_URL when it does not exist (for development set-ups).
    #[arg(long, env = "HOOKS_CREATE_DATABASE")]
    pub create_database: bool,
}

impl DatabaseArgs {
    /// Migrates (unless `--no-migrate`) and builds the pool.
    pub async fn connect(&self) -> Result<Pool, StorageError> {
        self.prepare().await?;
        storage::pool(self.database_url.expose(), self.db_pool_size)
    }

    async fn prepare(&self) -> Result<(), StorageError> {
        if !self.no_migrate {
            self.migrate().await?;
        } else if self.create_database {
            self.create_if_asked().await?;
        }
        Ok(())
    }

    /// Creates the database if `--create-database` asks for it, then applies pending migrations (whatever
    /// `--no-migrate` says: this is for a deployment's migration job). Returns the migrations applied.
    pub async fn migrate(&self) -> Result<Vec<String>, StorageError> {
        self.create_if_asked().await?;
        let applied = storage::migrate(self.database_url.expose()).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "database migrations applied");
        }
        Ok(applied)
    }

    async fn create_if_asked(&self) -> Result<(), StorageError> {
        if self.create_database && storage::create_database_if_missing(self.database_url.expose()).await? {
            tracing::info!("database created");
        }
        Ok(())
    }
}

/// The Taskcluster deployment tasks are created in.
#[derive(Debug, Clone, Args)]
pub struct TaskclusterArgs {
    /// Root URL of the Taskcluster deployment (queue, auth, notify). Unset: tasks go to the embedded sink.
    #[arg(long, env = "TASKCLUSTER_ROOT_URL")]
    pub root_url: Option<String>,
    /// The service's own client id.
    #[arg(long, env = "TASKCLUSTER_CLIENT_ID", default_value = "")]
    pub client_id: String,
    /// The service's own access token.
    #[arg(
        long,
        env = "TASKCLUSTER_ACCESS_TOKEN",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub access_token: SecretString,
    /// How many times a createTask answered by 5xx or a network error is retried (exponential backoff).
    #[arg(long, env = "HOOKS_QUEUE_RETRIES", default_value_t = 5)]
    pub queue_retries: usize,
}

/// A setting that can't be used, naming the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("{0} is not set: {1}")]
    Missing(&'static str, &'static str),
    /// A setting's value is unusable.
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
}

impl TaskclusterArgs {
    /// The configured deployment, called through one HTTP client that keeps up to `connections` connections
    /// open between calls (as many as the daemon makes at once); `None` when TASKCLUSTER_ROOT_URL is unset.
    pub fn deployment(&self, connections: usize) -> Result<Option<Deployment>, ConfigError> {
        let Some(root_url) = &self.root_url else {
            return Ok(None);
        };
        if self.client_id.is_empty() || self.access_token.expose().is_empty() {
            return Err(ConfigError::Missing(
                "TASKCLUSTER_CLIENT_ID/TASKCLUSTER_ACCESS_TOKEN",
                "the service needs its own credentials to create tasks in TASKCLUSTER_ROOT_URL",
            ));
        }
        Deployment::new(root_url, &self.client_id, &self.access_token, connections).map(Some).map_err(|e| {
            let variable = match e {
                DeploymentError::AccessToken { .. } => "TASKCLUSTER_ACCESS_TOKEN",
                DeploymentError::RootUrl { .. } | DeploymentError::Client(_) => "TASKCLUSTER_ROOT_URL",
            };
            ConfigError::Invalid(variable, e.to_string())
        })
    }

    /// The queue sink of `deployment`, or the embedded sink when none is configured.
    pub fn sink(&self, deployment: Option<&Deployment>, pool: &Pool) -> Arc<dyn TaskSink> {
        match deployment {
            Some(deployment) => {
                let retry = RetryPolicy { retries: self.queue_retries, ..RetryPolicy::default() };
                Arc::new(QueueSink::new(deployment.clone(), retry))
            }
            None => {
                tracing::info!(
                    "TASKCLUSTER_ROOT_URL is not set: tasks go to the embedded sink (the embedded_tasks table)"
                );
                Arc::new(EmbeddedSink::new(pool.clone()))
            }
        }
    }
}

/// The keys that seal secrets at rest.
#[derive(Debug, Clone, Args)]
pub struct CryptoArgs {
    /// Base64 of 32 bytes; several comma-separated keys rotate: the first encrypts, all decrypt.
    #[arg(long, env = "HOOKS_CRYPTO_KEY", hide_env_values = true)]
    pub crypto_key: Option<SecretString>,
}

impl CryptoArgs {
    /// The keyring, or an error naming the variable.
    pub fn keyring(&self) -> Result<Keyring, ConfigError> {
        let keys = self.crypto_key.as_ref().ok_or(ConfigError::Missing(
            "HOOKS_CRYPTO_KEY",
            "give a base64-encoded 32-byte key (`openssl rand -base64 32`); `make run` generates one for development",
        ))?;
        Keyring::parse(keys).map_err(|e: CryptoError| ConfigError::Invalid("HOOKS_CRYPTO_KEY", e.to_string()))
    }
}

/// The broker and the names on it.
#[derive(Debug, Clone, Args)]
pub struct PulseArgs {
    /// AMQP URL of the broker.
    #[arg(long, env = "PULSE_URL", default_value = "amqp://guest:guest@127.0.0.1:5672/%2f", hide_env_values = true)]
    pub pulse_url: SecretString,
    /// Namespace in exchange and queue names (`exchange/<ns>/v1/hook-created`, `queue/<ns>/...`).
    #[arg(long, env = "PULSE_NAMESPACE", default_value = "taskcluster-hooks")]
    pub pulse_namespace: String,
    /// Exchanges hooks may not bind to: regular expressions anchored at the start, comma-separated.
    #[arg(long, env = "HOOKS_EXCHANGE_DENYLIST", value_delimiter = ',', default_values_t = DEFAULT_EXCHANGE_DENYLIST.map(String::from))]
    pub exchange_denylist: Vec<String>,
}

impl PulseArgs {
    /// The compiled denylist.
    pub fn denylist(&self) -> Result<ExchangeDenylist, ConfigError> {
        ExchangeDenylist::new(&self.exchange_denylist)
            .map_err(|e| ConfigError::Invalid("HOOKS_EXCHANGE_DENYLIST", e.to_string()))
    }
}
