//! The deployment under test: the release daemons (two schedulers, two Pulse listeners, one api-server) on the
//! suite's own database and RabbitMQ virtual host, creating tasks and sending e-mails through the local Taskcluster
//! stand-in; the official client to call the API and a publisher on the suite's exchange.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};
use taskcluster::Hooks;
use test_support::FakeTaskcluster;
use test_support::daemons::{self, Daemon, Kind, Setup};
use test_support::publisher::Publisher;
use test_support::vhost::Vhost;

use crate::client;
use crate::database::OwnDatabase;

/// The exchange the suite publishes its messages to (in its own virtual host).
pub const EXCHANGE: &str = "exchange/chaos/v1/events";

/// What the connections of the listeners are named on the broker (the ones a broker close targets).
pub const LISTENER_CONNECTION: &str = "hooks-pulse-listener";

/// The running deployment. Dropped in field order: the daemons first, the database and virtual host last.
pub struct Cluster {
    /// The api-server.
    pub api: Daemon,
    /// The two schedulers.
    pub schedulers: Vec<Daemon>,
    /// The two Pulse listeners.
    pub listeners: Vec<Daemon>,
    /// The official client, on the api-server.
    pub hooks: Arc<Hooks>,
    /// Publishes to [`EXCHANGE`].
    pub publisher: Arc<Publisher>,
    /// The queue and notify the daemons call.
    pub fake: FakeTaskcluster,
    /// How the daemons were started.
    pub setup: Setup,
    /// The suite's database.
    pub db: OwnDatabase,
    /// The suite's virtual host.
    pub vhost: Vhost,
}

impl Cluster {
    /// Starts everything and waits until each daemon answers its health route.
    pub async fn start() -> anyhow::Result<Self> {
        let dir = daemons::binaries_dir()?;
        let vhost = Vhost::new();
        let db = OwnDatabase::create().await?;
        let fake = FakeTaskcluster::start_default();
        let log_dir = dir.join("chaos-logs");
        std::fs::create_dir_all(&log_dir)?;
        for entry in std::fs::read_dir(&log_dir)?.flatten() {
            if entry.path().extension().is_some_and(|e| e == "log") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let service = fake.service_client();
        let setup = Setup {
            dir,
            log_dir,
            database_url: db.url.clone(),
            pulse_url: vhost.url(),
            namespace: format!("hooks-test-{}", test_support::broker::random_suffix()),
            crypto_key: hooks_core::Keyring::generate_key()?.expose().to_owned(),
            static_clients: client::static_clients(),
            env: [
                ("TASKCLUSTER_ROOT_URL", fake.root_url()),
                ("TASKCLUSTER_CLIENT_ID", service.client_id.clone()),
                ("TASKCLUSTER_ACCESS_TOKEN", service.access_token.clone()),
                // Every missed slot is fired (within the hour): a slot skipped after a fault is then a lost one, not
                // the `latest` policy at work.
                ("HOOKS_CATCH_UP", "all".to_owned()),
                // Five daemons share the test server's 100 connections with other checkouts' tests.
                ("HOOKS_DB_POOL_SIZE", "8".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        };
        let api = Daemon::start(Kind::Api, &setup).await?;
        let mut schedulers = Vec::new();
        let mut listeners = Vec::new();
        for n in 1..=2 {
            schedulers.push(Daemon::start_replica(Kind::Scheduler, n, &setup).await?);
            listeners.push(Daemon::start_replica(Kind::Listener, n, &setup).await?);
        }
        let hooks = Arc::new(client::official(&format!("http://{}", api.addr))?);
        let publisher = Arc::new(Publisher::connect(&vhost.url(), EXCHANGE).await?);
        Ok(Self { api, schedulers, listeners, hooks, publisher, fake, setup, db, vhost })
    }

    /// Restarts any daemon that is not running (a scenario that failed half-way may leave one stopped).
    pub async fn ensure_running(&mut self) -> anyhow::Result<()> {
        for daemon in std::iter::once(&mut self.api).chain(&mut self.schedulers).chain(&mut self.listeners) {
            if daemon.exited().is_some() {
                daemon.restart().await.with_context(|| format!("restarting {}", daemon.name()))?;
            }
        }
        Ok(())
    }

    /// Creates hook `group/hook` as `definition`.
    pub async fn create_hook(&self, group: &str, hook: &str, definition: &Value) -> anyhow::Result<()> {
        self.hooks.createHook(group, hook, definition).await.with_context(|| format!("creating {group}/{hook}"))?;
        Ok(())
    }

    /// Waits until the listeners bound `group/hook`'s queue: a probe message (`"seq": "probe"`, no event of the
    /// count) is routed.
    pub async fn wait_bound(&self, group: &str) -> anyhow::Result<()> {
        let key = crate::hooks::routing_key(group);
        let probe = json!({"seq": "probe"}).to_string();
        self.publisher.publish_routed(&key, &format!("{group}-probe"), probe.as_bytes(), Duration::from_secs(30)).await
    }

    /// Removes the hooks `group/<hook>` (which stops their schedules and deletes their queues).
    pub async fn remove_hooks(&self, group: &str, hooks: &[String]) {
        for hook in hooks {
            let _ = self.hooks.removeHook(group, hook).await;
        }
    }
}
