//! A received message, as the handler needs it, and its identity.

use lapin::message::Delivery;
use lapin::types::AMQPValue;
use sha2::{Digest as _, Sha256};

/// What the handler reads from a delivery.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    /// The exchange it was published to.
    pub(crate) exchange: String,
    /// Its routing key.
    pub(crate) routing_key: String,
    /// Whether the broker delivered it before (to a consumer that did not acknowledge it).
    pub(crate) redelivered: bool,
    /// Its `message-id` property, when the publisher set one.
    pub(crate) message_id: Option<String>,
    /// The body.
    pub(crate) body: Vec<u8>,
    /// SHA-256 of everything that identifies the message (see [`Message::key`]).
    key: [u8; 32],
}

impl Message {
    /// Reads a delivery.
    pub(crate) fn from_delivery(delivery: &Delivery) -> Self {
        let properties = &delivery.properties;
        // The `CC` routing keys it was also published with (Taskcluster routes, `route.*`) are part of its identity.
        let cc: Vec<String> = properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("CC"))
            .map(|cc| match cc {
                AMQPValue::FieldArray(values) => values.as_slice().iter().filter_map(text).collect(),
                other => text(other).into_iter().collect(),
            })
            .unwrap_or_default();
        let message_id = properties.message_id().as_ref().map(ToString::to_string);
        let timestamp = properties.timestamp().map(|t| t.to_string()).unwrap_or_default();
        let exchange = delivery.exchange.to_string();
        let routing_key = delivery.routing_key.to_string();
        let id = message_id.as_deref().unwrap_or_default();
        let key = identity(&exchange, &routing_key, &cc, id, &timestamp, &delivery.data);
        let body = delivery.data.clone();
        Self { exchange, routing_key, redelivered: delivery.redelivered, message_id, body, key }
    }

    /// Which message this is, for the fire log: its exchange, routing key and message id (never its body).
    pub(crate) fn source(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut source = serde_json::Map::new();
        source.insert("exchange".into(), self.exchange.clone().into());
        source.insert("routingKey".into(), self.routing_key.clone().into());
        if let Some(id) = &self.message_id {
            source.insert("messageId".into(), id.clone().into());
        }
        source
    }

    /// The message's identity: a redelivery has the same one. Byte-identical messages share it too, which is why
    /// fires are looked up by it only for redelivered messages (see `hooks_core::storage::claim_pulse_fire`).
    pub(crate) fn key(&self) -> &[u8] {
        &self.key
    }
}

fn text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

fn identity(
    exchange: &str,
    routing_key: &str,
    cc: &[String],
    message_id: &str,
    timestamp: &str,
    body: &[u8],
) -> [u8; 32] {
    let mut hash = Sha256::new();
    // Length prefixes keep the fields apart: ("ab", "c") and ("a", "bc") hash differently.
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    field(exchange.as_bytes());
    field(routing_key.as_bytes());
    for key in cc {
        field(key.as_bytes());
    }
    field(message_id.as_bytes());
    field(timestamp.as_bytes());
    field(body);
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_depends_on_every_field_and_keeps_them_apart() {
        let base = identity("e", "k", &[], "", "", b"{}");
        assert_eq!(base, identity("e", "k", &[], "", "", b"{}"));
        assert_ne!(base, identity("e", "k2", &[], "", "", b"{}"));
        assert_ne!(base, identity("e", "k", &["route.x".into()], "", "", b"{}"));
        assert_ne!(base, identity("e", "k", &[], "id-1", "", b"{}"));
        assert_ne!(base, identity("e", "k", &[], "", "1700000000", b"{}"));
        assert_ne!(base, identity("e", "k", &[], "", "", b"{ }"));
        assert_ne!(identity("ab", "c", &[], "", "", b""), identity("a", "bc", &[], "", "", b""));
    }
}
