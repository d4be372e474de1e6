//! Hook changes, from two sources that both say which hook changed: Postgres NOTIFY on `hooks_changed` (sent by a
//! trigger on every change to a hook's definition) and the hook-changed exchanges the api-server publishes to.
//! Either one alone is enough; the periodic full reconcile is the safety net under both.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use futures::StreamExt as _;
use hooks_core::pulse::{Names, PulseError, broker::short};
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use serde::Deserialize;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use crate::cache::HookCache;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// One hook.
    Hook(String, String),
    /// Possibly any hook (notifications may have been missed).
    All,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Changed {
    hook_group_id: String,
    hook_id: String,
}

fn parse(payload: &[u8]) -> Change {
    match serde_json::from_slice::<Changed>(payload) {
        Ok(c) => Change::Hook(c.hook_group_id, c.hook_id),
        Err(_) => Change::All,
    }
}

fn announce(change: Change, cache: &HookCache, tx: &UnboundedSender<Change>) {
    // Drop the cached definition before anyone hears of the change, so no message is checked against it after.
    match &change {
        Change::Hook(g, h) => cache.invalidate(g, h),
        Change::All => cache.clear(),
    }
    let _ = tx.send(change);
}

/// Stops the task it guards when dropped.
pub(crate) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// LISTENs on `hooks_changed` on a connection of its own, reconnecting with backoff when it drops.
pub(crate) fn listen_database(database_url: String, cache: Arc<HookCache>, tx: UnboundedSender<Change>) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match listen_once(&database_url, &cache, &tx).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "LISTEN hooks_changed failed; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }))
}

async fn listen_once(database_url: &str, cache: &HookCache, tx: &UnboundedSender<Change>) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    diesel::sql_query("LISTEN hooks_changed").execute(&mut conn).await?;
    // Changes made while not listening were missed: look at everything again.
    announce(Change::All, cache, tx);
    let mut notifications = Box::pin(conn.notifications_stream());
    while let Some(n) = notifications.next().await {
        announce(parse(n?.payload.as_bytes()), cache, tx);
    }
    anyhow::bail!("the LISTEN connection closed")
}

/// Consumes the hook-changed exchanges on a queue of this session's own (exclusive: it goes with the connection),
/// so that every replica hears every change (upstream's replicas shared one queue, so each change reached one).
pub(crate) async fn consume_hook_changes(
    connection: &Connection,
    names: &Names,
    session_id: &str,
    cache: Arc<HookCache>,
    tx: UnboundedSender<Change>,
    tasks: &mut JoinSet<()>,
) -> Result<Channel, PulseError> {
    let failed = |action: String| move |source| PulseError::Broker { action, source };
    let channel = connection.create_channel().await.map_err(failed("opening a channel".into()))?;
    let queue = format!("queue/{}/hook-changed/{session_id}", names.namespace());
    let options = QueueDeclareOptions { exclusive: true, auto_delete: true, ..QueueDeclareOptions::default() };
    channel
        .queue_declare(short(&queue)?, options, FieldTable::default())
        .await
        .map_err(failed(format!("declaring queue {queue}")))?;
    for exchange in names.hook_changed_exchanges() {
        channel
            .queue_bind(
                short(&queue)?,
                short(&exchange)?,
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(failed(format!("binding {queue} to {exchange}")))?;
    }
    // These messages are hints (the periodic reconcile catches anything missed): no acknowledgements needed.
    let options = BasicConsumeOptions { no_ack: true, exclusive: true, ..BasicConsumeOptions::default() };
    let mut consumer = channel
        .basic_consume(short(&queue)?, short(&format!("hook-changed-{session_id}"))?, options, FieldTable::default())
        .await
        .map_err(failed(format!("consuming from {queue}")))?;
    tasks.spawn(async move {
        while let Some(Ok(delivery)) = consumer.next().await {
            announce(parse(&delivery.data), &cache, &tx);
        }
    });
    Ok(channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_payloads_name_the_hook_or_mean_everything() {
        assert_eq!(
            parse(br#"{"op":"UPDATE","hookGroupId":"g","hookId":"a/b"}"#),
            Change::Hook("g".into(), "a/b".into())
        );
        assert_eq!(parse(br#"{"hookGroupId":"g","hookId":"h","extra":1}"#), Change::Hook("g".into(), "h".into()));
        assert_eq!(parse(b"not json"), Change::All);
    }
}
