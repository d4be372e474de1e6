//! The suite's own database: a fresh migrated one (test-support's `TestDb`), its backends terminated on demand (only
//! its own: `datname` is this database's), and dropped at the end, also when the suite fails.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use test_support::TestDb;

/// A fresh database that is dropped, with the test process's template, when this is.
pub struct OwnDatabase {
    /// Its URL, for `DATABASE_URL`.
    pub url: String,
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl OwnDatabase {
    /// Creates it from the migrated template.
    pub async fn create() -> anyhow::Result<Self> {
        let db = TestDb::new().await;
        let name = db.url.rsplit('/').next().unwrap_or_default().to_owned();
        anyhow::ensure!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "a test database name that is safe in SQL: {name:?}"
        );
        Ok(Self { url: db.url, name })
    }

    /// Terminates every backend connected to this database (never another database's, nor the asking one); how
    /// many were.
    pub async fn terminate_backends(&self) -> anyhow::Result<i64> {
        let mut admin = AsyncPgConnection::establish(&test_support::db::server_url()).await?;
        let sql = format!(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE datname = '{}' AND pid <> pg_backend_pid()",
            self.name
        );
        let counts: Vec<Count> = diesel::sql_query(sql).load(&mut admin).await?;
        Ok(counts.iter().map(|c| c.n).sum())
    }
}

impl OwnDatabase {
    /// How many last fires of the hooks of `group` are errors. Read from the table, not through `listLastFires`:
    /// the official Rust client signs only a URL's path, so its paged calls (`?continuationToken=`) fail Hawk.
    pub async fn error_fires(&self, group: &str) -> anyhow::Result<usize> {
        let mut conn = AsyncPgConnection::establish(&self.url).await?;
        let counts: Vec<Count> =
            diesel::sql_query("SELECT count(*) AS n FROM last_fires WHERE hook_group_id = $1 AND result = 'error'")
                .bind::<Text, _>(group)
                .load(&mut conn)
                .await?;
        Ok(usize::try_from(counts.iter().map(|c| c.n).sum::<i64>()).unwrap_or(usize::MAX))
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        let own = self.name.clone();
        // The suite makes one database per process, so the template is done with too.
        let template = test_support::db::template_name();
        // Drop may run inside a runtime, which cannot block on another: drop them from a thread of its own.
        let dropped = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                let Ok(mut admin) = AsyncPgConnection::establish(&test_support::db::server_url()).await else {
                    return;
                };
                for name in [own, template] {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = diesel::sql_query(sql).execute(&mut admin).await;
                }
            });
        });
        let _ = dropped.join();
    }
}
