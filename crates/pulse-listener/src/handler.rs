//! One message: validate it against the hook as it is now, fire once, record, and only then acknowledge.
//!
//! Redeliveries fire nothing new. Every message that will fire gets a `pulse_fires` row as soon as it is received,
//! before its task is created, holding the taskId and `now` it fires with. A redelivered message (its connection
//! died before it was acknowledged) claims that row and fires the identical task again, which the queue accepts
//! as the task it already has; a row already marked done means only the acknowledgement was lost.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hooks_core::pulse::HookQueue;
use hooks_core::storage::StorageError;
use hooks_core::storage::hooks::find_hook;
use hooks_core::storage::pulse::{PulseFire, claim_pulse_fire};
use hooks_core::trigger_schema::{MAX_PAYLOAD_BYTES, PayloadError};
use hooks_core::{FireContext, FireOptions, FireOutcome, HookDefinition, TaskId, time};
use lapin::Channel;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicQosOptions};
use serde_json::Value;

use crate::batch::{BatchError, Batcher};
use crate::listener::{SessionInfo, Shared};
use crate::message::Message;
use crate::stats::Counters;
use hooks_core::metrics::PulseOutcome;

// How long the broker may take to answer the probe that proves a delivery is still ours.
const HELD_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

// How often a hook's triggerSchema discards are logged: the first, then every hundredth (as upstream).
const DISCARD_LOG_INTERVAL: u64 = 100;

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

impl From<BatchError> for Step {
    fn from(e: BatchError) -> Self {
        Self::Retry(Retry::Storage(e.to_string()))
    }
}

/// The taskId and `now` a message fires with.
#[derive(Debug, Clone)]
struct Claimed {
    task_id: TaskId,
    now: DateTime<Utc>,
}

enum Claim {
    Fire(Claimed),
    AlreadyFired,
}

impl Shared {
    /// Handles one delivery and acknowledges (or dead-letters) it.
    pub(crate) async fn process(
        self: Arc<Self>,
        hook: Arc<HookQueue>,
        session: Arc<SessionInfo>,
        batcher: Batcher,
        channel: Channel,
        delivery: Delivery,
    ) {
        Counters::add(&self.counters.delivered);
        let message = Message::from_delivery(&delivery);
        let disposition = self.handle(&hook, &session, &batcher, &channel, &message).await;
        let settled = match &disposition {
            Disposition::Ack => delivery.acker.ack(BasicAckOptions::default()).await,
            Disposition::DeadLetter(reason) => {
                self.counters.outcome(PulseOutcome::DeadLettered);
                tracing::warn!(
                    hook_group_id = %hook.hook_group_id,
                    hook_id = %hook.hook_id,
                    exchange = %message.exchange,
                    routing_key = %message.routing_key,
                    reason = %reason,
                    "message sent to the dead-letter queue"
                );
                delivery.acker.nack(BasicNackOptions { requeue: false, multiple: false }).await
            }
            Disposition::Abandon => return,
        };
        match settled {
            Ok(_) if disposition == Disposition::Ack => Counters::add(&self.counters.acked),
            Ok(_) => {}
            Err(e) => tracing::info!(
                hook_group_id = %hook.hook_group_id,
                hook_id = %hook.hook_id,
                error = %e,
                "cannot acknowledge the message (its connection is gone); the broker will redeliver it, and the \
                 redelivery fires nothing new"
            ),
        }
        // The channel stays open until its last message is settled.
        drop(channel);
    }

    #[tracing::instrument(name = "pulse_message", parent = None, skip_all, fields(hook_group_id = %hook.hook_group_id, hook_id = %hook.hook_id))]
    async fn handle(
        &self,
        hook: &HookQueue,
        session: &SessionInfo,
        batcher: &Batcher,
        channel: &Channel,
        message: &Message,
    ) -> Disposition {
        // As large as an API body may be; a broker may carry far larger messages (RabbitMQ allows up to 512 MiB).
        if message.body.len() > MAX_PAYLOAD_BYTES {
            let size = message.body.len();
            return Disposition::DeadLetter(format!(
                "the body is {size} bytes, more than the {MAX_PAYLOAD_BYTES}-byte limit"
            ));
        }
        let payload: Value = match serde_json::from_slice(&message.body) {
            Ok(payload) => payload,
            // serde's message gives the position, never the content.
            Err(e) => return Disposition::DeadLetter(format!("the body is not JSON ({e})")),
        };
        let mut claimed = None;
        let mut failures = 0;
        let mut backoff = self.options.retry_base;
        loop {
            let step = self.step(hook, session, batcher, channel, message, &payload, &mut claimed, &mut failures);
            match step.await {
                Step::Done(disposition) => return disposition,
                Step::Retry(e) => {
                    Counters::add(&self.counters.retries);
                    tracing::warn!(error = %e, retry_in = ?backoff, "cannot handle the message yet; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.options.retry_max);
                }
            }
        }
    }

    #[expect(clippy::too_many_arguments, reason = "one try at a message, with the state that outlives it")]
    async fn step(
        &self,
        hook: &HookQueue,
        session: &SessionInfo,
        batcher: &Batcher,
        channel: &Channel,
        message: &Message,
        payload: &Value,
        claimed: &mut Option<Claimed>,
        failures: &mut u32,
    ) -> Step {
        let (g, h) = (hook.hook_group_id.as_str(), hook.hook_id.as_str());
        let def = match self.definition(g, h).await {
            Ok(Some(def)) => def,
            Ok(None) => {
                Counters::add(&self.counters.hook_gone);
                tracing::info!("the hook no longer exists; message dropped");
                return Step::Done(Disposition::Ack);
            }
            Err(e) => return e.into(),
        };
        if let Err(e) = def.trigger_schema.validate(payload) {
            self.discarded(hook, message, &e);
            return Step::Done(Disposition::Ack);
        }
        let fire = match claimed {
            Some(fire) => fire.clone(),
            None => {
                if !session.alive() {
                    return Step::Done(Disposition::Abandon);
                }
                match self.claim(hook, session, batcher, message).await {
                    // The delivery may have been lost while the claim was being written: then the broker may
                    // already have redelivered the message, and its redelivery may have looked for this claim
                    // before it was committed. Firing is then the redelivery's job.
                    Ok(Claim::Fire(_)) if !self.still_held(channel).await => {
                        return Step::Done(Disposition::Abandon);
                    }
                    Ok(Claim::Fire(fire)) => {
                        *claimed = Some(fire.clone());
                        fire
                    }
                    Ok(Claim::AlreadyFired) => {
                        Counters::add(&self.counters.already_fired);
                        tracing::info!("redelivered message was already fired; acknowledged without firing again");
                        return Step::Done(Disposition::Ack);
                    }
                    Err(e) => return e,
                }
            }
        };
        // Hold a permit only while firing: a message waiting out a backoff does not hold up others.
        let _permit = self.permits.acquire().await;
        let ctx = FireContext::pulse_message(payload.clone(), &message.exchange, &message.routing_key);
        let opts = FireOptions { task_id: Some(fire.task_id.clone()), now: Some(fire.now) };
        let attempt = self.firer.attempt(&def, ctx, opts).await;
        if let Err(e) = attempt.result()
            && e.is_transient()
        {
            *failures += 1;
            if *failures < self.options.fire_attempts {
                return Retry::Fire(e.to_string()).into();
            }
        }
        let result = match batcher.record(g, h, fire.task_id.as_str(), attempt).await {
            Ok(result) => result,
            Err(e) => return e.into(),
        };
        Step::Done(match result {
            Ok(FireOutcome::Created { .. }) => {
                self.counters.outcome(PulseOutcome::Fired);
                Disposition::Ack
            }
            Ok(FireOutcome::Declined) => {
                self.counters.outcome(PulseOutcome::Declined);
                Disposition::Ack
            }
            Err(e) if e.is_transient() => {
                self.counters.outcome(PulseOutcome::Failed);
                Disposition::DeadLetter(format!("the fire failed {failures} times; the last error: {e}"))
            }
            // Recorded as the hook's last fire, and logged where it happened; the message has been dealt with.
            Err(_) => {
                self.counters.outcome(PulseOutcome::Failed);
                Disposition::Ack
            }
        })
    }

    /// Whether this channel's deliveries are still ours, proven by a round trip to the broker begun after the
    /// claim was committed. The broker handles a channel's frames in order and gives its unacknowledged messages
    /// back only when the channel closes; an answer to a request sent after the commit therefore means any
    /// redelivery comes later and finds the claim. A local flag (the connection's status) would lag a close the
    /// broker has already acted on. Without an answer the channel is closed, so that its messages do come back.
    async fn still_held(&self, channel: &Channel) -> bool {
        let probe = channel.basic_qos(self.options.prefetch, BasicQosOptions { global: false });
        match tokio::time::timeout(HELD_PROBE_TIMEOUT, probe).await {
            Ok(Ok(())) => true,
            answer => {
                let why = match answer {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no answer within {HELD_PROBE_TIMEOUT:?}"),
                };
                tracing::info!(reason = %why, "the message's channel is gone; leaving the message to its redelivery");
                if channel.status().connected() {
                    let _ = channel.close(200, "the broker stopped answering".into()).await;
                }
                false
            }
        }
    }

    /// The hook's definition as it is now: cached until the next change to it.
    async fn definition(&self, g: &str, h: &str) -> Result<Option<Arc<HookDefinition>>, StorageError> {
        let (cached, generation) = self.cache.get(g, h);
        if cached.is_some() {
            return Ok(cached);
        }
        let mut conn = self.pool.get().await?;
        let Some(hook) = find_hook(&mut conn, &self.keyring, g, h).await? else {
            return Ok(None);
        };
        let def = Arc::new(hook.definition);
        self.cache.insert(generation, def.clone());
        Ok(Some(def))
    }

    /// Chooses the taskId and `now` the message fires with, writing them down before anything is created.
    async fn claim(
        &self,
        hook: &HookQueue,
        session: &SessionInfo,
        batcher: &Batcher,
        message: &Message,
    ) -> Result<Claim, Step> {
        let (g, h) = (hook.hook_group_id.as_str(), hook.hook_id.as_str());
        // Only a redelivered message can have fired before (redelivered=false means no consumer ever saw it), so
        // byte-identical messages published twice fire twice.
        if message.redelivered
            && let Some(earlier) = self.earlier_fire(g, h, session, message).await?
        {
            if earlier.done {
                return Ok(Claim::AlreadyFired);
            }
            let task_id = TaskId::parse(&earlier.task_id).map_err(|e| StorageError::Corrupt {
                what: format!("the pulse fire of hook {g}/{h}"),
                problem: e.to_string(),
            })?;
            tracing::info!(%task_id, "redelivered message fires again under its first taskId");
            return Ok(Claim::Fire(Claimed { task_id, now: earlier.fire_now }));
        }
        let fire = Claimed { task_id: TaskId::generate(), now: time::now_millis() };
        batcher
            .insert(PulseFire {
                hook_group_id: g.to_owned(),
                hook_id: h.to_owned(),
                task_id: fire.task_id.to_string(),
                message_key: message.key().to_vec(),
                fire_now: fire.now,
                done: false,
                claimed_by: session.id.clone(),
            })
            .await?;
        Ok(Claim::Fire(fire))
    }

    async fn earlier_fire(
        &self,
        g: &str,
        h: &str,
        session: &SessionInfo,
        message: &Message,
    ) -> Result<Option<PulseFire>, StorageError> {
        let mut conn = self.pool.get().await?;
        claim_pulse_fire(&mut conn, g, h, message.key(), &session.id).await
    }

    /// Counts a message whose payload the hook's triggerSchema refuses, logging the first and every hundredth per
    /// hook. The log names where the payload is wrong, never what it holds.
    fn discarded(&self, hook: &HookQueue, message: &Message, error: &PayloadError) {
        self.counters.outcome(PulseOutcome::Invalid);
        let count = {
            let mut discards = self.discards.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let count = discards.entry((hook.hook_group_id.clone(), hook.hook_id.clone())).or_insert(0);
            *count += 1;
            *count
        };
        if count == 1 || count % DISCARD_LOG_INTERVAL == 0 {
            let at: Vec<&str> = error.problems.iter().map(|p| p.split(": ").next().unwrap_or("payload")).collect();
            tracing::warn!(
                exchange = %message.exchange,
                routing_key = %message.routing_key,
                reason = "triggerSchema",
                invalid_at = ?at,
                discarded_count = count,
                "Pulse message discarded because its payload does not match the hook's triggerSchema"
            );
        }
    }
}
