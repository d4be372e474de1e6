//! One database per test, cloned from a template migrated once per test process.

use std::sync::atomic::{AtomicUsize, Ordering};

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use hooks_core::storage::{self, Pool};
use tokio::sync::OnceCell;

/// The server tests use; override with `HOOKS_TEST_DATABASE_URL` (any database on the server; it is only used
/// to create and drop the test databases).
pub fn server_url() -> String {
    std::env::var("HOOKS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

const PREFIX: &str = "hooks_test_";
static TEMPLATE: OnceCell<String> = OnceCell::const_new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A freshly migrated database of its own.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    /// A pool on it.
    pub pool: Pool,
    /// Its name.
    pub name: String,
}

impl TestDb {
    /// Creates the database. Panics, saying how to start Postgres, when the server can't be reached.
    pub async fn new() -> Self {
        let template = TEMPLATE.get_or_init(create_template).await;
        let name = format!("{PREFIX}{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
        admin_exec(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await;
        let url = database_url(&name);
        let pool = storage::pool(&url, 8).expect("pool");
        Self { url, pool, name }
    }

    /// Ends every server process (backend) connected to this database, as a database restart or a network cut
    /// would: their connections fail at their next statement. Other databases are not touched.
    pub async fn terminate_backends(&self) {
        admin_exec(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
            self.name
        ))
        .await;
    }

    /// Makes the server refuse (or accept again) new connections to this database, as if it were down.
    pub async fn refuse_connections(&self, refuse: bool) {
        admin_exec(&format!("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}", self.name, !refuse)).await;
    }
}

/// The URL of database `name` on the test server.
pub fn database_url(name: &str) -> String {
    storage::with_database(&server_url(), name).expect("HOOKS_TEST_DATABASE_URL must be a Postgres URL")
}

async fn admin() -> AsyncPgConnection {
    let url = server_url();
    AsyncPgConnection::establish(&url).await.unwrap_or_else(|e| {
        panic!(
            "cannot connect to Postgres at {url}: {e}\n\
             Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    })
}

async fn admin_exec(sql: &str) {
    let mut conn = admin().await;
    diesel::sql_query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Drops the databases left by test processes that are gone, then creates and migrates this process's template.
async fn create_template() -> String {
    drop_stale_databases().await;
    let name = template_name();
    admin_exec(&format!("CREATE DATABASE {name}")).await;
    storage::migrate(&database_url(&name)).await.expect("migrating the test template");
    name
}

/// The name of this process's template database (created with its first [`TestDb`]).
pub fn template_name() -> String {
    format!("{PREFIX}{}_template", std::process::id())
}

async fn drop_stale_databases() {
    #[derive(diesel::QueryableByName)]
    struct Db {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let mut conn = admin().await;
    let dbs: Vec<Db> = diesel::sql_query(format!("SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"))
        .load(&mut conn)
        .await
        .expect("listing test databases");
    for db in dbs {
        let pid = db.datname[PREFIX.len()..].split('_').next().and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            // Another process may be dropping the same one: ignore failures.
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.datname))
                .execute(&mut conn)
                .await;
        }
    }
}
