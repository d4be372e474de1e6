//! The connection to the broker and the declarations the listener makes on it.
//!
//! Every hook queue is durable, bounded, and dead-letters what it drops: a queue at its length limit drops its
//! oldest message into the dead-letter queue (not silently, as upstream's 50-message queues do), and so does a
//! quorum queue for a message delivered more than the delivery limit allows (a message that crashes its
//! consumer). Dead-lettering goes through the default exchange straight to `queue/<namespace>/dead-letter`.

use std::collections::HashSet;
use std::sync::Arc;

use clap::ValueEnum;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

use super::PulseError;
use super::names::Names;
use crate::SecretString;
use crate::hook::Binding;

/// The kind of RabbitMQ queue the listener declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueueType {
    /// Replicated, durable queues with a delivery limit; what upstream declares.
    Quorum,
    /// Single-node queues: lighter, but without a delivery limit.
    Classic,
}

impl QueueType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Quorum => "quorum",
            Self::Classic => "classic",
        }
    }
}

/// How hook queues are declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOptions {
    /// Quorum or classic.
    pub queue_type: QueueType,
    /// The most messages a hook queue holds; beyond, the oldest go to the dead-letter queue.
    pub max_length: u32,
    /// Quorum queues only: after this many deliveries a message goes to the dead-letter queue.
    pub delivery_limit: u32,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self { queue_type: QueueType::Quorum, max_length: 100_000, delivery_limit: 20 }
    }
}

fn long_string(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s.as_bytes().to_vec()))
}

impl QueueOptions {
    /// The `x-` arguments of a hook queue.
    pub fn hook_queue_arguments(&self, names: &Names) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), long_string(self.queue_type.as_str()));
        args.insert("x-max-length".into(), AMQPValue::LongLongInt(i64::from(self.max_length)));
        args.insert("x-overflow".into(), long_string("drop-head"));
        // The default exchange ("") routes by queue name: no dead-letter exchange to declare or lose.
        args.insert("x-dead-letter-exchange".into(), long_string(""));
        args.insert("x-dead-letter-routing-key".into(), long_string(&names.dead_letter_queue()));
        if self.queue_type == QueueType::Quorum {
            args.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(i64::from(self.delivery_limit)));
        }
        args
    }

    fn dead_letter_arguments(&self) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), long_string(self.queue_type.as_str()));
        args
    }
}

/// Turns a name into an AMQP short string, refusing (rather than panicking on) one over 255 bytes.
pub fn short(name: &str) -> Result<ShortString, PulseError> {
    ShortString::try_new(name).map_err(|_| PulseError::NameTooLong(name.chars().take(64).collect()))
}

/// Opens a connection, naming it `connection_name` on the broker (shown by `rabbitmqctl list_connections`).
pub async fn connect(url: &SecretString, connection_name: &str) -> Result<Connection, PulseError> {
    let properties = ConnectionProperties::default().with_connection_name(connection_name.into());
    Connection::connect(url.expose(), properties).await.map_err(PulseError::Connect)
}

/// Connects, retrying with exponential backoff (100 ms doubling to 10 s) until it succeeds; each failure is logged.
/// Cancel it by dropping the future.
pub async fn connect_with_backoff(url: &SecretString, connection_name: &str) -> Connection {
    let mut delays = crate::backoff::Backoff::RECONNECT.delays();
    loop {
        match connect(url, connection_name).await {
            Ok(connection) => return connection,
            Err(e) => {
                let retry_in = delays.next_delay();
                tracing::warn!(error = %e, ?retry_in, "cannot connect to the broker");
                tokio::time::sleep(retry_in).await;
            }
        }
    }
}

/// The connection a daemon is using now, for its health check: cheap to read (no round trip to the broker).
/// Cloning is cheap; clones share the state.
#[derive(Clone, Default)]
pub struct BrokerHealth {
    current: Arc<std::sync::Mutex<Option<Arc<Connection>>>>,
}

impl std::fmt::Debug for BrokerHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerHealth").field("connected", &self.connected()).finish()
    }
}

impl BrokerHealth {
    /// Watches `connection` from now on.
    pub fn set(&self, connection: Arc<Connection>) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(connection);
    }

    /// Forgets the connection (it was lost or closed).
    pub fn clear(&self) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Whether there is a connection and it is up.
    pub fn connected(&self) -> bool {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).as_ref().is_some_and(|c| c.status().connected())
    }
}

/// How a hook queue's declaration went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared {
    /// The queue was there (with our arguments, when first declared on this connection).
    Existing,
    /// The queue was missing (new hook, or the broker lost it) and was created: whoever consumed from the old one
    /// must consume again, since the broker may not have told them it was gone.
    Created,
    /// The queue exists with other arguments (declared by upstream, or before a settings change); it is used as
    /// it is. Delete it to have it declared anew.
    OtherArguments,
}

/// Declares, binds, unbinds and deletes on one channel, opening a fresh channel whenever the broker closed the last
/// one (it does after every refused operation, e.g. binding to an exchange that does not exist).
pub struct Topology {
    connection: Arc<Connection>,
    channel: Option<Channel>,
    names: Names,
    options: QueueOptions,
    /// Queues whose arguments were checked on this connection.
    checked: HashSet<String>,
}

impl Topology {
    /// Declarations on `connection` for the objects `names` names, with queues as `options` says.
    pub fn new(connection: Arc<Connection>, names: Names, options: QueueOptions) -> Self {
        Self { connection, channel: None, names, options, checked: HashSet::new() }
    }

    /// The names used.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Whether the connection is still usable.
    pub fn connected(&self) -> bool {
        self.connection.status().connected()
    }

    async fn channel(&mut self) -> Result<Channel, PulseError> {
        if let Some(channel) = &self.channel
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        let channel = self
            .connection
            .create_channel()
            .await
            .map_err(|source| PulseError::Broker { action: "opening a channel".into(), source })?;
        self.channel = Some(channel.clone());
        Ok(channel)
    }

    fn failed(&mut self, action: impl Into<String>, source: lapin::Error) -> PulseError {
        // The broker closes the channel on a refused operation; the next operation opens another.
        self.channel = None;
        PulseError::Broker { action: action.into(), source }
    }

    /// Declares the dead-letter queue; returns how many messages it holds.
    pub async fn declare_dead_letter_queue(&mut self) -> Result<u32, PulseError> {
        let name = self.names.dead_letter_queue();
        let args = self.options.dead_letter_arguments();
        let options = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
        let channel = self.channel().await?;
        match channel.queue_declare(short(&name)?, options, args).await {
            Ok(queue) => Ok(queue.message_count()),
            Err(e) if reply_code(&e) == Some(406) => {
                tracing::warn!(queue = %name, "the dead-letter queue exists with other arguments; using it as it is");
                self.channel = None;
                self.dead_letter_count().await
            }
            Err(e) => Err(self.failed(format!("declaring queue {name}"), e)),
        }
    }

    /// How many messages the dead-letter queue holds.
    pub async fn dead_letter_count(&mut self) -> Result<u32, PulseError> {
        let name = self.names.dead_letter_queue();
        self.passive_declare(&name).await
    }

    async fn passive_declare(&mut self, queue: &str) -> Result<u32, PulseError> {
        let channel = self.channel().await?;
        let options = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
        match channel.queue_declare(short(queue)?, options, FieldTable::default()).await {
            Ok(q) => Ok(q.message_count()),
            Err(e) => Err(self.failed(format!("checking queue {queue}"), e)),
        }
    }

    /// Declares a hook queue (idempotent: a queue the broker lost comes back, one that exists is left alone), and
    /// says whether a queue declared before on this connection had to be created again.
    pub async fn declare_hook_queue(&mut self, queue: &str) -> Result<Declared, PulseError> {
        // A queue deleted and at once declared again under the same name may keep the old queue's consumers
        // registered without delivering to them (seen with quorum queues, whose consumers got no cancel): so for a
        // queue known on this connection, look before declaring, and say when it had to be created again, for its
        // consumers to consume anew.
        let known = self.checked.contains(queue);
        if known {
            let channel = self.channel().await?;
            let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
            match channel.queue_declare(short(queue)?, passive, FieldTable::default()).await {
                Ok(_) => return Ok(Declared::Existing),
                Err(e) if reply_code(&e) == Some(404) => self.channel = None,
                Err(e) => return Err(self.failed(format!("checking queue {queue}"), e)),
            }
        }
        let args = self.options.hook_queue_arguments(&self.names);
        let options = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
        let channel = self.channel().await?;
        let declared = match channel.queue_declare(short(queue)?, options, args).await {
            Ok(_) if known => Declared::Created,
            Ok(_) => Declared::Existing,
            // PRECONDITION_FAILED: the queue exists with other arguments.
            Err(e) if reply_code(&e) == Some(406) => {
                self.channel = None;
                self.passive_declare(queue).await?;
                Declared::OtherArguments
            }
            Err(e) => return Err(self.failed(format!("declaring queue {queue}"), e)),
        };
        self.checked.insert(queue.to_owned());
        Ok(declared)
    }

    /// Forgets that a queue was declared on this connection (it was deleted).
    fn forget(&mut self, queue: &str) {
        self.checked.remove(queue);
    }

    /// Binds `queue` as `binding` says (idempotent).
    pub async fn bind(&mut self, queue: &str, binding: &Binding) -> Result<(), PulseError> {
        let channel = self.channel().await?;
        let result = channel
            .queue_bind(
                short(queue)?,
                short(&binding.exchange)?,
                short(&binding.routing_key_pattern)?,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await;
        result.map_err(|e| {
            self.failed(format!("binding {queue} to {} with {}", binding.exchange, binding.routing_key_pattern), e)
        })
    }

    /// Removes a binding; one that does not exist (or whose exchange is gone) is already removed.
    pub async fn unbind(&mut self, queue: &str, binding: &Binding) -> Result<(), PulseError> {
        let channel = self.channel().await?;
        let result = channel
            .queue_unbind(
                short(queue)?,
                short(&binding.exchange)?,
                short(&binding.routing_key_pattern)?,
                FieldTable::default(),
            )
            .await;
        match result {
            Ok(()) => Ok(()),
            Err(e) if reply_code(&e) == Some(404) => {
                self.channel = None;
                Ok(())
            }
            Err(e) => Err(self.failed(
                format!("unbinding {queue} from {} with {}", binding.exchange, binding.routing_key_pattern),
                e,
            )),
        }
    }

    /// Deletes a queue and the messages in it; returns how many there were. A queue that is gone is deleted.
    pub async fn delete_queue(&mut self, queue: &str) -> Result<u32, PulseError> {
        self.forget(queue);
        let channel = self.channel().await?;
        match channel.queue_delete(short(queue)?, QueueDeleteOptions::default()).await {
            Ok(n) => Ok(n),
            Err(e) if reply_code(&e) == Some(404) => {
                self.channel = None;
                Ok(0)
            }
            Err(e) => Err(self.failed(format!("deleting queue {queue}"), e)),
        }
    }

    /// Declares the three hook-changed exchanges (topic, durable), as the api-server does; declaring them here too
    /// means the listener can bind to them whichever daemon starts first.
    pub async fn declare_hook_changed_exchanges(&mut self) -> Result<(), PulseError> {
        let channel = self.channel().await?;
        let result = declare_hook_changed_exchanges(&channel, &self.names).await;
        if result.is_err() {
            self.channel = None;
        }
        result
    }
}

/// Declares the three hook-changed exchanges (topic, durable, as upstream) on `channel`.
pub(super) async fn declare_hook_changed_exchanges(channel: &Channel, names: &Names) -> Result<(), PulseError> {
    for exchange in names.hook_changed_exchanges() {
        let options = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        channel
            .exchange_declare(short(&exchange)?, ExchangeKind::Topic, options, FieldTable::default())
            .await
            .map_err(|source| PulseError::Broker { action: format!("declaring exchange {exchange}"), source })?;
    }
    Ok(())
}

/// The AMQP reply code of an operation the broker refused (404 no such exchange or queue, 403 access refused,
/// 406 precondition failed), if that is what `error` is.
pub(super) fn reply_code(error: &lapin::Error) -> Option<u16> {
    match error.kind() {
        lapin::ErrorKind::ProtocolError(e) => Some(e.get_id()),
        _ => None,
    }
}
