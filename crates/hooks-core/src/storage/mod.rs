//! Postgres storage: the connection pool, migrations, and one module of plain async functions per table.

mod audit;
mod batch;
mod embedded_tasks;
mod fire_log;
mod hooks;
mod last_fires;
mod pauses;
mod pulse;
mod schema;
mod webhooks;

pub use audit::{AuditEntry, audit_history};
pub use batch::{Batcher, WriteBatch};
pub use embedded_tasks::{
    EmbeddedTask, Inserted, NewTask, existing_tasks, insert_task, insert_tasks, task_exists, tasks_of_hook,
};
pub use fire_log::{
    EventOutcome, FireEvent, LogCursor, LoggedEvent, expire_fire_log, list_fire_log, record_fire_events,
};
pub use hooks::{
    CreateOutcome, HookFinder, HookRow, advance_slots, claim_due_hooks, create_hook, delete_hook, earliest_due,
    find_hook, find_hook_rows, list_hook_groups, list_hooks, note_schedule_failure, reset_trigger_token, retry_slot_at,
    set_trigger_token, update_hook, update_hook_definition,
};
pub use last_fires::{
    LastFire, LastFireResult, PageCursor, Recorded, expire_last_fires, list_last_fires, record_last_fire,
    record_last_fires, record_last_fires_of_existing_hooks,
};
pub(crate) use last_fires::{cap_error, pending_fires_before, settle_pending_fire};
pub use pauses::{Pause, ResumeOutcome, find_pause, pause_hook, paused_among, resume_hook};
pub use pulse::{
    HookBindings, PulseFire, PulseQueue, claim_pulse_fire, delete_pulse_queue, expire_pulse_fires, find_hook_bindings,
    find_pulse_queue, finish_pulse_fires, insert_pulse_fires, list_hook_bindings, list_pulse_queues, save_pulse_queue,
};
pub(crate) use pulse::{lock_reconcile, unlock_reconcile};
pub(crate) use webhooks::finish_deliveries;
pub use webhooks::{
    DeliveryClaim, DeliveryEnd, DeliveryState, NewClaim, StoredDelivery, claim_deliveries, delete_webhook,
    expire_webhook_deliveries, set_webhook, take_left_behind_deliveries,
};

use diesel::Connection as _;
use diesel::sql_types::BigInt;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool as DeadPool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _, embed_migrations};

/// The migrations in `crates/hooks-core/migrations`, compiled into every binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

// Every binary migrates at start-up; this session-level advisory lock makes concurrent starts take turns.
const MIGRATION_LOCK: i64 = 0x686f_6f6b_735f_6d69; // "hooks_mi"

/// A pool of async Postgres connections.
pub type Pool = DeadPool<AsyncPgConnection>;
/// A connection checked out of the [`Pool`].
pub type PooledConnection = Object<AsyncPgConnection>;

/// A storage failure. Messages never include the database URL (it may carry a password).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No connection could be had from the pool.
    #[error("cannot get a database connection: {0}")]
    Pool(String),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A batched write failed (the same error answers every caller in the batch).
    #[error("{0}")]
    Batch(#[from] std::sync::Arc<StorageError>),
    /// A stored row could not be turned back into a valid value (for example a sealed secret whose key is gone).
    #[error("stored data for {what} is unusable: {problem}")]
    Corrupt {
        /// Which row.
        what: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl From<PoolError> for StorageError {
    fn from(e: PoolError) -> Self {
        Self::Pool(e.to_string())
    }
}

/// Builds a pool of at most `max_size` connections to `url`. Connections are made lazily and handed out without a
/// check query (only a connection left in a transaction or marked broken is dropped): one round trip less per use.
/// After a database restart each stale connection fails its first query; every caller copes with that already (the
/// api-server answers 500, which clients retry with the same signed request; the scheduler and listener retry).
pub fn pool(url: &str, max_size: usize) -> Result<Pool, StorageError> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    DeadPool::builder(manager).max_size(max_size).build().map_err(|e| StorageError::Pool(e.to_string()))
}

/// Applies pending migrations under an advisory lock, so several binaries starting at once take turns.
/// Returns the versions applied.
pub async fn migrate(url: &str) -> Result<Vec<String>, StorageError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|e| StorageError::Migration(format!("cannot connect: {e}")))?;
        // Migrations run on a blocking connection, hence diesel's sync query API here.
        let lock = diesel::sql_query("SELECT pg_advisory_lock($1)").bind::<BigInt, _>(MIGRATION_LOCK);
        diesel::RunQueryDsl::execute(lock, &mut conn)?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| StorageError::Migration(e.to_string()));
        // Closing the connection would release the lock too; unlocking explicitly frees it at once.
        let unlock = diesel::sql_query("SELECT pg_advisory_unlock($1)").bind::<BigInt, _>(MIGRATION_LOCK);
        diesel::RunQueryDsl::execute(unlock, &mut conn)?;
        applied
    })
    .await
    .map_err(|e| StorageError::Migration(format!("migration task failed: {e}")))?
}

/// Creates the database named in `url` when it does not exist yet, connecting to the server's `postgres`
/// database to do so. Returns whether it was created.
pub async fn create_database_if_missing(url: &str) -> Result<bool, StorageError> {
    use diesel_async::{AsyncConnection as _, RunQueryDsl as _};
    let (admin_url, name) = split_database_url(url)?;
    let mut conn = AsyncPgConnection::establish(&admin_url)
        .await
        .map_err(|e| StorageError::Pool(format!("cannot connect to the postgres database: {e}")))?;
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let found: Exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<diesel::sql_types::Text, _>(&name)
        .get_result(&mut conn)
        .await?;
    if found.exists {
        return Ok(false);
    }
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match diesel::sql_query(format!("CREATE DATABASE {quoted}")).execute(&mut conn).await {
        Ok(_) => Ok(true),
        Err(e) => {
            // Another process may have created it between our check and our CREATE: that is what we wanted.
            let now: Exists =
                diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
                    .bind::<diesel::sql_types::Text, _>(&name)
                    .get_result(&mut conn)
                    .await?;
            if now.exists { Ok(false) } else { Err(e.into()) }
        }
    }
}

/// Splits a Postgres URL into the URL of the server's `postgres` database and the database name.
pub(crate) fn split_database_url(url: &str) -> Result<(String, String), StorageError> {
    let parsed = parse_url(url)?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    if name.is_empty() {
        return Err(StorageError::Pool("DATABASE_URL names no database (add /<name> after the host)".into()));
    }
    Ok((with_database(url, "postgres")?, name))
}

/// The same server URL, naming database `name` instead.
pub fn with_database(url: &str, name: &str) -> Result<String, StorageError> {
    let mut parsed = parse_url(url)?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

fn parse_url(url: &str) -> Result<reqwest::Url, StorageError> {
    // The error names the problem, never the URL: it may carry a password.
    reqwest::Url::parse(url).map_err(|e| StorageError::Pool(format!("DATABASE_URL is not a URL: {e}")))
}
