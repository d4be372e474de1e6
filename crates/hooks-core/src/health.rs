//! What the Dockerflow routes answer: `__heartbeat__` (are the database and, for the listener, the broker
//! usable?) and `__version__` (which build this is). Served by the api-server and by [`crate::ops_server`].

use std::time::Duration;

use diesel_async::RunQueryDsl as _;
use serde_json::{Map, Value, json};

use crate::pulse::BrokerHealth;
use crate::storage::Pool;

/// How long the database may take to answer the heartbeat's `SELECT 1` (connecting included).
pub(crate) const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// The git commit this binary was built from (`HOOKS_GIT_COMMIT` at build time, else `git rev-parse HEAD`, else
/// `unknown`).
pub(crate) const GIT_COMMIT: &str = env!("HOOKS_GIT_COMMIT");

/// The `__version__` body: Dockerflow's `{source, version, commit, build}`.
pub fn version() -> Value {
    json!({
        // This project's repository: what a Dockerflow `source` names is the code that runs.
        "source": env!("CARGO_PKG_REPOSITORY"),
        "version": env!("CARGO_PKG_VERSION"),
        "commit": GIT_COMMIT,
        "build": env!("HOOKS_BUILD"),
    })
}

/// What a daemon depends on, checked by `__heartbeat__`.
#[derive(Clone)]
pub struct Health {
    pool: Pool,
    broker: Option<BrokerHealth>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health").field("broker", &self.broker).finish_non_exhaustive()
    }
}

/// The outcome of a heartbeat: what is down, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    down: Vec<(&'static str, String)>,
}

impl HealthReport {
    /// Whether everything answered.
    pub fn healthy(&self) -> bool {
        self.down.is_empty()
    }

    /// The HTTP status to answer with: 200 when healthy, else 503.
    pub fn status(&self) -> u16 {
        if self.healthy() { 200 } else { 503 }
    }

    /// `{}` when healthy (as upstream), else `{"down": {"<what>": "<why>"}}`. Reasons never hold secrets: storage
    /// errors never include the database URL.
    pub fn body(&self) -> Value {
        if self.healthy() {
            return json!({});
        }
        let down: Map<String, Value> =
            self.down.iter().map(|(what, why)| ((*what).to_owned(), Value::String(why.clone()))).collect();
        json!({ "down": down })
    }
}

impl Health {
    /// Checks the database behind `pool`.
    pub fn new(pool: Pool) -> Self {
        Self { pool, broker: None }
    }

    /// Checks the broker connection too.
    pub fn with_broker(mut self, broker: BrokerHealth) -> Self {
        self.broker = Some(broker);
        self
    }

    /// Runs `SELECT 1` on a pooled connection (within `DATABASE_TIMEOUT`, 2 s) and reads the broker flag.
    pub async fn check(&self) -> HealthReport {
        let mut down = Vec::new();
        if let Some(problem) = self.database().await {
            down.push(("database", problem));
        }
        if let Some(broker) = &self.broker
            && !broker.connected()
        {
            down.push(("broker", "not connected".to_owned()));
        }
        if !down.is_empty() {
            tracing::warn!(?down, "heartbeat: not healthy");
        }
        HealthReport { down }
    }

    async fn database(&self) -> Option<String> {
        let query = async {
            let mut conn = self.pool.get().await.map_err(|e| crate::storage::StorageError::from(e).to_string())?;
            diesel::sql_query("SELECT 1").execute(&mut conn).await.map_err(|e| format!("SELECT 1 failed: {e}"))
        };
        match tokio::time::timeout(DATABASE_TIMEOUT, query).await {
            Ok(Ok(_)) => None,
            Ok(Err(problem)) => Some(problem),
            Err(_) => Some(format!("no answer within {} ms", DATABASE_TIMEOUT.as_millis())),
        }
    }
}
