//! What the template sees of the event that fired a hook.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::{TaskId, time};

/// What made a hook fire; it is `firedBy` in the JSON-e context and in last fires (stored by its name).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum FiredBy {
    /// A cron slot.
    Schedule,
    /// An authenticated `triggerHook` call.
    TriggerHook,
    /// A webhook carrying the hook's trigger token.
    TriggerHookWithToken,
    /// A Pulse message on one of the hook's bindings.
    PulseMessage,
    /// A signed webhook delivery (an extension: not in upstream's enum).
    Webhook,
}

impl FiredBy {
    /// The name Taskcluster uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::TriggerHook => "triggerHook",
            Self::TriggerHookWithToken => "triggerHookWithToken",
            Self::PulseMessage => "pulseMessage",
            Self::Webhook => "webhook",
        }
    }

    /// The value named `name` as Taskcluster names it.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Schedule, Self::TriggerHook, Self::TriggerHookWithToken, Self::PulseMessage, Self::Webhook]
            .into_iter()
            .find(|f| f.as_str() == name)
    }
}

impl serde::Serialize for FiredBy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for FiredBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the template sees about the event, besides `taskId` and `now`.
#[derive(Debug, Clone)]
pub struct FireContext {
    /// How the hook fired.
    pub fired_by: FiredBy,
    /// The payload (API calls, webhooks, Pulse messages); absent for schedules.
    pub payload: Option<Value>,
    /// The caller, for `triggerHook` only.
    pub client_id: Option<String>,
    /// Further context keys (a Pulse message's `exchange` and `routingKey`).
    pub extra: Map<String, Value>,
    /// Which event it was, for the fire log (never the payload): the caller's `clientId`; a message's
    /// `exchange`, `routingKey` and `messageId`; a slot; a webhook's `deliveryId`.
    pub source: Map<String, Value>,
}

impl FireContext {
    /// The context of a scheduled fire.
    pub fn schedule() -> Self {
        Self { fired_by: FiredBy::Schedule, payload: None, client_id: None, extra: Map::new(), source: Map::new() }
    }

    /// The context of a `triggerHook` call by `client_id`.
    pub fn trigger_hook(payload: Value, client_id: impl Into<String>) -> Self {
        let client_id: String = client_id.into();
        let mut source = Map::new();
        source.insert("clientId".into(), Value::String(client_id.clone()));
        Self {
            fired_by: FiredBy::TriggerHook,
            payload: Some(payload),
            client_id: Some(client_id),
            extra: Map::new(),
            source,
        }
    }

    /// The context of a webhook.
    pub fn trigger_hook_with_token(payload: Value) -> Self {
        Self {
            fired_by: FiredBy::TriggerHookWithToken,
            payload: Some(payload),
            client_id: None,
            extra: Map::new(),
            source: Map::new(),
        }
    }

    /// The context of a Pulse message.
    pub fn pulse_message(payload: Value, exchange: &str, routing_key: &str) -> Self {
        let mut extra = Map::new();
        extra.insert("exchange".into(), Value::String(exchange.into()));
        extra.insert("routingKey".into(), Value::String(routing_key.into()));
        let source = extra.clone();
        Self { fired_by: FiredBy::PulseMessage, payload: Some(payload), client_id: None, extra, source }
    }

    /// The context of a signed webhook delivery: the template sees `webhook: {kind, event, deliveryId}`, and the
    /// fire log the same.
    pub fn webhook(payload: Value, kind: &str, event: &str, delivery_id: &str) -> Self {
        let mut webhook = Map::new();
        webhook.insert("kind".into(), Value::String(kind.into()));
        webhook.insert("event".into(), Value::String(event.into()));
        webhook.insert("deliveryId".into(), Value::String(delivery_id.into()));
        let source = webhook.clone();
        let mut extra = Map::new();
        extra.insert("webhook".into(), Value::Object(webhook));
        Self { fired_by: FiredBy::Webhook, payload: Some(payload), client_id: None, extra, source }
    }

    /// The same context, telling the fire log one more thing about the event.
    pub fn with_source(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.source.insert(key.to_owned(), value.into());
        self
    }

    pub(super) fn to_json(&self, task_id: &TaskId, now: DateTime<Utc>) -> Map<String, Value> {
        let mut ctx = self.extra.clone();
        ctx.insert("firedBy".into(), Value::String(self.fired_by.as_str().into()));
        if let Some(payload) = &self.payload {
            ctx.insert("payload".into(), payload.clone());
        }
        if let Some(client_id) = &self.client_id {
            ctx.insert("clientId".into(), Value::String(client_id.clone()));
        }
        ctx.insert("taskId".into(), Value::String(task_id.to_string()));
        ctx.insert("now".into(), Value::String(time::to_json(now)));
        ctx
    }
}
