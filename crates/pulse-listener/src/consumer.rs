//! A session's consumers, one per hook queue it serves, each on a channel of its own (a refused operation closes
//! only that channel). A consumer's task turns each delivery into a [`Handler`] for the session to run, and says
//! when the consumer ends: cancelled by us or by the broker (its queue was deleted), or its channel closed.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt as _;
use hooks_core::HookKey;
use hooks_core::pulse::short;
use hooks_core::pulse::{HookQueue, Pass, PulseError};
use lapin::Channel;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinSet;

use crate::handler::{Handler, HandlerContext};
use crate::session::SessionInfo;
use crate::stats::Counters;

/// What the consumers tell their session.
pub(crate) enum Event {
    /// A message to handle.
    Delivery(Box<Handler>),
    /// A consumer ended.
    Ended {
        /// Whose queue it consumed from.
        hook: HookKey,
        /// Its tag: a consumer started again for the same hook has another.
        tag: String,
    },
}

/// One hook queue's consumer.
struct Consumer {
    queue: Arc<HookQueue>,
    channel: Channel,
    tag: String,
}

impl Consumer {
    /// Asks the broker to stop delivering. Messages already received are still handled and settled on the channel,
    /// which stays open until the last of them is.
    async fn cancel(&self) -> Result<(), lapin::Error> {
        self.channel.basic_cancel(short(&self.tag).unwrap_or_default(), BasicCancelOptions::default()).await
    }
}

/// The consumers of one session.
pub(crate) struct Consumers {
    session: Arc<SessionInfo>,
    handlers: Arc<HandlerContext>,
    counters: Arc<Counters>,
    prefetch: u16,
    by_hook: HashMap<HookKey, Consumer>,
    next_tag: u64,
    events_tx: UnboundedSender<Event>,
    events_rx: UnboundedReceiver<Event>,
    /// The consumers' tasks; aborted when the session ends.
    tasks: JoinSet<()>,
}

impl Consumers {
    /// No consumers yet, on `session`'s connection, each with `prefetch` unacknowledged messages at most.
    pub(crate) fn new(
        session: Arc<SessionInfo>,
        handlers: Arc<HandlerContext>,
        counters: Arc<Counters>,
        prefetch: u16,
    ) -> Self {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (by_hook, next_tag, tasks) = (HashMap::new(), 0, JoinSet::new());
        Self { session, handlers, counters, prefetch, by_hook, next_tag, events_tx, events_rx, tasks }
    }

    /// The next delivery or end of a consumer.
    pub(crate) async fn next_event(&mut self) -> Option<Event> {
        self.events_rx.recv().await
    }

    /// Starts and stops consumers to match a reconcile pass (`full`: hooks it did not list are no longer served).
    /// Returns the hooks whose queue could not be consumed from, to be tried again; an error when the connection
    /// is gone.
    pub(crate) async fn apply(&mut self, pass: &Pass, full: bool) -> Result<Vec<HookKey>, PulseError> {
        let served: HashMap<&HookKey, &HookQueue> = pass.queues.iter().map(|q| (&q.hook, q)).collect();
        let mut stop: Vec<HookKey> = pass.released.clone();
        if full {
            stop.extend(self.by_hook.keys().filter(|k| !served.contains_key(k)).cloned());
        }
        for hook in &stop {
            self.stop(hook).await;
        }
        let mut failed = Vec::new();
        for (hook, queue) in served {
            // A queue that had to be created again may have left our consumer registered but fed by nothing.
            let anew = pass.consume_anew.contains(hook);
            if !anew && self.by_hook.get(hook).is_some_and(|c| c.queue.queue_name == queue.queue_name) {
                continue;
            }
            self.stop(hook).await;
            if let Err(e) = self.start(queue.clone()).await {
                if !self.session.alive() {
                    return Err(e);
                }
                tracing::warn!(%hook, error = %e, "cannot consume from the hook's queue; will retry");
                failed.push(hook.clone());
            }
        }
        self.counters.set_consuming(self.by_hook.len());
        Ok(failed)
    }

    /// Takes in the end of a consumer: whether it was the hook's current one, which we did not cancel.
    pub(crate) fn ended(&mut self, hook: &HookKey, tag: &str) -> bool {
        if self.by_hook.get(hook).is_none_or(|c| c.tag != tag) {
            return false;
        }
        self.by_hook.remove(hook);
        self.counters.set_consuming(self.by_hook.len());
        true
    }

    /// Cancels every consumer; returns the tags of those whose end is still to come.
    pub(crate) async fn cancel_all(&mut self) -> HashMap<HookKey, String> {
        let mut open = HashMap::new();
        for (hook, consumer) in std::mem::take(&mut self.by_hook) {
            if consumer.cancel().await.is_ok() {
                open.insert(hook, consumer.tag);
            }
        }
        open
    }

    /// Stops the consumers' tasks (the session is over).
    pub(crate) fn abort(&mut self) {
        self.tasks.abort_all();
    }

    async fn stop(&mut self, hook: &HookKey) {
        if let Some(consumer) = self.by_hook.remove(hook)
            && let Err(e) = consumer.cancel().await
        {
            tracing::debug!(error = %e, "cannot cancel a consumer");
        }
    }

    async fn start(&mut self, queue: HookQueue) -> Result<(), PulseError> {
        let failed = |action: String| move |source| PulseError::Broker { action, source };
        let channel = self.session.connection().create_channel().await.map_err(failed("opening a channel".into()))?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions { global: false })
            .await
            .map_err(failed("setting the prefetch".into()))?;
        self.next_tag += 1;
        let tag = format!("{}-{}", self.session.id(), self.next_tag);
        let mut deliveries = channel
            .basic_consume(
                short(&queue.queue_name)?,
                short(&tag)?,
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(failed(format!("consuming from {}", queue.queue_name)))?;
        let queue = Arc::new(queue);
        let (events, handlers, session) = (self.events_tx.clone(), self.handlers.clone(), self.session.clone());
        let (for_handlers, on_channel, ended) =
            (queue.clone(), channel.clone(), Event::Ended { hook: queue.hook.clone(), tag: tag.clone() });
        self.tasks.spawn(async move {
            while let Some(Ok(delivery)) = deliveries.next().await {
                let handler =
                    Handler::new(handlers.clone(), for_handlers.clone(), session.clone(), on_channel.clone(), delivery);
                let _ = events.send(Event::Delivery(Box::new(handler)));
            }
            let _ = events.send(ended);
        });
        tracing::debug!(queue = %queue.queue_name, "consuming");
        self.by_hook.insert(queue.hook.clone(), Consumer { queue, channel, tag });
        Ok(())
    }
}
