//! The `hook_webhooks` table (a hook's webhook: kind, events, sealed secret) and the `webhook_deliveries` table
//! (each delivery a webhook accepted, by the sender's delivery id, so a redelivery creates nothing new).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use futures::future::BoxFuture;
use serde_json::Value;

use super::StorageError;
use super::audit;
use super::hooks::{in_order_of, lock_hook};
use super::pauses::Pause;
use super::schema::hook_webhooks;
use crate::webhook::{Webhook, WebhookKind};
use crate::{HookKey, Keyring};

/// The associated data a webhook's secret is sealed under.
fn secret_context(hook: &HookKey) -> String {
    format!("webhook-secret:{}/{}", hook.group, hook.id)
}

/// Sets the hook's webhook (replacing any it had) and records who did, in one transaction. Returns `false` when
/// there is no such hook.
#[tracing::instrument(name = "db.set_webhook", skip_all)]
pub async fn set_webhook(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    hook: &HookKey,
    webhook: &Webhook,
    client_id: &str,
) -> Result<bool, StorageError> {
    let sealed = keyring.seal_secret(&secret_context(hook), &webhook.secret).map_err(|e| StorageError::Corrupt {
        what: format!("the webhook of hook {hook}"),
        problem: format!("cannot seal its secret: {e}"),
    })?;
    let (hook_group_id, hook_id) = hook.as_strs();
    let events = Value::from(webhook.events.clone());
    conn.transaction::<_, StorageError, _>(async |conn| {
        if !lock_hook(conn, hook).await? {
            return Ok(false);
        }
        diesel::insert_into(hook_webhooks::table)
            .values((
                hook_webhooks::hook_group_id.eq(hook_group_id),
                hook_webhooks::hook_id.eq(hook_id),
                hook_webhooks::kind.eq(webhook.kind.as_str()),
                hook_webhooks::events.eq(&events),
                hook_webhooks::encrypted_secret.eq(&sealed),
            ))
            .on_conflict((hook_webhooks::hook_group_id, hook_webhooks::hook_id))
            .do_update()
            .set((
                hook_webhooks::kind.eq(excluded(hook_webhooks::kind)),
                hook_webhooks::events.eq(excluded(hook_webhooks::events)),
                hook_webhooks::encrypted_secret.eq(excluded(hook_webhooks::encrypted_secret)),
            ))
            .execute(conn)
            .await?;
        audit::record(conn, hook, client_id, "webhook-set").await?;
        Ok(true)
    })
    .await
}

/// A hook's webhook as stored, with the hook's pause if it is paused (read together: a delivery needs both).
#[derive(Debug, Clone, QueryableByName)]
pub(super) struct WebhookRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    hook_group_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    hook_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    events: Value,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    encrypted_secret: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    reason: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    paused_by: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    since: Option<DateTime<Utc>>,
}

impl WebhookRow {
    /// The webhook, its secret opened, and the pause.
    pub(super) fn open(self, keyring: &Keyring) -> Result<(Webhook, Option<Pause>), StorageError> {
        let hook = HookKey::from_stored(self.hook_group_id, self.hook_id);
        let corrupt = |problem: String| StorageError::Corrupt { what: format!("the webhook of hook {hook}"), problem };
        let kind = WebhookKind::parse(&self.kind).ok_or_else(|| corrupt(format!("unknown kind {:?}", self.kind)))?;
        let events: Vec<String> = serde_json::from_value(self.events).map_err(|e| corrupt(format!("events: {e}")))?;
        let secret = keyring
            .open_secret(&secret_context(&hook), &self.encrypted_secret)
            .map_err(|e| corrupt(format!("secret: {e}")))?;
        let pause = match (self.reason, self.paused_by, self.since) {
            (Some(reason), Some(paused_by), Some(since)) => Some(Pause { reason, paused_by, since }),
            _ => None,
        };
        Ok((Webhook { kind, events, secret }, pause))
    }
}

/// The webhooks (and pauses) of `keys`, in order (one query).
#[tracing::instrument(name = "db.find_webhook_rows", skip_all)]
pub(super) async fn find_webhook_rows(
    conn: &mut AsyncPgConnection,
    keys: &[HookKey],
) -> Result<Vec<Option<WebhookRow>>, StorageError> {
    use diesel::sql_types::{Array, Text};
    let groups: Vec<&str> = keys.iter().map(|k| k.group.as_str()).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    let rows: Vec<WebhookRow> = diesel::sql_query(
        "SELECT w.hook_group_id, w.hook_id, w.kind, w.events, w.encrypted_secret, p.reason, p.paused_by, p.since \
         FROM hook_webhooks w \
         JOIN (SELECT DISTINCT g, h FROM unnest($1::text[], $2::text[]) AS k(g, h)) AS k \
           ON w.hook_group_id = k.g AND w.hook_id = k.h \
         LEFT JOIN hook_pauses p ON p.hook_group_id = w.hook_group_id AND p.hook_id = w.hook_id",
    )
    .bind::<Array<Text>, _>(groups)
    .bind::<Array<Text>, _>(ids)
    .load(conn)
    .await?;
    let found = rows.into_iter().map(|r| (HookKey::from_stored(r.hook_group_id.clone(), r.hook_id.clone()), r));
    Ok(in_order_of(keys, found.collect()))
}

/// Removes the hook's webhook and records who did; `false` when it had none. Its deliveries stay, so a late
/// redelivery after the webhook is set again still creates nothing new.
#[tracing::instrument(name = "db.delete_webhook", skip_all)]
pub async fn delete_webhook(
    conn: &mut AsyncPgConnection,
    hook: &HookKey,
    client_id: &str,
) -> Result<bool, StorageError> {
    let (hook_group_id, hook_id) = hook.as_strs();
    conn.transaction::<_, StorageError, _>(async |conn| {
        let n = diesel::delete(hook_webhooks::table.find((hook_group_id, hook_id))).execute(conn).await?;
        if n == 1 {
            audit::record(conn, hook, client_id, "webhook-removed").await?;
        }
        Ok(n == 1)
    })
    .await
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Accepted; its task is being created (or will be, by whichever api-server takes it once its lease ends).
    Pending,
    /// Its task was created.
    Created,
    /// The template declined: no task.
    Declined,
    /// It could not fire (a render error, the queue refusing the task); a redelivery tries again.
    Failed,
}

impl DeliveryState {
    const ALL: [Self; 4] = [Self::Pending, Self::Created, Self::Declined, Self::Failed];

    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Created => "created",
            Self::Declined => "declined",
            Self::Failed => "failed",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDelivery {
    /// The hook.
    pub hook: HookKey,
    /// The sender's id.
    pub delivery_id: String,
    /// The task it creates.
    pub task_id: String,
    /// The `now` its task is rendered with.
    pub fire_now: DateTime<Utc>,
    /// Who sent it.
    pub kind: WebhookKind,
    /// The sender's event.
    pub event: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Its payload, while it is pending.
    pub payload: Option<Value>,
}

#[derive(QueryableByName)]
struct DeliveryRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    hook_group_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    hook_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    delivery_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    task_id: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    fire_now: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    event: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
    /// JSON text, not jsonb: jsonb refuses U+0000, which a payload may hold (and must keep, to render the same task).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    payload: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    claimed: bool,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<(StoredDelivery, bool), StorageError> {
        let corrupt = |problem: String| StorageError::Corrupt {
            what: format!("delivery {:?} of hook {}/{}", self.delivery_id, self.hook_group_id, self.hook_id),
            problem,
        };
        let hook = HookKey::parse(&self.hook_group_id, &self.hook_id).map_err(|e| corrupt(e.to_string()))?;
        let kind = WebhookKind::parse(&self.kind).ok_or_else(|| corrupt(format!("unknown kind {:?}", self.kind)))?;
        let state =
            DeliveryState::parse(&self.state).ok_or_else(|| corrupt(format!("unknown state {:?}", self.state)))?;
        let payload = self.payload.as_deref().map(serde_json::from_str).transpose();
        let payload = payload.map_err(|e| corrupt(format!("payload: {e}")))?;
        let delivery = StoredDelivery {
            hook,
            delivery_id: self.delivery_id,
            task_id: self.task_id,
            fire_now: self.fire_now,
            kind,
            event: self.event,
            state,
            payload,
        };
        Ok((delivery, self.claimed))
    }
}

const DELIVERY_COLUMNS: &str = "hook_group_id, hook_id, delivery_id, task_id, fire_now, kind, event, state, payload";

/// What claiming a delivery found.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryClaim {
    /// This caller fires it: it is new, or an earlier attempt failed.
    Claimed(StoredDelivery),
    /// It was accepted before and did not fail: the caller fires nothing.
    Earlier(StoredDelivery),
}

/// A claim to write: the delivery (pending, with its payload) and how long it is its claimer's.
#[derive(Debug, Clone)]
pub struct NewClaim {
    /// The delivery as accepted.
    pub delivery: StoredDelivery,
    /// Its lease.
    pub lease_until: DateTime<Utc>,
}

/// Claims deliveries (one statement for any number, two when some were there before): each new one, or failed before (then it is
/// tried again with the first attempt's taskId and `now`, and the new payload), is claimed; any other is answered
/// as it stands. Two claims of one delivery in a batch fail it, and the batch is then written one claim at a time.
pub fn claim_deliveries<'c>(
    conn: &'c mut AsyncPgConnection,
    claims: &'c [NewClaim],
) -> BoxFuture<'c, Result<Vec<DeliveryClaim>, StorageError>> {
    use diesel::sql_types::{Array, Nullable, Text, Timestamptz};
    Box::pin(async move {
        let column = |f: fn(&NewClaim) -> &str| claims.iter().map(f).collect::<Vec<&str>>();
        let groups = column(|c| c.delivery.hook.group.as_str());
        let ids = column(|c| c.delivery.hook.id.as_str());
        let deliveries = column(|c| c.delivery.delivery_id.as_str());
        let tasks = column(|c| c.delivery.task_id.as_str());
        let kinds = column(|c| c.delivery.kind.as_str());
        let events = column(|c| c.delivery.event.as_str());
        let nows: Vec<DateTime<Utc>> = claims.iter().map(|c| c.delivery.fire_now).collect();
        let payloads: Vec<Option<String>> =
            claims.iter().map(|c| c.delivery.payload.as_ref().map(Value::to_string)).collect();
        let leases: Vec<DateTime<Utc>> = claims.iter().map(|c| c.lease_until).collect();
        // No transaction: a claim written whose answer is lost stays pending, and is fired once its lease runs out.
        {
            let claimed: Vec<DeliveryRow> = diesel::sql_query(format!(
                "INSERT INTO webhook_deliveries AS d \
                     (hook_group_id, hook_id, delivery_id, task_id, fire_now, kind, event, state, payload, lease_until) \
                 SELECT g, h, i, t, n, k, e, 'pending', p, l \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], \
                             $7::text[], $8::text[], $9::timestamptz[]) AS u(g, h, i, t, n, k, e, p, l) \
                 ON CONFLICT (hook_group_id, hook_id, delivery_id) DO UPDATE \
                     SET state = 'pending', payload = excluded.payload, lease_until = excluded.lease_until \
                     WHERE d.state = 'failed' \
                 RETURNING {DELIVERY_COLUMNS}, true AS claimed"
            ))
            .bind::<Array<Text>, _>(&groups)
            .bind::<Array<Text>, _>(&ids)
            .bind::<Array<Text>, _>(&deliveries)
            .bind::<Array<Text>, _>(&tasks)
            .bind::<Array<Timestamptz>, _>(&nows)
            .bind::<Array<Text>, _>(&kinds)
            .bind::<Array<Text>, _>(&events)
            .bind::<Array<Nullable<Text>>, _>(&payloads)
            .bind::<Array<Timestamptz>, _>(&leases)
            .load(conn)
            .await?;
            let mut rows: Vec<(StoredDelivery, bool)> =
                claimed.into_iter().map(DeliveryRow::into_delivery).collect::<Result<_, _>>()?;
            if rows.len() < claims.len() {
                // The others were there before (committed: the insert waited for them), and are read as they are.
                let earlier: Vec<DeliveryRow> = diesel::sql_query(format!(
                    "SELECT {DELIVERY_COLUMNS}, false AS claimed FROM webhook_deliveries \
                     WHERE (hook_group_id, hook_id, delivery_id) IN \
                         (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))"
                ))
                .bind::<Array<Text>, _>(&groups)
                .bind::<Array<Text>, _>(&ids)
                .bind::<Array<Text>, _>(&deliveries)
                .load(conn)
                .await?;
                for row in earlier {
                    let (delivery, _) = row.into_delivery()?;
                    if !rows.iter().any(|(d, _)| same_delivery(d, &delivery)) {
                        rows.push((delivery, false));
                    }
                }
            }
            claims
                .iter()
                .map(|c| {
                    let found = rows.iter().position(|(d, _)| same_delivery(d, &c.delivery));
                    let (delivery, claimed) =
                        found.map(|i| rows.swap_remove(i)).ok_or_else(|| StorageError::Corrupt {
                            what: format!("delivery {:?} of hook {}", c.delivery.delivery_id, c.delivery.hook),
                            problem: "neither claimed nor found".into(),
                        })?;
                    Ok(if claimed { DeliveryClaim::Claimed(delivery) } else { DeliveryClaim::Earlier(delivery) })
                })
                .collect()
        }
    })
}

fn same_delivery(a: &StoredDelivery, b: &StoredDelivery) -> bool {
    a.hook == b.hook && a.delivery_id == b.delivery_id
}

/// A delivery's end: which delivery, and where it stands now.
#[derive(Debug, Clone)]
pub struct DeliveryEnd {
    /// The hook.
    pub hook: HookKey,
    /// The sender's id.
    pub delivery_id: String,
    /// `Created`, `Declined` or `Failed`.
    pub state: DeliveryState,
}

/// Records how deliveries ended (one statement), dropping their payloads. A delivery no longer pending (another
/// api-server finished it first) is left as it is.
#[tracing::instrument(name = "db.finish_deliveries", skip_all)]
pub(crate) async fn finish_deliveries(conn: &mut AsyncPgConnection, ends: &[DeliveryEnd]) -> Result<(), StorageError> {
    use diesel::sql_types::{Array, Text};
    {
        let groups: Vec<&str> = ends.iter().map(|e| e.hook.group.as_str()).collect();
        let ids: Vec<&str> = ends.iter().map(|e| e.hook.id.as_str()).collect();
        let deliveries: Vec<&str> = ends.iter().map(|e| e.delivery_id.as_str()).collect();
        let states: Vec<&str> = ends.iter().map(|e| e.state.as_str()).collect();
        // Rows are locked in key order, so two batches never wait on each other in a cycle.
        diesel::sql_query(
            "WITH e AS (SELECT d.hook_group_id, d.hook_id, d.delivery_id, u.s FROM webhook_deliveries d \
                 JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(g, h, i, s) \
                   ON d.hook_group_id = u.g AND d.hook_id = u.h AND d.delivery_id = u.i \
                 WHERE d.state = 'pending' ORDER BY 1, 2, 3 FOR UPDATE OF d) \
             UPDATE webhook_deliveries d SET state = e.s, payload = NULL FROM e \
             WHERE d.hook_group_id = e.hook_group_id AND d.hook_id = e.hook_id AND d.delivery_id = e.delivery_id",
        )
        .bind::<Array<Text>, _>(groups)
        .bind::<Array<Text>, _>(ids)
        .bind::<Array<Text>, _>(deliveries)
        .bind::<Array<Text>, _>(states)
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// Takes at most `limit` pending deliveries whose lease ran out before `now` (their api-server stopped, or is
/// slow), leasing them until `lease_until`. Rows another api-server is taking are skipped.
#[tracing::instrument(name = "db.take_left_behind_deliveries", skip_all)]
pub async fn take_left_behind_deliveries(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<StoredDelivery>, StorageError> {
    use diesel::sql_types::{BigInt, Timestamptz};
    let rows: Vec<DeliveryRow> = diesel::sql_query(format!(
        "UPDATE webhook_deliveries SET lease_until = $2 \
         WHERE (hook_group_id, hook_id, delivery_id) IN ( \
             SELECT hook_group_id, hook_id, delivery_id FROM webhook_deliveries \
             WHERE state = 'pending' AND lease_until < $1 ORDER BY lease_until LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING {DELIVERY_COLUMNS}, true AS claimed"
    ))
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(lease_until)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    rows.into_iter().map(|r| r.into_delivery().map(|(d, _)| d)).collect()
}

/// Deletes at most `limit` deliveries received before `before` that are no longer pending, returning how many
/// (as [`super::expire_last_fires`]: one short statement, skipping rows another caller is deleting).
#[tracing::instrument(name = "db.expire_webhook_deliveries", skip_all)]
pub async fn expire_webhook_deliveries(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<usize, StorageError> {
    use diesel::sql_types::{BigInt, Timestamptz};
    Ok(diesel::sql_query(
        "DELETE FROM webhook_deliveries WHERE (hook_group_id, hook_id, delivery_id) IN ( \
            SELECT hook_group_id, hook_id, delivery_id FROM webhook_deliveries \
            WHERE received < $1 AND state <> 'pending' LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(before)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await?)
}
