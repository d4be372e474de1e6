//! One message: validate it against the hook as it is now, fire once, record, and only then acknowledge.
//!
//! Each delivery gets a [`Handler`] of its own, on a task of its own, holding what it needs: the listener-wide
//! [`HandlerContext`], its hook queue, its channel and session, and what its tries have established so far.
//! Redeliveries fire nothing new (see [`crate::claim`]).

use std::sync::Arc;
use std::time::Duration;

use hooks_core::metrics::{PulseEvent, PulseOutcome};
use hooks_core::pulse::HookQueue;
use hooks_core::storage::{EventOutcome, FireEvent, StorageError};
use hooks_core::{Backoff, FireContext, FireOptions, FireOutcome, FiredBy, Firer, MAX_PAYLOAD_BYTES};
use lapin::Channel;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::ListenerOptions;
use crate::cache::HookCache;
use crate::claim::{self, Claim, ClaimError, Claimed, Claims};
use crate::discards::Discards;
use crate::message::Message;
use crate::session::SessionInfo;
use crate::stats::Counters;

/// What the handlers of every message share, whichever session or hook queue it came from; one per listener.
pub(crate) struct HandlerContext {
    hooks: Arc<HookCache>,
    claims: Claims,
    firer: Firer,
    /// Tasks created at once, across all hooks.
    permits: Semaphore,
    discards: Discards,
    counters: Arc<Counters>,
    retry_base: Duration,
    retry_max: Duration,
    fire_attempts: u32,
    prefetch: u16,
}

impl HandlerContext {
    /// Handlers that look hooks up in `hooks`, claim and record through `claims` and fire through `firer`.
    pub(crate) fn new(
        hooks: Arc<HookCache>,
        claims: Claims,
        firer: Firer,
        counters: Arc<Counters>,
        options: &ListenerOptions,
    ) -> Self {
        Self {
            hooks,
            claims,
            firer,
            permits: Semaphore::new(options.concurrency.max(1)),
            discards: Discards::default(),
            counters,
            retry_base: options.retry_base,
            retry_max: options.retry_max,
            fire_attempts: options.fire_attempts,
            prefetch: options.prefetch,
        }
    }
}

/// What becomes of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Disposition {
    /// Handled (fired, or rightly not fired): acknowledge.
    Ack,
    /// Can never be handled: reject it into the dead-letter queue, saying why.
    DeadLetter(String),
    /// Its connection died before anything was written: leave it to the broker to redeliver.
    Abandon,
}

/// A failure that may pass: retried with backoff while the message stays unacknowledged.
#[derive(Debug, thiserror::Error)]
enum Retry {
    #[error("{0}")]
    Storage(String),
    /// A transient fire failure: a queue 5xx or network error, or no render worker to be had.
    #[error("the fire failed transiently: {0}")]
    Fire(String),
}

/// The outcome of one try at a message.
enum Step {
    Done(Disposition),
    Retry(Retry),
}

impl From<Retry> for Step {
    fn from(r: Retry) -> Self {
        Self::Retry(r)
    }
}

impl From<StorageError> for Step {
    fn from(e: StorageError) -> Self {
        match e {
            // A row that can't be read back (its key was removed) won't get better by waiting.
            StorageError::Corrupt { what, problem } => {
                Self::Done(Disposition::DeadLetter(format!("stored data for {what} is unusable: {problem}")))
            }
            e => Self::Retry(Retry::Storage(e.to_string())),
        }
    }
}

impl From<ClaimError> for Step {
    fn from(e: ClaimError) -> Self {
        match e {
            ClaimError::Storage(e) => e.into(),
            // A batch fails for all its messages alike: each tries again on its own.
            ClaimError::Batch(e) => Self::Retry(Retry::Storage(e.to_string())),
        }
    }
}

/// One message, from its delivery to its acknowledgement.
pub(crate) struct Handler {
    context: Arc<HandlerContext>,
    queue: Arc<HookQueue>,
    session: Arc<SessionInfo>,
    /// The channel it came on, which stays open until the message is settled.
    channel: Channel,
    delivery: Delivery,
    message: Message,
    /// The fire chosen by the first try that got that far, kept for the retries.
    claimed: Option<Claimed>,
    transient_failures: u32,
}

impl Handler {
    /// A handler for a message delivered from `queue` on `channel`.
    pub(crate) fn new(
        context: Arc<HandlerContext>,
        queue: Arc<HookQueue>,
        session: Arc<SessionInfo>,
        channel: Channel,
        delivery: Delivery,
    ) -> Self {
        let message = Message::from_delivery(&delivery);
        Self { context, queue, session, channel, delivery, message, claimed: None, transient_failures: 0 }
    }

    /// Handles the message and acknowledges (or dead-letters) it.
    pub(crate) async fn run(mut self) {
        let counters = self.context.counters.clone();
        counters.event(PulseEvent::Delivered);
        let disposition = self.handle().await;
        let hook = &self.queue.hook;
        let acker = &self.delivery.acker;
        let settled = match &disposition {
            Disposition::Ack => acker.ack(BasicAckOptions::default()).await,
            Disposition::DeadLetter(reason) => {
                counters.outcome(PulseOutcome::DeadLettered);
                // The message itself is kept in the dead-letter queue; the log entry is what a user reads first.
                let event = FireEvent::without_task(
                    hook,
                    FiredBy::PulseMessage,
                    EventOutcome::DeadLettered,
                    reason.clone(),
                    self.message.source(),
                );
                if let Err(e) = self.context.claims.log(event).await {
                    tracing::warn!(%hook, error = %e, "cannot write the dead-lettered message into the fire log");
                }
                tracing::warn!(
                    %hook,
                    exchange = %self.message.exchange,
                    routing_key = %self.message.routing_key,
                    reason = %reason,
                    "message sent to the dead-letter queue"
                );
                acker.nack(BasicNackOptions { requeue: false, multiple: false }).await
            }
            Disposition::Abandon => return,
        };
        match settled {
            Ok(_) if disposition == Disposition::Ack => counters.event(PulseEvent::Acked),
            Ok(_) => {}
            Err(e) => tracing::info!(
                %hook,
                error = %e,
                "cannot acknowledge the message (its connection is gone); the broker will redeliver it, and the \
                 redelivery fires nothing new"
            ),
        }
    }

    #[tracing::instrument(name = "pulse_message", parent = None, skip_all, fields(hook = %self.queue.hook))]
    async fn handle(&mut self) -> Disposition {
        // As large as an API body may be; a broker may carry far larger messages (RabbitMQ allows up to 512 MiB).
        let size = self.message.body.len();
        if size > MAX_PAYLOAD_BYTES {
            return Disposition::DeadLetter(format!(
                "the body is {size} bytes, more than the {MAX_PAYLOAD_BYTES}-byte limit"
            ));
        }
        let payload: Value = match serde_json::from_slice(&self.message.body) {
            Ok(payload) => payload,
            // serde's message gives the position, never the content.
            Err(e) => return Disposition::DeadLetter(format!("the body is not JSON ({e})")),
        };
        let mut delays = Backoff::new(self.context.retry_base, self.context.retry_max).delays();
        loop {
            match self.try_once(&payload).await {
                Step::Done(disposition) => return disposition,
                Step::Retry(e) => {
                    self.context.counters.event(PulseEvent::Retried);
                    let retry_in = delays.next_delay();
                    tracing::warn!(error = %e, ?retry_in, "cannot handle the message yet; retrying");
                    tokio::time::sleep(retry_in).await;
                }
            }
        }
    }

    /// One try: look the hook up, check the payload, claim the fire (once), fire and record.
    async fn try_once(&mut self, payload: &Value) -> Step {
        let (context, queue) = (self.context.clone(), self.queue.clone());
        let hook = &queue.hook;
        let def = match context.hooks.definition(hook).await {
            Ok(Some(def)) => def,
            Ok(None) => {
                context.counters.outcome(PulseOutcome::HookGone);
                tracing::info!("the hook no longer exists; message dropped");
                return Step::Done(Disposition::Ack);
            }
            Err(e) => return e.into(),
        };
        if let Err(e) = def.trigger_schema.validate(payload) {
            // Recorded before the message is acknowledged, as a fire is; the schema's words, never the payload.
            let error = format!("the payload does not match the hook's triggerSchema: {}", e.locations.join("; "));
            let event = FireEvent::without_task(
                hook,
                FiredBy::PulseMessage,
                EventOutcome::PayloadRejected,
                error,
                self.message.source(),
            );
            if let Err(e) = context.claims.log(event).await {
                return ClaimError::Batch(e).into();
            }
            context.counters.outcome(PulseOutcome::Invalid);
            context.discards.discard(hook, &self.message, &e);
            return Step::Done(Disposition::Ack);
        }
        let fire = match &self.claimed {
            Some(fire) => fire.clone(),
            None => match self.claim().await {
                Ok(fire) => fire,
                Err(step) => return step,
            },
        };
        // Hold a permit only while firing: a message waiting out a backoff does not hold up others.
        let _permit = context.permits.acquire().await;
        let mut ctx = FireContext::pulse_message(payload.clone(), &self.message.exchange, &self.message.routing_key);
        if let Some(id) = &self.message.message_id {
            ctx = ctx.with_source("messageId", id.as_str());
        }
        let opts = FireOptions { task_id: Some(fire.task_id.clone()), now: Some(fire.now) };
        let attempt = context.firer.attempt(&def, ctx, opts).await;
        if let Err(e) = attempt.result()
            && e.is_transient()
        {
            self.transient_failures += 1;
            if self.transient_failures < context.fire_attempts {
                return Retry::Fire(e.to_string()).into();
            }
        }
        let result = match context.claims.finish(hook, &fire, attempt).await {
            Ok(result) => result,
            Err(e) => return ClaimError::Batch(e).into(),
        };
        let (outcome, disposition) = match result {
            Ok(FireOutcome::Created { .. }) => (PulseOutcome::Fired, Disposition::Ack),
            Ok(FireOutcome::Declined) => (PulseOutcome::Declined, Disposition::Ack),
            Err(e) if e.is_transient() => {
                let failures = self.transient_failures;
                let reason = format!("the fire failed {failures} times; the last error: {e}");
                (PulseOutcome::Failed, Disposition::DeadLetter(reason))
            }
            // Recorded as the hook's last fire, and logged where it happened; the message has been dealt with.
            Err(_) => (PulseOutcome::Failed, Disposition::Ack),
        };
        context.counters.outcome(outcome);
        Step::Done(disposition)
    }

    /// Claims the message's fire, or says what this try ends with instead: abandoned (the delivery is no longer
    /// ours), acknowledged (fired already), or retried (the claim failed).
    async fn claim(&mut self) -> Result<Claimed, Step> {
        if !self.session.alive() {
            return Err(Step::Done(Disposition::Abandon));
        }
        let claimed = self.context.claims.claim(&self.queue.hook, self.session.id(), &self.message).await?;
        match claimed {
            // The delivery may have been lost while the claim was being written: then the broker may already have
            // redelivered the message, and its redelivery may have looked for this claim before it was committed.
            // Firing is then the redelivery's job.
            Claim::Fire(_) if !claim::still_held(&self.channel, self.context.prefetch).await => {
                Err(Step::Done(Disposition::Abandon))
            }
            Claim::Fire(fire) => {
                self.claimed = Some(fire.clone());
                Ok(fire)
            }
            Claim::AlreadyFired => {
                self.context.counters.outcome(PulseOutcome::AlreadyFired);
                tracing::info!("redelivered message was already fired; acknowledged without firing again");
                Err(Step::Done(Disposition::Ack))
            }
        }
    }
}
