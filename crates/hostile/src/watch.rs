//! What runs beside the hostile cases for the whole run: a watch on the daemons (exits, which are restarted and
//! counted as crashes of the category running; health routes) and good traffic that must keep working (triggers
//! of a good hook, messages to a good Pulse-bound hook; a good hook scheduled every second fires by itself).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinHandle;

use crate::client::{Api, Publisher, Request};
use test_support::daemons::Daemon;

/// A daemon that exited while the suite ran.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The category running at the time.
    pub category: String,
    /// Which daemon.
    pub daemon: &'static str,
    /// Its exit status.
    pub status: String,
    /// The end of its log.
    pub log_tail: String,
}

/// Health probes of one daemon.
#[derive(Debug, Default, Clone, Copy)]
pub struct Probes {
    /// Probes made.
    pub tried: u64,
    /// Probes answered 2xx.
    pub ok: u64,
    /// Whether the last one was.
    pub last_ok: bool,
}

/// What the watch saw, shared with the runner.
#[derive(Default)]
pub struct Seen {
    /// The category running now (crashes are charged to it).
    pub category: Mutex<String>,
    /// Daemon exits.
    pub crashes: Mutex<Vec<Crash>>,
    /// Health probes per daemon.
    pub probes: Mutex<BTreeMap<&'static str, Probes>>,
    /// Good triggers sent.
    pub triggers: AtomicU64,
    /// Good triggers answered 200.
    pub triggers_ok: AtomicU64,
    /// Statuses (or "no answer") of good triggers that failed, with counts.
    pub trigger_failures: Mutex<BTreeMap<String, u64>>,
    /// Good Pulse messages routed.
    pub messages: AtomicU64,
    stop: AtomicBool,
}

impl Seen {
    /// Sets the category that is running.
    pub fn enter(&self, category: &str) {
        *lock(&self.category) = category.to_owned();
    }

    /// Crashes charged to `category`.
    pub fn crashes_in(&self, category: &str) -> usize {
        lock(&self.crashes).iter().filter(|c| c.category == category).count()
    }
}

/// Locks `mutex`, whether or not a panicking thread poisoned it.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The three daemons, shared by the watch (which restarts one that exits) and the runner.
pub type Daemons = Arc<tokio::sync::Mutex<Vec<Daemon>>>;

/// The watch and the good traffic, running until [`Watch::stop`].
pub struct Watch {
    /// What they saw.
    pub seen: Arc<Seen>,
    tasks: Vec<JoinHandle<()>>,
}

impl Watch {
    /// Starts watching `daemons`, triggering the good hook `hostile/good-trigger` through `api` twice a second and
    /// publishing to the good Pulse hook (routing key `good.<n>`) once a second.
    pub fn start(daemons: Daemons, api: Api, publisher: Arc<Publisher>) -> Self {
        let seen = Arc::new(Seen::default());
        let tasks = vec![
            tokio::spawn(watch_daemons(daemons, seen.clone())),
            tokio::spawn(good_triggers(api, seen.clone())),
            tokio::spawn(good_messages(publisher, seen.clone())),
        ];
        Self { seen, tasks }
    }

    /// Stops the watch and the good traffic, waiting for the last of it to finish.
    pub async fn stop(self) -> Arc<Seen> {
        self.seen.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            let _ = task.await;
        }
        self.seen
    }
}

async fn watch_daemons(daemons: Daemons, seen: Arc<Seen>) {
    let http = reqwest::Client::new();
    while !seen.stop.load(Ordering::SeqCst) {
        let mut daemons = daemons.lock().await;
        for daemon in daemons.iter_mut() {
            let name = daemon.kind.program();
            if let Some(status) = daemon.exited() {
                let crash = Crash {
                    category: lock(&seen.category).clone(),
                    daemon: name,
                    status: status.to_string(),
                    log_tail: daemon.log_tail(30),
                };
                eprintln!("!! {name} exited ({status}) during {}; restarting it", crash.category);
                lock(&seen.crashes).push(crash);
                if let Err(e) = daemon.restart().await {
                    eprintln!("!! {name} did not come back: {e:#}");
                }
            }
            let ok = http
                .get(daemon.health_url())
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|res| res.status().is_success());
            let mut probes = lock(&seen.probes);
            let p = probes.entry(name).or_default();
            p.tried += 1;
            p.ok += u64::from(ok);
            p.last_ok = ok;
        }
        drop(daemons);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn good_triggers(api: Api, seen: Arc<Seen>) {
    let mut n = 0u64;
    while !seen.stop.load(Ordering::SeqCst) {
        n += 1;
        let body = json!({"n": n});
        let answer = api.send(Request::signed("POST", "/hooks/hostile/good-trigger/trigger", Some(&body))).await;
        seen.triggers.fetch_add(1, Ordering::SeqCst);
        match answer {
            Ok(a) if a.status == 200 => {
                seen.triggers_ok.fetch_add(1, Ordering::SeqCst);
            }
            Ok(a) => *lock(&seen.trigger_failures).entry(format!("{} {}", a.status, a.body["code"])).or_default() += 1,
            Err(e) => *lock(&seen.trigger_failures).entry(format!("no answer: {e:#}")).or_default() += 1,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn good_messages(publisher: Arc<Publisher>, seen: Arc<Seen>) {
    let mut n = 0u64;
    while !seen.stop.load(Ordering::SeqCst) {
        n += 1;
        let body = json!({"n": n}).to_string();
        let routed = publisher.publish(&format!("good.{n}"), &format!("good-{n}"), body.as_bytes()).await;
        if matches!(routed, Ok(true)) {
            seen.messages.fetch_add(1, Ordering::SeqCst);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
