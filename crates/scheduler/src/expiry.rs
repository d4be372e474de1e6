//! Forgets old last fires, fire-log events and webhook deliveries: shortly after start, then once a day, in small batches. Audit
//! history is kept.
//!
//! Every scheduler replica runs it; that is harmless, since each batch skips the rows another replica is
//! deleting at that moment.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use hooks_core::storage::{Pool, StorageError, expire_fire_log, expire_last_fires, expire_webhook_deliveries};

/// How and when last fires expire.
#[derive(Debug, Clone)]
pub struct ExpiryOptions {
    /// Last fires, fire-log events and webhook deliveries older than this are deleted (a delivery's id then no
    /// longer stops a redelivery).
    pub retention: Duration,
    /// Rows deleted per statement.
    pub batch_size: i64,
    /// Wait after start before the first pass (the database has other work then).
    pub first_pass_after: Duration,
    /// Time between passes.
    pub interval: Duration,
}

impl Default for ExpiryOptions {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(365 * 24 * 3600),
            batch_size: 1000,
            first_pass_after: Duration::from_secs(60),
            interval: Duration::from_secs(24 * 3600),
        }
    }
}

/// What one expiry pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Rows deleted.
    pub rows: usize,
    /// Statements run.
    pub batches: usize,
}

/// Deletes every last fire, fire-log event and finished webhook delivery older than the retention, one batch per statement (each its own
/// transaction), until a batch comes back short.
pub async fn expire_once(pool: &Pool, options: &ExpiryOptions) -> Result<Expired, StorageError> {
    let retention = TimeDelta::from_std(options.retention).unwrap_or(TimeDelta::MAX);
    let before = Utc::now().checked_sub_signed(retention).unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let limit = options.batch_size.max(1);
    let mut expired = Expired::default();
    for table in [Table::LastFires, Table::FireLog, Table::WebhookDeliveries] {
        loop {
            let mut conn = pool.get().await?;
            let deleted = match table {
                Table::LastFires => expire_last_fires(&mut conn, before, limit).await?,
                Table::FireLog => expire_fire_log(&mut conn, before, limit).await?,
                Table::WebhookDeliveries => expire_webhook_deliveries(&mut conn, before, limit).await?,
            };
            expired.rows += deleted;
            expired.batches += 1;
            if i64::try_from(deleted).unwrap_or(i64::MAX) < limit {
                break;
            }
        }
    }
    Ok(expired)
}

#[derive(Clone, Copy)]
enum Table {
    LastFires,
    FireLog,
    WebhookDeliveries,
}

/// Runs a pass after `first_pass_after`, then every `interval`, forever (abort the task to stop it).
pub async fn run(pool: Pool, options: ExpiryOptions) {
    tokio::time::sleep(options.first_pass_after).await;
    loop {
        let wait = match expire_once(&pool, &options).await {
            Ok(e) => {
                if e.rows > 0 {
                    tracing::info!(rows = e.rows, batches = e.batches, "old last fires expired");
                }
                options.interval
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot expire old last fires; trying again within the hour");
                options.interval.min(Duration::from_secs(3600))
            }
        };
        tokio::time::sleep(wait).await;
    }
}
