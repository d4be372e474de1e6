//! Pulse (AMQP 0-9-1 on RabbitMQ): names on the broker, the connection, queue declarations and the reconciliation
//! of hook queues with the hooks table. The listener daemon's loop lives in its own crate.

mod broker;
mod names;
mod publisher;
mod reconcile;

use broker::reply_code;
pub use broker::{BrokerHealth, Declared, QueueOptions, QueueType, Topology, connect, connect_with_backoff, short};
pub use names::Names;
pub use publisher::{HookChange, HookChangePublisher, PublisherTask};
pub use reconcile::{HookQueue, Pass, Reconciler, Scope};

use crate::storage::StorageError;

/// A failure talking to the broker (or to the database while reconciling), naming what was being done.
#[derive(Debug, thiserror::Error)]
pub enum PulseError {
    /// No connection could be opened. The message never carries the URL (it holds a password).
    #[error("cannot connect to the broker: {0}")]
    Connect(#[source] lapin::Error),
    /// The broker refused an operation or the connection failed during it.
    #[error("{action} failed: {source}")]
    Broker {
        /// What was being done, e.g. `binding queue/ns/g/h to exchange/x with a.#`.
        action: String,
        /// What lapin said.
        #[source]
        source: lapin::Error,
    },
    /// The broker answered a published message with a negative acknowledgement.
    #[error("{0} failed: the broker refused the message")]
    Refused(String),
    /// A name is longer than the 255 bytes AMQP allows.
    #[error("the AMQP name starting {0:?} is longer than 255 bytes")]
    NameTooLong(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl PulseError {
    /// The AMQP reply code when the broker refused the operation (404 no such exchange or queue, 403 access refused,
    /// 406 precondition failed).
    pub fn reply_code(&self) -> Option<u16> {
        match self {
            Self::Connect(e) | Self::Broker { source: e, .. } => reply_code(e),
            Self::Refused(_) | Self::NameTooLong(_) | Self::Storage(_) => None,
        }
    }
}
