//! The load that flows while faults are injected: Pulse messages, `triggerHook` calls through the official
//! client, and one-shot calls. Each event that should end in a task is noted in the scenario's [`Ledger`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use taskcluster::Hooks;
use test_support::publisher::Publisher;
use tokio::task::JoinHandle;

use crate::client::{OneShot, Outcome};
use crate::hooks;
use crate::ledger::Ledger;

/// Locks `mutex`, whether or not a panicking thread poisoned it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a load saw besides the events it noted.
#[derive(Debug, Default)]
pub struct Seen {
    /// Messages published or calls made.
    pub sent: AtomicU64,
    /// Those that failed as their sender saw it (not routed, an error after the client's retries, a 5xx or reset).
    pub failed: AtomicU64,
    /// One-shot calls refused at connection (the server not accepting): no failure.
    pub refused: AtomicU64,
    /// The failures' messages, with counts.
    pub failures: Mutex<BTreeMap<String, u64>>,
}

impl Seen {
    fn fail(&self, why: String) {
        self.failed.fetch_add(1, Ordering::SeqCst);
        *lock(&self.failures).entry(why).or_default() += 1;
    }

    /// The failures, shortly: `N× message` each.
    pub fn failures_text(&self) -> String {
        let failures = lock(&self.failures);
        failures.iter().map(|(why, n)| format!("{n}× {why}")).collect::<Vec<_>>().join("; ")
    }
}

/// A running load; stops by itself after its count, or when told.
pub struct Load {
    /// What it saw so far.
    pub seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl Load {
    fn spawn<F, Fut>(concurrency: usize, worker: F) -> Self
    where
        F: Fn(Arc<Seen>, Arc<AtomicBool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let seen = Arc::new(Seen::default());
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..concurrency).map(|_| tokio::spawn(worker(seen.clone(), stop.clone()))).collect();
        Self { seen, stop, workers }
    }

    /// Tells it to stop sending (what is in flight still finishes).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Waits until every worker finished.
    pub async fn finish(self) -> Arc<Seen> {
        for worker in self.workers {
            let _ = worker.await;
        }
        self.seen
    }
}

/// When event `n` of a load paced at `rate` a second is due.
fn due(start: Instant, n: u64, rate: f64) -> Instant {
    start + Duration::from_secs_f64(n as f64 / rate)
}

/// Publishes `count` messages `{"seq": n}` for `group/hook` at `rate` a second; each the broker routed is an event.
pub fn messages(
    publisher: Arc<Publisher>,
    ledger: Arc<Ledger>,
    group: &str,
    hook: &str,
    count: u64,
    rate: f64,
) -> Load {
    let stream = format!("{group}/{hook}");
    let routing_key = hooks::routing_key(group);
    Load::spawn(1, move |seen, stop| {
        let (publisher, ledger, stream, routing_key) =
            (publisher.clone(), ledger.clone(), stream.clone(), routing_key.clone());
        async move {
            let start = Instant::now();
            for seq in 0..count {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                tokio::time::sleep_until(due(start, seq, rate).into()).await;
                let at = Utc::now();
                let body = json!({"seq": seq}).to_string();
                seen.sent.fetch_add(1, Ordering::SeqCst);
                match publisher.publish(&routing_key, &format!("{stream}#{seq}"), body.as_bytes()).await {
                    Ok(true) => ledger.expect(format!("{stream}#{seq}"), &stream, at),
                    Ok(false) => seen.fail("not routed".to_owned()),
                    Err(e) => seen.fail(format!("publishing: {e}")),
                }
            }
        }
    })
}

/// Calls `triggerHook` on `group/hook` through the official client `count` times at `rate` a second from
/// `concurrency` callers, with payload `{"id": n}`; each call the client saw succeed is an event.
pub fn triggers(
    hooks: Arc<Hooks>,
    ledger: Arc<Ledger>,
    (group, hook): (&str, &str),
    count: u64,
    rate: f64,
    concurrency: usize,
) -> Load {
    let pace = Pace { count, rate, start: Instant::now() };
    let (g, h) = (group.to_owned(), hook.to_owned());
    let call = move |id: u64| {
        let (hooks, g, h) = (hooks.clone(), g.clone(), h.clone());
        async move {
            match hooks.triggerHook(&g, &h, &json!({"id": id})).await {
                Ok(answer) => Outcome::Created(answer["status"]["taskId"].as_str().unwrap_or_default().to_owned()),
                Err(e) => Outcome::Failed(format!("{e:#}")),
            }
        }
    };
    calls(ledger, (group, hook), concurrency, (Arc::new(AtomicU64::new(0)), Some(pace)), call)
}

/// Keeps `concurrency` one-shot `triggerHook` calls on `group/hook` in flight until stopped, their ids taken from
/// `next` (shared by every load on the hook, so that no id is used twice); each answered 200 is an event. A refused
/// connection is counted apart and retried after a moment.
pub fn one_shots(
    caller: Arc<OneShot>,
    ledger: Arc<Ledger>,
    (group, hook): (&str, &str),
    concurrency: usize,
    next: Arc<AtomicU64>,
) -> Load {
    let (g, h) = (group.to_owned(), hook.to_owned());
    let call = move |id: u64| {
        let (caller, g, h) = (caller.clone(), g.clone(), h.clone());
        async move { caller.trigger(&g, &h, &json!({"id": id})).await }
    };
    calls(ledger, (group, hook), concurrency, (next, None), call)
}

/// How many calls, how fast, from when.
#[derive(Clone, Copy)]
struct Pace {
    count: u64,
    rate: f64,
    start: Instant,
}

/// `concurrency` callers making `call(id)` for ids from `next`, paced (and as many as) `pace` says, or until
/// stopped; each call answered `Created` is an event `group/hook!id`.
fn calls<C, Fut>(
    ledger: Arc<Ledger>,
    (group, hook): (&str, &str),
    concurrency: usize,
    (next, pace): (Arc<AtomicU64>, Option<Pace>),
    call: C,
) -> Load
where
    C: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let stream = format!("{group}/{hook}");
    Load::spawn(concurrency, move |seen, stop| {
        let (ledger, stream, next, call) = (ledger.clone(), stream.clone(), next.clone(), call.clone());
        async move {
            while !stop.load(Ordering::SeqCst) {
                let id = next.fetch_add(1, Ordering::SeqCst);
                if let Some(p) = pace {
                    if id >= p.count {
                        break;
                    }
                    tokio::time::sleep_until(due(p.start, id, p.rate).into()).await;
                }
                let at = Utc::now();
                seen.sent.fetch_add(1, Ordering::SeqCst);
                match call(id).await {
                    Outcome::Created(_) => ledger.expect(format!("{stream}!{id}"), &stream, at),
                    Outcome::Refused => {
                        seen.refused.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Outcome::Failed(why) => seen.fail(why),
                }
            }
        }
    })
}
