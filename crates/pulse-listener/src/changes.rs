//! Hook changes, from two sources that both say which hook changed: Postgres NOTIFY on `hooks_changed`, through
//! `hooks_core::changes`, and the hook-changed exchanges the api-server publishes to. Either one alone is enough;
//! the periodic full reconcile is the safety net under both. The listener reacts to both alike: it forgets the
//! cached definition, then has the session reconcile the hook.

use std::sync::Arc;

use futures::StreamExt as _;
use hooks_core::SecretString;
pub(crate) use hooks_core::changes::Change;
use hooks_core::changes::{self, Subscription};
use hooks_core::pulse::{Names, PulseError, short};
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use crate::cache::HookCache;

/// The listener's reaction to a change, whichever source announced it.
#[derive(Clone)]
pub(crate) struct Reaction {
    cache: Arc<HookCache>,
    reconcile: UnboundedSender<Change>,
}

impl Reaction {
    /// Forgets changed hooks in `cache` and sends them to `reconcile`.
    pub(crate) fn new(cache: Arc<HookCache>, reconcile: UnboundedSender<Change>) -> Self {
        Self { cache, reconcile }
    }

    fn react(&self, change: Change) {
        // Drop the cached definition before anyone hears of the change, so no message is checked against it after.
        self.cache.forget(&change);
        // The receiver goes only when the listener stops.
        let _ = self.reconcile.send(change);
    }

    /// Reacts to the changes Postgres announces until the subscription is dropped.
    pub(crate) fn subscribe(self, database_url: SecretString) -> Subscription {
        changes::subscribe(database_url, move |change| self.react(change))
    }
}

/// Consumes the hook-changed exchanges on a queue of this session's own (exclusive: it goes with the connection),
/// so that every replica hears every change (upstream's replicas shared one queue, so each change reached one).
pub(crate) async fn consume_hook_changes(
    connection: &Connection,
    names: &Names,
    session_id: &str,
    reaction: Reaction,
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
            reaction.react(Change::from_payload(&delivery.data));
        }
    });
    Ok(channel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hooks_core::HookKey;

    // The exchanges' messages and the NOTIFY payloads are read alike.
    #[test]
    fn change_payloads_name_the_hook_or_mean_everything() {
        let hook = |g: &str, h: &str| Change::Hook(HookKey::from_stored(g, h));
        assert_eq!(Change::from_payload(br#"{"op":"UPDATE","hookGroupId":"g","hookId":"a/b"}"#), hook("g", "a/b"));
        assert_eq!(Change::from_payload(br#"{"hookGroupId":"g","hookId":"h","extra":1}"#), hook("g", "h"));
        assert_eq!(Change::from_payload(b"not json"), Change::All);
    }
}
