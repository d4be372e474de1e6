//! A Pulse publisher for the suites: publishes to a topic exchange of the suite's own with publisher confirms, and
//! knows whether the broker routed a message to a queue.

use std::time::Duration;

use anyhow::{Context as _, bail};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind};

/// Publishes to a topic exchange with publisher confirms.
pub struct Publisher {
    /// The exchange.
    pub exchange: String,
    channel: Channel,
    _connection: Connection,
}

impl Publisher {
    /// Declares `exchange` (topic, durable) and opens a confirming channel.
    pub async fn connect(url: &str, exchange: &str) -> anyhow::Result<Self> {
        let connection = Connection::connect(url, ConnectionProperties::default())
            .await
            .with_context(|| format!("cannot connect to RabbitMQ at {url} (start it with `make services`)"))?;
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        channel.exchange_declare(exchange.into(), ExchangeKind::Topic, durable, FieldTable::default()).await?;
        Ok(Self { exchange: exchange.to_owned(), channel, _connection: connection })
    }

    /// Publishes `body` under `routing_key` with `message_id`; true when the broker routed it to a queue (it
    /// returns a mandatory message no binding takes).
    pub async fn publish(&self, routing_key: &str, message_id: &str, body: &[u8]) -> anyhow::Result<bool> {
        let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
        let properties = BasicProperties::default()
            .with_message_id(ShortString::from(message_id))
            .with_content_type(ShortString::from("application/json"));
        let confirm = self
            .channel
            .basic_publish(self.exchange.as_str().into(), routing_key.into(), options, body, properties)
            .await?
            .await?;
        Ok(match confirm {
            Confirmation::Ack(returned) => returned.is_none(),
            Confirmation::Nack(_) | Confirmation::NotRequested => false,
        })
    }

    /// Publishes until the message is routed (the listener binds a new hook's queue a moment after it is
    /// created), for at most `timeout`.
    pub async fn publish_routed(
        &self,
        routing_key: &str,
        message_id: &str,
        body: &[u8],
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        while !self.publish(routing_key, message_id, body).await? {
            if std::time::Instant::now() > deadline {
                bail!("no queue took a message for {routing_key:?} within {timeout:?}: the listener never bound it");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }
}
