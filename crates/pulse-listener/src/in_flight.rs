//! The messages being handled, across sessions: a lost connection does not stop them (their redeliveries then find
//! them recorded), and shutdown waits for them.

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::handler::Handler;

/// The handlers running now.
#[derive(Default)]
pub(crate) struct InFlight {
    handlers: JoinSet<()>,
}

impl InFlight {
    /// Runs a message's handler on a task of its own.
    pub(crate) fn spawn(&mut self, handler: Handler) {
        self.handlers.spawn(handler.run());
    }

    /// Waits for a handler to finish, and forever when none runs (a `select!` branch).
    pub(crate) async fn finished(&mut self) {
        if self.handlers.join_next().await.is_none() {
            std::future::pending::<()>().await;
        }
    }

    /// Waits for the handlers until `deadline`, then abandons the rest to the broker's redelivery.
    pub(crate) async fn drain(&mut self, deadline: Instant) {
        while !self.handlers.is_empty() {
            tokio::select! {
                _ = self.handlers.join_next() => {}
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(
                        in_flight = self.handlers.len(),
                        "shutdown grace is over; messages still in flight are left to the broker to redeliver"
                    );
                    self.handlers.abort_all();
                    return;
                }
            }
        }
    }
}
