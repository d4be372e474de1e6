//! The real RabbitMQ, as tests use it: its URL, a name space of a test's own, and clean-up of the durable queues and
//! exchanges a test leaves behind.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};

/// The broker tests use; override with `HOOKS_TEST_PULSE_URL`.
pub fn pulse_url() -> String {
    std::env::var("HOOKS_TEST_PULSE_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A random lowercase suffix for names of a test's own (`hooks-test-<suffix>` namespaces).
pub fn random_suffix() -> String {
    hooks_core::TaskId::generate().as_str().to_lowercase().replace(['-', '_'], "x")
}

/// Connects to the broker, or panics saying how to start it.
pub async fn connect(url: &str) -> Connection {
    Connection::connect(url, ConnectionProperties::default()).await.unwrap_or_else(|e| {
        panic!(
            "cannot connect to RabbitMQ at {url}: {e}\nStart it with: rabbitmq-server -detached (or `make services`)"
        )
    })
}

/// Polls `check` every 10 ms until it holds or `timeout` passes; returns whether it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Deletes the durable queues and exchanges it was told of when dropped (they outlive the test otherwise).
#[derive(Debug)]
pub struct BrokerCleanup {
    url: String,
    queues: Mutex<Vec<String>>,
    exchanges: Mutex<Vec<String>>,
}

impl BrokerCleanup {
    /// Cleans up on the broker at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), queues: Mutex::default(), exchanges: Mutex::default() }
    }

    /// Deletes `queue` at the end.
    pub fn queue(&self, queue: impl Into<String>) {
        self.queues.lock().expect("cleanup list poisoned").push(queue.into());
    }

    /// Deletes `exchange` at the end.
    pub fn exchange(&self, exchange: impl Into<String>) {
        self.exchanges.lock().expect("cleanup list poisoned").push(exchange.into());
    }
}

impl Drop for BrokerCleanup {
    fn drop(&mut self) {
        let queues = std::mem::take(self.queues.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner));
        let exchanges = std::mem::take(self.exchanges.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner));
        if queues.is_empty() && exchanges.is_empty() {
            return;
        }
        let url = self.url.clone();
        // Drop may run inside a runtime, which cannot block on another: clean up from a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                let Ok(conn) = Connection::connect(&url, ConnectionProperties::default()).await else { return };
                for queue in queues {
                    if let Ok(channel) = conn.create_channel().await {
                        let _ = channel.queue_delete(queue.as_str().into(), QueueDeleteOptions::default()).await;
                    }
                }
                for exchange in exchanges {
                    if let Ok(channel) = conn.create_channel().await {
                        let _ =
                            channel.exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default()).await;
                    }
                }
                let _ = conn.close(200, "ok".into()).await;
            });
        });
        let _ = cleanup.join();
    }
}
