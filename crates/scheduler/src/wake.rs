//! Wake-ups on hook changes: a dedicated connection LISTENs on `hooks_changed` (sent by a trigger on every change
//! to a hook's definition), reconnecting when it drops.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use futures::StreamExt as _;
use tokio::sync::Notify;

/// Starts listening; the returned `Notify` is signalled on every change.
pub fn listen(database_url: String) -> Arc<Notify> {
    let wake = Arc::new(Notify::new());
    let signal = wake.clone();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match listen_once(&database_url, &signal).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN hooks_changed failed; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
            // Changes may have been missed while disconnected: wake once to re-read the earliest slot.
            signal.notify_one();
        }
    });
    wake
}

async fn listen_once(database_url: &str, signal: &Notify) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    diesel::sql_query("LISTEN hooks_changed").execute(&mut conn).await?;
    let mut notifications = Box::pin(conn.notifications_stream());
    while let Some(n) = notifications.next().await {
        n?;
        signal.notify_one();
    }
    anyhow::bail!("the LISTEN connection closed")
}
