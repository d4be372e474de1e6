//! Shared by the listener's tests: a database, a fake queue, a namespace and exchanges of the test's own on the real
//! broker, and a publisher.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]
#![allow(dead_code, missing_docs, reason = "shared test helpers; not every test file uses all")]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hooks_core::pulse::{Names, QueueType};
use hooks_core::sink::{EmbeddedSink, TaskSink};
use hooks_core::storage::{create_hook, delete_hook, update_hook_definition};
use hooks_core::{ExchangeDenylist, HookDefinition, HookGroupId, HookId, HookInput, Keyring, SecretString};
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ExchangeKind};
use pulse_listener::{Listener, ListenerOptions, Stats};
use serde_json::{Value, json};
use test_support::{BrokerCleanup, FakeTaskcluster, TestDb};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const GROUP: &str = "pulse";

pub use test_support::broker::{connect, eventually, pulse_url, random_suffix};

async fn publisher(url: &str) -> (Arc<Connection>, Channel) {
    let amqp = connect(url).await;
    let channel = amqp.create_channel().await.unwrap();
    channel.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    (Arc::new(amqp), channel)
}

/// The key of hook `id` in the tests' group.
pub fn key(id: &str) -> hooks_core::HookKey {
    hooks_core::HookKey::parse(GROUP, id).unwrap()
}

pub struct Env {
    pub db: TestDb,
    pub fake: FakeTaskcluster,
    pub keyring: Arc<Keyring>,
    /// The key the keyring was made from, for daemons started as processes.
    pub crypto_key: SecretString,
    pub namespace: String,
    pub names: Names,
    pub url: String,
    amqp: std::sync::Mutex<(Arc<Connection>, Channel)>,
    cleanup: BrokerCleanup,
}

impl Env {
    pub async fn new() -> Self {
        Self::with_url(pulse_url()).await
    }

    pub async fn with_url(url: String) -> Self {
        // Logs only when asked for (RUST_LOG=info cargo test ... -- --nocapture).
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
        let namespace = format!("hooks-test-{}", random_suffix());
        let amqp = std::sync::Mutex::new(publisher(&url).await);
        let crypto_key = Keyring::generate_key().unwrap();
        let names = Names::new(&namespace);
        let cleanup = BrokerCleanup::new(&url);
        cleanup.queue(names.dead_letter_queue());
        // The listener declares the hook-changed exchanges.
        for exchange in names.hook_changed_exchanges() {
            cleanup.exchange(exchange);
        }
        Self {
            db: TestDb::new().await,
            fake: FakeTaskcluster::start_default(),
            keyring: Arc::new(Keyring::parse(&crypto_key).unwrap()),
            crypto_key,
            names,
            namespace,
            url,
            amqp,
            cleanup,
        }
    }

    fn publisher(&self) -> Channel {
        self.amqp.lock().unwrap().1.clone()
    }

    fn connection(&self) -> Arc<Connection> {
        self.amqp.lock().unwrap().0.clone()
    }

    /// Connects the test's publisher again (after the broker closed its connection).
    pub async fn reconnect(&self) {
        let fresh = publisher(&self.url).await;
        *self.amqp.lock().unwrap() = fresh;
    }

    /// Options for a listener in this test: its namespace, fast retries, classic queues unless asked otherwise.
    pub fn options(&self) -> ListenerOptions {
        let mut options = ListenerOptions::new(
            SecretString::new(self.url.clone()),
            &self.namespace,
            SecretString::new(self.db.url.clone()),
        );
        options.queue.queue_type = QueueType::Quorum;
        options.retry_base = Duration::from_millis(10);
        options.retry_max = Duration::from_millis(200);
        options.missing_exchange_retry = Duration::from_millis(200);
        options.shutdown_grace = Duration::from_secs(10);
        options.connection_name = format!("hooks-pulse-listener test {}", self.namespace);
        options
    }

    pub fn queue_sink(&self, retries: usize) -> Arc<dyn TaskSink> {
        Arc::new(self.fake.queue_sink(retries))
    }

    pub fn embedded_sink(&self) -> Arc<dyn TaskSink> {
        Arc::new(EmbeddedSink::new(self.db.pool.clone()))
    }

    pub fn listener(&self, options: ListenerOptions, sink: Arc<dyn TaskSink>) -> Listener {
        Listener::new(self.db.pool.clone(), self.keyring.clone(), test_support::renderer(), sink, options)
    }

    /// Starts a listener firing into the fake queue.
    pub fn start(&self) -> Running {
        self.start_with(self.options(), self.queue_sink(0))
    }

    pub fn start_with(&self, options: ListenerOptions, sink: Arc<dyn TaskSink>) -> Running {
        Running::spawn(self.listener(options, sink))
    }

    /// A topic exchange of this test's own.
    pub async fn exchange(&self, name: &str) -> String {
        let full = format!("exchange/{}/{name}", self.namespace);
        let options = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        self.publisher()
            .exchange_declare(full.as_str().into(), ExchangeKind::Topic, options, FieldTable::default())
            .await
            .unwrap();
        self.cleanup.exchange(full.clone());
        full
    }

    /// A name for an exchange that is not declared (yet).
    pub fn exchange_name(&self, name: &str) -> String {
        let full = format!("exchange/{}/{name}", self.namespace);
        self.cleanup.exchange(full.clone());
        full
    }

    pub fn definition(&self, id: &str, bindings: Value, extra: Value) -> HookDefinition {
        let mut input = json!({
            "metadata": {"name": "n", "description": "d", "owner": "owner@example.com"},
            "bindings": bindings,
            "triggerSchema": {"type": "object"},
            "task": {
                "provisionerId": "p",
                "workerType": "w",
                "payload": {},
                "extra": {
                    "firedBy": "${firedBy}",
                    "exchange": "${exchange}",
                    "routingKey": "${routingKey}",
                    "message": {"$eval": "payload"},
                    "taskId": "${taskId}",
                },
            },
        });
        input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let input: HookInput = serde_json::from_value(input).unwrap();
        HookDefinition::parse(
            HookGroupId::parse(GROUP).unwrap(),
            HookId::parse(id).unwrap(),
            input,
            &ExchangeDenylist::default(),
        )
        .unwrap()
    }

    /// Creates a hook as the API would (the `hooks_changed` trigger announces it).
    pub async fn create_hook(&self, id: &str, bindings: Value, extra: Value) -> HookDefinition {
        let def = self.definition(id, bindings, extra);
        let mut conn = self.db.pool.get().await.unwrap();
        create_hook(&mut conn, &self.keyring, &def, "test", Utc::now()).await.unwrap();
        self.cleanup.queue(self.names.hook_queue(GROUP, id));
        def
    }

    pub async fn update_hook(&self, id: &str, bindings: Value, extra: Value) {
        let def = self.definition(id, bindings, extra);
        let mut conn = self.db.pool.get().await.unwrap();
        assert!(update_hook_definition(&mut conn, &def, "test", Utc::now()).await.unwrap());
    }

    pub async fn delete_hook(&self, id: &str) {
        let mut conn = self.db.pool.get().await.unwrap();
        assert!(delete_hook(&mut conn, &key(id), "test").await.unwrap());
    }

    pub fn queue(&self, id: &str) -> String {
        self.names.hook_queue(GROUP, id)
    }

    /// Publishes a persistent JSON message; returns whether the broker routed it to any queue.
    pub async fn publish(&self, exchange: &str, routing_key: &str, body: &Value) -> bool {
        self.publish_raw(exchange, routing_key, serde_json::to_vec(body).unwrap(), BasicProperties::default()).await
    }

    pub async fn publish_raw(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: BasicProperties,
    ) -> bool {
        let properties = properties.with_delivery_mode(2).with_content_type("application/json".into());
        let confirm = self
            .publisher()
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
                &body,
                properties,
            )
            .await
            .unwrap()
            .await
            .unwrap();
        match confirm {
            Confirmation::Ack(None) => true,
            Confirmation::Ack(Some(_)) => false,
            other => panic!("publish not confirmed: {other:?}"),
        }
    }

    /// The number of messages in a queue, or `None` when it does not exist.
    pub async fn queue_depth(&self, queue: &str) -> Option<u32> {
        self.queue_counts(queue).await.map(|(messages, _)| messages)
    }

    /// The numbers of messages (ready) and consumers of a queue, or `None` when it does not exist.
    pub async fn queue_counts(&self, queue: &str) -> Option<(u32, u32)> {
        let channel = self.connection().create_channel().await.unwrap();
        let options = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
        let counts = channel
            .queue_declare(queue.into(), options, FieldTable::default())
            .await
            .ok()
            .map(|q| (q.message_count(), q.consumer_count()));
        let _ = channel.close(200, "ok".into()).await;
        counts
    }

    pub async fn delete_queue(&self, queue: &str) {
        let channel = self.connection().create_channel().await.unwrap();
        channel.queue_delete(queue.into(), QueueDeleteOptions::default()).await.unwrap();
        let _ = channel.close(200, "ok".into()).await;
    }

    /// Publishes until a message is routed (the binding is in place), at most `timeout`; the first routed message
    /// has `body`. Returns whether it was routed in time.
    pub async fn routed_within(&self, timeout: Duration, exchange: &str, routing_key: &str, body: &Value) -> bool {
        eventually(timeout, || self.publish(exchange, routing_key, body)).await
    }

    /// Publishes until a message is not routed (the binding is gone), at most `timeout`.
    pub async fn unrouted_within(&self, timeout: Duration, exchange: &str, routing_key: &str, body: &Value) -> bool {
        eventually(timeout, || async { !self.publish(exchange, routing_key, body).await }).await
    }

    /// The `extra.message` of every task created, in creation order.
    pub fn fired_messages(&self) -> Vec<Value> {
        self.fake.created_tasks().iter().map(|t| t.task["extra"]["message"].clone()).collect()
    }

    pub async fn wait_for_tasks(&self, n: usize) -> Vec<test_support::fake_taskcluster::CreatedTask> {
        self.fake.wait_for_tasks(n, Duration::from_secs(10)).await
    }
}

/// A listener running in the background.
pub struct Running {
    pub listener: Listener,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Running {
    pub fn spawn(listener: Listener) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let running = listener.clone();
        let handle = tokio::spawn(async move {
            running
                .run(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Self { listener, stop: Some(stop), handle: Some(handle) }
    }

    pub fn stats(&self) -> Stats {
        self.listener.stats()
    }

    /// Waits until the listener consumes from `n` hook queues.
    pub async fn consuming(&self, n: u64) {
        let ok = eventually(Duration::from_secs(10), || async { self.stats().consuming == n }).await;
        assert!(ok, "the listener consumes from {} queues, not {n}", self.stats().consuming);
    }

    pub async fn until(&self, timeout: Duration, check: impl Fn(&Stats) -> bool) -> Stats {
        eventually(timeout, || async { check(&self.stats()) }).await;
        self.stats()
    }

    /// Stops it as SIGTERM would, and waits for it to finish.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let handle = self.handle.take().unwrap();
        tokio::time::timeout(Duration::from_secs(20), handle).await.expect("the listener stops").unwrap();
    }

    /// Kills it as a crash would: everything it was doing is dropped mid-way and its connections close.
    pub async fn crash(mut self) {
        let handle = self.handle.take().unwrap();
        handle.abort();
        let _ = handle.await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}
