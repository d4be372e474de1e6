//! Shared by the scheduler's tests: a database, a fake queue and notify, a keyring, and hook helpers.
#![allow(dead_code, reason = "not every test file uses every helper")]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use diesel_async::RunQueryDsl as _;
use hooks_core::sink::TaskSink;
use hooks_core::storage::{create_hook, find_hook, update_hook};
use hooks_core::{ExchangeDenylist, HookDefinition, HookGroupId, HookId, HookInput, Keyring, Notifier, SecretString};
use scheduler::{Scheduler, SchedulerOptions};
use serde_json::{Value, json};
use test_support::{FakeTaskcluster, TestDb};

/// The key of hook `id` in the tests' group.
pub fn key(id: &str) -> hooks_core::HookKey {
    hooks_core::HookKey::parse("sched", id).unwrap()
}

pub struct Env {
    pub db: TestDb,
    pub fake: FakeTaskcluster,
    pub key: SecretString,
    pub keyring: Arc<Keyring>,
}

impl Env {
    pub async fn new() -> Self {
        let key = Keyring::generate_key().unwrap();
        Self {
            db: TestDb::new().await,
            fake: FakeTaskcluster::start_default(),
            keyring: Arc::new(Keyring::parse(&key).unwrap()),
            key,
        }
    }

    pub fn scheduler(&self, options: SchedulerOptions) -> Scheduler {
        let sink: Arc<dyn TaskSink> = Arc::new(self.fake.queue_sink(0));
        let notifier = Notifier::new(Some(&self.fake.deployment()));
        Scheduler::new(self.db.pool.clone(), self.keyring.clone(), test_support::renderer(), sink, notifier, options)
    }

    pub async fn hook(&self, id: &str, schedule: &[&str], extra: Value) -> HookDefinition {
        let mut input = json!({
            "metadata": {"name": "n", "description": "d", "owner": "owner@example.com"},
            "schedule": schedule,
            "task": {"provisionerId": "p", "workerType": "w", "payload": {}, "slot": "${now}", "by": "${firedBy}"},
        });
        input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let input: HookInput = serde_json::from_value(input).unwrap();
        let def = HookDefinition::parse(
            HookGroupId::parse("sched").unwrap(),
            HookId::parse(id).unwrap(),
            input,
            &ExchangeDenylist::default(),
        )
        .unwrap();
        let mut conn = self.db.pool.get().await.unwrap();
        create_hook(&mut conn, &self.keyring, &def, "test", Utc::now()).await.unwrap();
        def
    }

    /// Replaces a hook's schedule as updateHook does.
    pub async fn reschedule(&self, id: &str, schedule: &[&str]) {
        let mut conn = self.db.pool.get().await.unwrap();
        let mut def = find_hook(&mut conn, &self.keyring, &key(id)).await.unwrap().unwrap().definition;
        let patterns: Vec<String> = schedule.iter().map(|s| (*s).to_owned()).collect();
        def.schedule = hooks_core::Schedule::parse(&patterns).unwrap();
        update_hook(&mut conn, &self.keyring, &def, "test", Utc::now()).await.unwrap().unwrap();
    }

    /// Runs a scheduler in the background, woken by hook changes like the daemon, until the returned handle stops it.
    pub fn run(&self, options: SchedulerOptions) -> Running {
        let scheduler = Arc::new(self.scheduler(options));
        let wake = scheduler::listen_for_changes(self.db.url.clone());
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            scheduler
                .run(wake, async move {
                    let _ = stopped.changed().await;
                })
                .await
        });
        Running { stop, task }
    }

    /// The real `hooks-scheduler` binary against the test's database and fake queue, quiet unless told otherwise.
    pub fn scheduler_command(&self) -> std::process::Command {
        let client = self.fake.service_client();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hooks-scheduler"));
        command
            .env_clear()
            .env("DATABASE_URL", &self.db.url)
            .env("TASKCLUSTER_ROOT_URL", self.fake.root_url())
            .env("TASKCLUSTER_CLIENT_ID", &client.client_id)
            .env("TASKCLUSTER_ACCESS_TOKEN", &client.access_token)
            .env("HOOKS_CRYPTO_KEY", self.key.expose())
            .env("HOOKS_SCHEDULER_CONCURRENCY", "4")
            .env("HOOKS_QUEUE_RETRIES", "0")
            .env("RUST_LOG", "warn")
            .arg("--no-migrate");
        command
    }

    pub async fn set_next(&self, id: &str, at: DateTime<Utc>) {
        let mut conn = self.db.pool.get().await.unwrap();
        diesel::sql_query("UPDATE hooks SET next_scheduled_date = $1 WHERE hook_id = $2")
            .bind::<diesel::sql_types::Timestamptz, _>(at)
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(&mut conn)
            .await
            .unwrap();
    }

    pub async fn next_of(&self, id: &str) -> Option<DateTime<Utc>> {
        let mut conn = self.db.pool.get().await.unwrap();
        find_hook(&mut conn, &self.keyring, &key(id)).await.unwrap().unwrap().next_scheduled_date
    }
}

/// A pattern whose own slots are months away (January 1st): a test setting a hook's next slot by hand gets that
/// slot alone, never a second one that happens to be due too (an hourly pattern's is, in an hour's first minute).
pub const YEARLY: &str = "0 0 0 1 1 *";

pub fn minute_floor(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_opt(t.timestamp() - t.timestamp() % 60, 0).unwrap()
}

/// A scheduler running in the background.
pub struct Running {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
    }
}
