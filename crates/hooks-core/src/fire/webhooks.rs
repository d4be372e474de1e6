//! Firing webhook deliveries, each delivery id once whatever the sender redelivers and whichever api-server it
//! reaches. A delivery is claimed in `webhook_deliveries` (with its payload) before its task is created (and
//! rendered while the claim is written); its taskId comes from
//! the hook and the delivery id and its `now` from the claim, so every attempt renders the same task and the
//! queue creates it once. A delivery left pending (its api-server stopped, or the queue failed for a while) is
//! taken by any api-server once its lease runs out, and fired again, until [`GIVE_UP_AFTER`].

use std::time::Duration;

use chrono::TimeDelta;
use serde_json::Value;

use chrono::{DateTime, Utc};

use super::{CallFires, FireContext, FireError, FireOptions, FireOutcome, Firer, Prepared};
use crate::storage::{
    Batcher, DeliveryClaim, DeliveryEnd, DeliveryState, NewClaim, Pool, StorageError, StoredDelivery, claim_deliveries,
    find_hook, finish_deliveries, take_left_behind_deliveries,
};
use crate::webhook::Delivery;
use crate::{Hook, HookKey, Keyring, TaskId, time};

/// How long a delivery is its claimer's to fire: longer than a fire takes, queue retries included. Past it, any
/// api-server may fire it again (harmlessly: the same task).
const LEASE: TimeDelta = TimeDelta::minutes(2);
/// A delivery still failing transiently this long after it arrived is given up (marked failed: a redelivery
/// tries again).
const GIVE_UP_AFTER: TimeDelta = TimeDelta::hours(1);
/// The most left-behind deliveries one pass takes.
const TAKE_BATCH: i64 = 50;
/// The most claims one statement writes.
const MAX_BATCH: usize = 256;

/// Accepts and fires webhook deliveries; clones share one writer.
#[derive(Clone)]
pub struct WebhookDeliveries {
    pool: Pool,
    claims: Batcher<NewClaim, DeliveryClaim>,
}

/// What accepting a delivery found.
#[derive(Debug)]
pub enum Accepted {
    /// It is this caller's to fire: claimed and rendered, to be created with [`WebhookDeliveries::create`].
    Ready(ReadyDelivery),
    /// It was accepted before (a redelivery): nothing more is fired.
    Earlier(StoredDelivery),
}

/// A claimed delivery, its task rendered, waiting to be created.
#[derive(Debug)]
#[must_use = "a claimed delivery must be created (or it waits for its lease to run out)"]
pub struct ReadyDelivery {
    prepared: Prepared,
    hook: HookKey,
    delivery_id: String,
    fire_now: DateTime<Utc>,
}

impl ReadyDelivery {
    /// The task it creates.
    pub fn task_id(&self) -> &TaskId {
        self.prepared.task_id()
    }

    /// The `now` its task is rendered with.
    pub fn fire_now(&self) -> DateTime<Utc> {
        self.fire_now
    }
}

impl WebhookDeliveries {
    /// Starts the writer of claims on the current Tokio runtime.
    pub fn start(pool: Pool) -> Self {
        let claims = Batcher::spawn(pool.clone(), MAX_BATCH, claim_deliveries);
        Self { pool, claims }
    }

    /// Claims a delivery whose signature holds, keeping its payload until it has fired, and renders its task
    /// meanwhile (thrown away if the delivery came before). A delivery without an id (a GitLab too old to send
    /// one) can't be told from its redeliveries, so it gets a fresh one.
    pub async fn accept(
        &self,
        firer: &Firer,
        hook: &Hook,
        delivery: &Delivery,
        payload: Value,
    ) -> Result<Accepted, StorageError> {
        let def = &hook.definition;
        let (delivery_id, task_id) = match &delivery.delivery_id {
            Some(id) => (id.clone(), hook.schedule_secret.delivery_task_id(&def.hook_group_id, &def.hook_id, id)),
            None => {
                let task_id = TaskId::generate();
                (task_id.to_string(), task_id)
            }
        };
        let now = time::now_millis();
        let ctx = FireContext::webhook(payload.clone(), delivery.kind.as_str(), &delivery.event, &delivery_id);
        let opts = FireOptions { task_id: Some(task_id.clone()), now: Some(now) };
        let stored = StoredDelivery {
            hook: def.key(),
            delivery_id,
            task_id: task_id.to_string(),
            fire_now: now,
            kind: delivery.kind,
            event: delivery.event.clone(),
            state: DeliveryState::Pending,
            payload: Some(payload),
        };
        let claim = self.claims.submit(NewClaim { delivery: stored, lease_until: now + LEASE });
        let (claim, prepared) = tokio::join!(claim, firer.prepare(def, ctx, opts));
        Ok(match claim? {
            DeliveryClaim::Earlier(earlier) => Accepted::Earlier(earlier),
            // New: rendered as claimed.
            DeliveryClaim::Claimed(d) if d.fire_now == now && d.task_id == task_id.to_string() => {
                Accepted::Ready(ReadyDelivery { prepared, hook: d.hook, delivery_id: d.delivery_id, fire_now: now })
            }
            // Failed before and claimed again: rendered again with its first attempt's taskId and `now`.
            DeliveryClaim::Claimed(d) => Accepted::Ready(self.prepare(firer, hook, d).await),
        })
    }

    /// Creates a claimed delivery's task and records it as any API call's fire, with the delivery's end. The
    /// claim is the fire's record until then (a stopped api-server's claim is fired again), so no pending last
    /// fire is written first. A transient failure leaves the delivery pending, for whichever api-server takes it
    /// when its lease runs out.
    pub async fn create(
        &self,
        firer: &Firer,
        call_fires: &CallFires,
        ready: ReadyDelivery,
    ) -> Result<FireOutcome, FireError> {
        let ReadyDelivery { prepared, hook, delivery_id, fire_now } = ready;
        let (result, last_fire, event) = firer.create(prepared).await.into_parts();
        let state = match &result {
            Ok(FireOutcome::Created { .. }) => Some(DeliveryState::Created),
            Ok(FireOutcome::Declined) => Some(DeliveryState::Declined),
            Err(e) if e.is_transient() && time::now_millis() - fire_now < GIVE_UP_AFTER => None,
            Err(_) => Some(DeliveryState::Failed),
        };
        let end = state.map(|state| DeliveryEnd { hook, delivery_id, state });
        call_fires.record(last_fire, event, end).await;
        result
    }

    /// Renders a claimed delivery's task as it was accepted.
    async fn prepare(&self, firer: &Firer, hook: &Hook, delivery: StoredDelivery) -> ReadyDelivery {
        let task_id = TaskId::parse(&delivery.task_id).unwrap_or_else(|_| TaskId::generate());
        let payload = delivery.payload.unwrap_or_else(|| Value::Object(serde_json::Map::new()));
        let ctx = FireContext::webhook(payload, delivery.kind.as_str(), &delivery.event, &delivery.delivery_id);
        let opts = FireOptions { task_id: Some(task_id), now: Some(delivery.fire_now) };
        let prepared = firer.prepare(&hook.definition, ctx, opts).await;
        ReadyDelivery { prepared, hook: delivery.hook, delivery_id: delivery.delivery_id, fire_now: delivery.fire_now }
    }

    /// Ends a delivery that cannot fire.
    async fn fail(&self, end: DeliveryEnd) -> Result<(), StorageError> {
        finish_deliveries(&mut *self.pool.get().await?, std::slice::from_ref(&end)).await
    }

    /// Fires the deliveries left pending past their lease. Returns how many it took.
    pub async fn finish_left_behind(
        &self,
        keyring: &Keyring,
        firer: &Firer,
        call_fires: &CallFires,
    ) -> Result<usize, StorageError> {
        let now = time::now_millis();
        let taken = take_left_behind_deliveries(&mut *self.pool.get().await?, now, now + LEASE, TAKE_BATCH).await?;
        let count = taken.len();
        for delivery in taken {
            let (hook_key, delivery_id) = (delivery.hook.clone(), delivery.delivery_id.clone());
            let hook = find_hook(&mut *self.pool.get().await?, keyring, &hook_key).await?;
            // A removed hook takes its deliveries with it; one found without a hook or a payload can't fire.
            let Some(hook) = hook.filter(|_| delivery.payload.is_some()) else {
                self.fail(DeliveryEnd { hook: hook_key, delivery_id, state: DeliveryState::Failed }).await?;
                continue;
            };
            tracing::info!(hook = %hook_key, delivery_id, "firing a webhook delivery left pending");
            let ready = self.prepare(firer, &hook, delivery).await;
            if let Err(e) = self.create(firer, call_fires, ready).await {
                tracing::warn!(hook = %hook_key, delivery_id, error = %e, "a webhook delivery left pending failed again");
            }
        }
        Ok(count)
    }

    /// Runs [`WebhookDeliveries::finish_left_behind`] every `every` until the runtime stops.
    pub async fn finish_periodically(
        self,
        keyring: std::sync::Arc<Keyring>,
        firer: Firer,
        call_fires: CallFires,
        every: Duration,
    ) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            loop {
                match self.finish_left_behind(&keyring, &firer, &call_fires).await {
                    // A full batch: more may be waiting (after an outage), so go on at once.
                    Ok(taken) if taken == TAKE_BATCH as usize => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot look for webhook deliveries left pending; trying later");
                        break;
                    }
                }
            }
        }
    }
}
