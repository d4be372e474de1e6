//! A message's fire, written down before its task is created (`pulse_fires`), so that a redelivery fires nothing
//! new.
//!
//! Every message that will fire gets a row as soon as it is received, holding the taskId and `now` it fires with. A
//! redelivered message (its connection died before it was acknowledged) claims that row and fires the identical task
//! again, which the queue accepts as the task it already has; a row already marked done means only the
//! acknowledgement was lost.

use chrono::{DateTime, Utc};
use hooks_core::storage::{FireEvent, Pool, PulseFire, StorageError, claim_pulse_fire};
use hooks_core::{Attempt, HookKey, TaskId, time};
use lapin::Channel;
use lapin::options::BasicQosOptions;

use crate::batch::{BatchError, Batcher, Recorded};
use crate::message::Message;

// How long the broker may take to answer the probe that proves a delivery is still ours.
const HELD_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The taskId and `now` a message fires with.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub(crate) task_id: TaskId,
    pub(crate) now: DateTime<Utc>,
}

/// What claiming a message's fire found.
pub(crate) enum Claim {
    /// Fire with these (new, or the first delivery's when this is a redelivery).
    Fire(Claimed),
    /// A redelivery of a message whose fire was recorded: only its acknowledgement was lost.
    AlreadyFired,
}

/// Why a claim could not be made or read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClaimError {
    /// Reading an earlier claim failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Writing the claim failed (with its whole batch).
    #[error(transparent)]
    Batch(#[from] BatchError),
}

/// Where fires are claimed and recorded; one per listener.
pub(crate) struct Claims {
    pool: Pool,
    batcher: Batcher,
}

impl Claims {
    /// Reads claims from `pool` and writes them, and fires, through `batcher`.
    pub(crate) fn new(pool: Pool, batcher: Batcher) -> Self {
        Self { pool, batcher }
    }

    /// Chooses the taskId and `now` the message fires with, writing them down before anything is created.
    pub(crate) async fn claim(&self, hook: &HookKey, session: &str, message: &Message) -> Result<Claim, ClaimError> {
        // Only a redelivered message can have fired before (redelivered=false means no consumer ever saw it), so
        // byte-identical messages published twice fire twice.
        if message.redelivered
            && let Some(earlier) = self.earlier_fire(hook, session, message).await?
        {
            if earlier.done {
                return Ok(Claim::AlreadyFired);
            }
            let task_id = TaskId::parse(&earlier.task_id).map_err(|e| StorageError::Corrupt {
                what: format!("the pulse fire of hook {hook}"),
                problem: e.to_string(),
            })?;
            tracing::info!(%task_id, "redelivered message fires again under its first taskId");
            return Ok(Claim::Fire(Claimed { task_id, now: earlier.fire_now }));
        }
        let fire = Claimed { task_id: TaskId::generate(), now: time::now_millis() };
        self.batcher
            .insert(PulseFire {
                hook_group_id: hook.group.to_string(),
                hook_id: hook.id.to_string(),
                task_id: fire.task_id.to_string(),
                message_key: message.key().to_vec(),
                fire_now: fire.now,
                done: false,
                claimed_by: session.to_owned(),
            })
            .await?;
        Ok(Claim::Fire(fire))
    }

    async fn earlier_fire(
        &self,
        hook: &HookKey,
        session: &str,
        message: &Message,
    ) -> Result<Option<PulseFire>, StorageError> {
        let mut conn = self.pool.get().await?;
        claim_pulse_fire(&mut conn, hook, message.key(), session).await
    }

    /// Records the attempt as the hook's last fire and in its fire log and marks the claimed fire done, in one
    /// transaction.
    pub(crate) async fn finish(&self, hook: &HookKey, fire: &Claimed, attempt: Attempt) -> Recorded {
        self.batcher.record(hook, fire.task_id.as_str(), attempt).await
    }

    /// Records the fire-log event of a message that claimed no fire (refused or dead-lettered).
    pub(crate) async fn log(&self, event: FireEvent) -> Result<(), BatchError> {
        self.batcher.log(event).await
    }
}

/// Whether this channel's deliveries are still ours, proven by a round trip to the broker begun after the claim
/// was committed. The broker handles a channel's frames in order and gives its unacknowledged messages back only
/// when the channel closes; an answer to a request sent after the commit therefore means any redelivery comes later
/// and finds the claim. A local flag (the connection's status) would lag a close the broker has already acted on.
/// Without an answer the channel is closed, so that its messages do come back.
pub(crate) async fn still_held(channel: &Channel, prefetch: u16) -> bool {
    let probe = channel.basic_qos(prefetch, BasicQosOptions { global: false });
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
