//! Announces hook changes on the hook-changed exchanges (`exchange/<ns>/v1/hook-created|hook-updated|hook-deleted`),
//! as upstream's api does: routing key `_`, body `{"hookGroupId", "hookId"}`, persistent, with publisher confirms.
//!
//! The change is already committed when it is announced, so a broker outage must neither fail the API call nor lose
//! the announcement: [`HookChangePublisher::publish`] only queues it, and a background task publishes, holding a
//! message until the broker confirms it and reconnecting with backoff meanwhile. Listeners also reconcile from the
//! database (NOTIFY and a periodic pass), so the exchanges are a fast path, not the only one.

use std::collections::VecDeque;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::broker::{connect_with_backoff, declare_hook_changed_exchanges, short};
use super::{Names, PulseError};
use crate::SecretString;

/// Announcements waiting for the broker beyond this many are dropped, oldest first, with a warning: listeners
/// still learn of those changes from the database.
const MAX_PENDING: usize = 100_000;

/// Which hook-changed exchange a change goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookChange {
    /// `hook-created`.
    Created,
    /// `hook-updated`.
    Updated,
    /// `hook-deleted`.
    Deleted,
}

impl HookChange {
    fn exchange(self, names: &Names) -> String {
        let [created, updated, deleted] = names.hook_changed_exchanges();
        match self {
            Self::Created => created,
            Self::Updated => updated,
            Self::Deleted => deleted,
        }
    }
}

/// One announcement.
#[derive(Debug, Clone)]
struct Announcement {
    exchange: String,
    body: Vec<u8>,
}

/// Queues hook-changed announcements for a background task that publishes them.
#[derive(Debug, Clone)]
pub struct HookChangePublisher {
    names: Names,
    tx: mpsc::UnboundedSender<Announcement>,
}

/// The background task of a [`HookChangePublisher`]; [`PublisherTask::close`] flushes what is pending.
#[derive(Debug)]
pub struct PublisherTask(JoinHandle<()>);

impl HookChangePublisher {
    /// Starts publishing to the broker at `url` in the background. The exchanges are declared on every connection,
    /// so they exist as soon as the broker is reachable, whichever daemon starts first.
    pub fn start(url: SecretString, names: Names) -> (Self, PublisherTask) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(url, names.clone(), rx));
        (Self { names, tx }, PublisherTask(task))
    }

    /// Announces a change; returns at once. The announcement is published as soon as the broker takes it.
    pub fn publish(&self, change: HookChange, hook_group_id: &str, hook_id: &str) {
        let body = serde_json::json!({"hookGroupId": hook_group_id, "hookId": hook_id}).to_string().into_bytes();
        let announcement = Announcement { exchange: change.exchange(&self.names), body };
        if self.tx.send(announcement).is_err() {
            tracing::warn!(hook_group_id, hook_id, ?change, "hook-changed publisher stopped; change not announced");
        }
    }
}

impl PublisherTask {
    /// Stops once everything queued so far is published, or after `grace`, whichever comes first. Call it after
    /// every [`HookChangePublisher`] clone is dropped (the task runs until then).
    pub async fn close(self, grace: Duration) {
        let mut handle = self.0;
        if tokio::time::timeout(grace, &mut handle).await.is_err() {
            handle.abort();
            tracing::warn!(?grace, "hook-changed announcements still unpublished at shutdown");
        }
    }
}

async fn run(url: SecretString, names: Names, mut rx: mpsc::UnboundedReceiver<Announcement>) {
    let mut pending: VecDeque<Announcement> = VecDeque::new();
    let mut delays = crate::backoff::Backoff::RECONNECT.delays();
    loop {
        // Wait for work before connecting, so a process that never changes a hook needs no broker.
        if pending.is_empty() {
            match rx.recv().await {
                Some(a) => pending.push_back(a),
                None => return,
            }
        }
        let connection = connect_with_backoff(&url, "hooks hook-changed publisher").await;
        match publish_pending(&connection, &names, &mut pending, &mut rx).await {
            Ok(()) => return,
            Err(e) => {
                let retry_in = delays.next_delay();
                tracing::warn!(error = %e, pending = pending.len(), ?retry_in, "publishing hook changes failed");
                let _ = connection.close(200, "reconnecting".into()).await;
                tokio::time::sleep(retry_in).await;
            }
        }
    }
}

/// Publishes until the sender side is gone and nothing is pending (`Ok`), or the broker fails (`Err`, with the
/// unconfirmed announcement still first in `pending`).
async fn publish_pending(
    connection: &Connection,
    names: &Names,
    pending: &mut VecDeque<Announcement>,
    rx: &mut mpsc::UnboundedReceiver<Announcement>,
) -> Result<(), PulseError> {
    let failed = |action: &str| {
        let action = action.to_owned();
        move |source| PulseError::Broker { action, source }
    };
    let channel = connection.create_channel().await.map_err(failed("opening a channel"))?;
    declare_hook_changed_exchanges(&channel, names).await?;
    channel.confirm_select(ConfirmSelectOptions::default()).await.map_err(failed("enabling publisher confirms"))?;
    loop {
        while let Ok(a) = rx.try_recv() {
            pending.push_back(a);
        }
        if pending.len() > MAX_PENDING {
            let dropped = pending.len() - MAX_PENDING;
            pending.drain(..dropped);
            tracing::warn!(dropped, "too many hook-changed announcements waiting; oldest dropped");
        }
        let Some(next) = pending.front() else {
            match rx.recv().await {
                Some(a) => {
                    pending.push_back(a);
                    continue;
                }
                None => return Ok(()),
            }
        };
        publish_one(&channel, next).await?;
        pending.pop_front();
    }
}

async fn publish_one(channel: &Channel, a: &Announcement) -> Result<(), PulseError> {
    let failed = |source| PulseError::Broker { action: format!("publishing to {}", a.exchange), source };
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_content_encoding("utf-8".into());
    let confirm = channel
        .basic_publish(short(&a.exchange)?, "_".into(), BasicPublishOptions::default(), &a.body, properties)
        .await
        .map_err(failed)?;
    match confirm.await.map_err(failed)? {
        Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
        Confirmation::Nack(_) => Err(PulseError::Refused(format!("publishing to {}", a.exchange))),
    }
}
