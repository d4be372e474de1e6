//! `make bench` for the scheduler (release build): slot lag for many every-second hooks, the time to fire a
//! large batch due in the same second (also with half the hooks in non-UTC time zones, `burst-zones`), and the
//! daemon's memory, on the embedded sink and through HTTP to the local queue stand-in (`FakeTaskcluster`, which
//! verifies each request's Hawk signature and records its arrival).
//! Prints a table; asserts nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "a benchmark program")]

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::sql_types::{Text, Timestamptz};
use diesel_async::RunQueryDsl as _;
use futures::StreamExt as _;
use hooks_core::sink::{EmbeddedSink, TaskSink};
use hooks_core::storage::create_hook;
use hooks_core::{ExchangeDenylist, HookDefinition, HookGroupId, HookId, HookInput, Keyring, Notifier};
use scheduler::{Scheduler, SchedulerOptions};
use serde_json::json;
use test_support::{CreatedTask, FakeTaskcluster, TestDb};

/// The zones of the `burst-zones` row: every other hook is read in one of these, the rest in UTC.
const ZONES: [&str; 4] = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Tokyo"];

async fn create_hooks(db: &TestDb, keyring: &Keyring, n: usize, schedule: &str) {
    create_hooks_in(db, keyring, n, schedule, |_| None).await;
}

/// `n` hooks firing on `schedule`, hook `i` read in `zone(i)` (UTC when `None`).
async fn create_hooks_in(
    db: &TestDb,
    keyring: &Keyring,
    n: usize,
    schedule: &str,
    zone: impl Fn(usize) -> Option<&'static str> + Copy,
) {
    futures::stream::iter(0..n)
        .for_each_concurrent(8, |i| async move {
            let mut input = json!({
                "metadata": {"name": "bench", "description": "d", "owner": "bench@example.com", "emailOnError": false},
                "schedule": [schedule],
                "task": {"provisionerId": "p", "workerType": "w", "payload": {}, "slot": "${now}"},
            });
            if let Some(zone) = zone(i) {
                input["timeZone"] = zone.into();
            }
            let input: HookInput = serde_json::from_value(input).unwrap();
            let def = HookDefinition::parse(
                HookGroupId::parse("bench").unwrap(),
                HookId::parse(&format!("h{i}")).unwrap(),
                input,
                &ExchangeDenylist::default(),
            )
            .unwrap();
            let mut conn = db.pool.get().await.unwrap();
            create_hook(&mut conn, keyring, &def, "bench", Utc::now()).await.unwrap();
        })
        .await;
}

#[derive(diesel::QueryableByName)]
struct Fired {
    #[diesel(sql_type = Text)]
    hook_id: String,
    #[diesel(sql_type = Text)]
    slot: String,
    #[diesel(sql_type = Timestamptz)]
    created: DateTime<Utc>,
}

async fn fired(db: &TestDb) -> Vec<Fired> {
    let mut conn = db.pool.get().await.unwrap();
    diesel::sql_query("SELECT hook_id, definition->>'slot' AS slot, created FROM embedded_tasks")
        .load(&mut conn)
        .await
        .unwrap()
}

fn scheduler(db: &TestDb, keyring: Arc<Keyring>) -> Arc<Scheduler> {
    scheduler_with(db, keyring, Arc::new(EmbeddedSink::new(db.pool.clone())))
}

/// A scheduler creating tasks through HTTP in `fake`, with a client of its own (as a replica would have).
fn http_scheduler(db: &TestDb, keyring: Arc<Keyring>, fake: &FakeTaskcluster) -> Arc<Scheduler> {
    scheduler_with(db, keyring, Arc::new(fake.queue_sink(5)))
}

fn scheduler_with(db: &TestDb, keyring: Arc<Keyring>, sink: Arc<dyn TaskSink>) -> Arc<Scheduler> {
    Arc::new(Scheduler::new(db.pool.clone(), keyring, test_support::renderer(), sink, Notifier::Log, options()))
}

/// The defaults, with the batch size from `HOOKS_SCHEDULER_BATCH` when set (as the daemon reads it), so that the
/// in-process rows and the daemon's RSS row measure the same setting.
fn options() -> SchedulerOptions {
    let defaults = SchedulerOptions::default();
    let batch_size = std::env::var("HOOKS_SCHEDULER_BATCH").ok().and_then(|b| b.parse().ok());
    SchedulerOptions { batch_size: batch_size.unwrap_or(defaults.batch_size), ..defaults }
}

async fn run_for(s: Arc<Scheduler>, d: Duration) {
    let wake = Arc::new(tokio::sync::Notify::new());
    s.run(wake, tokio::time::sleep(d)).await;
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn lag_every_second(hooks: usize, seconds: u64) {
    let db = TestDb::new().await;
    let keyring = Arc::new(Keyring::parse(&Keyring::generate_key().unwrap()).unwrap());
    create_hooks(&db, &keyring, hooks, "* * * * * *").await;
    // Start on a second boundary so the window holds whole slots.
    let start = Utc::now();
    tokio::time::sleep(Duration::from_millis(1000 - start.timestamp_subsec_millis() as u64)).await;
    let window_start = Utc::now();
    run_for(scheduler(&db, keyring), Duration::from_secs(seconds)).await;
    let window_end = Utc::now();

    let rows = fired(&db).await;
    // Slots from before the scheduler started were missed, not late: the first pass fires them as catch-up and
    // they are reported apart from the on-time slots.
    let (mut lags, mut catch_up): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let mut per_hook: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for r in &rows {
        let slot: DateTime<Utc> = r.slot.parse().unwrap();
        let lag = (r.created - slot).num_microseconds().unwrap() as f64 / 1000.0;
        if slot > window_start {
            lags.push(lag)
        } else {
            catch_up.push(lag)
        }
        per_hook.entry(r.hook_id.clone()).or_default().push(slot);
    }
    lags.sort_by(f64::total_cmp);
    catch_up.sort_by(f64::total_cmp);
    // Every slot strictly inside the window must have fired for every hook.
    let first = window_start + TimeDelta::seconds(1);
    let last = window_end - TimeDelta::seconds(1);
    let expected_slots = (last.timestamp() - first.timestamp()) as usize;
    let complete = per_hook
        .values()
        .filter(|slots| {
            let inside: std::collections::HashSet<i64> = slots
                .iter()
                .map(DateTime::timestamp)
                .filter(|t| *t > first.timestamp() && *t <= last.timestamp())
                .collect();
            inside.len() == expected_slots
        })
        .count();
    println!(
        "| lag, {hooks} hooks every second for {seconds} s (embedded sink) | {} fires, {complete}/{hooks} hooks with every slot | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms |",
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "| the same, slots missed before the scheduler started (catch-up) | {} fires | all fired {:.1} ms after their slot |",
        catch_up.len(),
        catch_up.last().copied().unwrap_or(f64::NAN),
    );
}

/// `hooks` hooks due in the same second on the embedded sink; with `zoned`, every other one is read in a time zone
/// of [`ZONES`] (its next slot computed on that zone's clock when it settles).
async fn burst(hooks: usize, zoned: bool) {
    let db = TestDb::new().await;
    let keyring = Arc::new(Keyring::parse(&Keyring::generate_key().unwrap()).unwrap());
    let zone = move |i: usize| (zoned && i % 2 == 1).then(|| ZONES[(i / 2) % ZONES.len()]);
    create_hooks_in(&db, &keyring, hooks, "0 0 0 1 1 *", zone).await;
    let slot = Utc::now() + TimeDelta::seconds(2);
    let slot = DateTime::from_timestamp(slot.timestamp(), 0).unwrap();
    let mut conn = db.pool.get().await.unwrap();
    diesel::sql_query("UPDATE hooks SET next_scheduled_date = $1")
        .bind::<Timestamptz, _>(slot)
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let s = scheduler(&db, keyring);
    let deadline = (slot - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(30);
    let counter = tokio::spawn({
        let s = s.clone();
        async move { run_for(s, deadline).await }
    });
    // Stop as soon as every hook fired.
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut conn = db.pool.get().await.unwrap();
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let n: N = diesel::sql_query("SELECT count(*) AS n FROM embedded_tasks").get_result(&mut conn).await.unwrap();
        if n.n as usize >= hooks || counter.is_finished() {
            break;
        }
    }
    counter.abort();
    let rows = fired(&db).await;
    let last = rows.iter().map(|r| r.created).max().unwrap_or(slot);
    let which = if zoned { ", half in non-UTC zones" } else { "" };
    println!(
        "| {hooks} hooks due in the same second{which} (embedded sink) | {} fired | all fired {:.2} s after the slot |",
        rows.len(),
        (last - slot).num_milliseconds() as f64 / 1000.0
    );
}

async fn idle_rss() {
    let db = TestDb::new().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hooks-scheduler"))
        .env("DATABASE_URL", &db.url)
        .env("HOOKS_CRYPTO_KEY", Keyring::generate_key().unwrap().expose())
        .env("RUST_LOG", "warn")
        .env_remove("TASKCLUSTER_ROOT_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap_or("VmRSS: ?")
        .trim_start_matches("VmRSS:")
        .trim()
        .to_owned();
    child.kill().ok();
    child.wait().ok();
    println!("| hooks-scheduler RSS, idle | | {rss} |");
}

/// Sets every hook's next slot to `slot`.
async fn due_at(db: &TestDb, slot: DateTime<Utc>) {
    let mut conn = db.pool.get().await.unwrap();
    diesel::sql_query("UPDATE hooks SET next_scheduled_date = $1, schedule_retry_at = NULL")
        .bind::<Timestamptz, _>(slot)
        .execute(&mut conn)
        .await
        .unwrap();
}

/// A whole second at least two seconds ahead.
fn next_slot() -> DateTime<Utc> {
    let slot = Utc::now() + TimeDelta::seconds(2);
    DateTime::from_timestamp(slot.timestamp(), 0).unwrap()
}

/// Milliseconds from `slot` to when `task` arrived.
fn arrival_ms(task: &CreatedTask, slot: DateTime<Utc>) -> f64 {
    (task.received - slot).num_microseconds().unwrap() as f64 / 1000.0
}

/// How many (hook role, slot) pairs were created under more than one taskId.
fn doubled(tasks: &[CreatedTask]) -> usize {
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for t in tasks {
        let role = t.authorized_scopes.as_ref().and_then(|s| s.iter().next()).cloned().unwrap_or_default();
        *seen.entry((role, t.task["slot"].as_str().unwrap_or_default().to_owned())).or_default() += 1;
    }
    seen.values().filter(|&&n| n > 1).count()
}

/// `hooks` hooks due in the same second, fired by `replicas` schedulers through HTTP.
async fn burst_http(db: &TestDb, keyring: &Arc<Keyring>, hooks: usize, replicas: usize) {
    let fake = FakeTaskcluster::start_default();
    let slot = next_slot();
    due_at(db, slot).await;
    let deadline = (slot - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(60);
    let running: Vec<_> =
        (0..replicas).map(|_| tokio::spawn(run_for(http_scheduler(db, keyring.clone(), &fake), deadline))).collect();
    let tasks = fake.wait_for_tasks(hooks, deadline).await;
    // Whatever is still in flight would be a double: give it a moment to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.iter().for_each(|r| r.abort());
    let tasks = if fake.created_tasks().len() > tasks.len() { fake.created_tasks() } else { tasks };
    let mut ms: Vec<f64> = tasks.iter().map(|t| arrival_ms(t, slot)).collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "| {hooks} hooks due in the same second, {replicas} scheduler(s), HTTP queue | {} arrived, {} doubled, {} requests | p50 {:.2} s, last {:.2} s after the slot |",
        tasks.len(),
        doubled(&tasks),
        fake.create_task_requests().len(),
        percentile(&ms, 0.5) / 1000.0,
        ms.last().copied().unwrap_or(f64::NAN) / 1000.0,
    );
}

/// `hooks` every-second hooks for `seconds`, fired by two schedulers through HTTP; every fire counts, each hook's
/// first one included.
async fn lag_http(hooks: usize, seconds: u64) {
    let db = TestDb::new().await;
    let keyring = Arc::new(Keyring::parse(&Keyring::generate_key().unwrap()).unwrap());
    create_hooks(&db, &keyring, hooks, "* * * * * *").await;
    let fake = FakeTaskcluster::start_default();
    let start = Utc::now();
    tokio::time::sleep(Duration::from_millis(1000 - start.timestamp_subsec_millis() as u64)).await;
    let window_start = Utc::now();
    let replicas: Vec<_> = (0..2)
        .map(|_| tokio::spawn(run_for(http_scheduler(&db, keyring.clone(), &fake), Duration::from_secs(seconds))))
        .collect();
    for r in replicas {
        r.await.unwrap();
    }
    let tasks = fake.created_tasks();
    let mut lags: Vec<f64> = tasks
        .iter()
        .filter_map(|t| {
            let slot: DateTime<Utc> = t.task["slot"].as_str()?.parse().ok()?;
            (slot > window_start).then(|| arrival_ms(t, slot))
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    println!(
        "| lag, {hooks} hooks every second for {seconds} s, 2 schedulers, HTTP queue | {} fires, {} doubled | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms |",
        lags.len(),
        doubled(&tasks),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(f64::NAN),
    );
}

/// The daemon's memory while and after it fires `hooks` hooks due in the same second through HTTP.
async fn rss_http(db: &TestDb, key: &hooks_core::SecretString, hooks: usize) {
    let fake = FakeTaskcluster::start_default();
    let service = fake.service_client();
    let slot = next_slot();
    due_at(db, slot).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hooks-scheduler"))
        .env("DATABASE_URL", &db.url)
        .env("HOOKS_CRYPTO_KEY", key.expose())
        .env("RUST_LOG", "warn")
        .env("TASKCLUSTER_ROOT_URL", fake.root_url())
        .env("TASKCLUSTER_CLIENT_ID", &service.client_id)
        .env("TASKCLUSTER_ACCESS_TOKEN", &service.access_token)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let arrived = fake.wait_for_tasks(hooks, Duration::from_secs(90)).await.len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let field = |name: &str| {
        status.lines().find(|l| l.starts_with(name)).map_or("?".to_owned(), |l| l[name.len()..].trim().to_owned())
    };
    child.kill().ok();
    child.wait().ok();
    println!(
        "| hooks-scheduler RSS, {hooks} hooks fired through HTTP | {arrived} arrived | RSS {}, peak {} |",
        field("VmRSS:"),
        field("VmHWM:"),
    );
}

/// The HTTP rows: 10,000 hooks created once, fired by one and by two schedulers and by the daemon.
async fn through_http(wanted: &dyn Fn(&str) -> bool) {
    let hooks = 10_000;
    if wanted("http-burst") || wanted("http-rss") {
        let db = TestDb::new().await;
        let key = Keyring::generate_key().unwrap();
        let keyring = Arc::new(Keyring::parse(&key).unwrap());
        create_hooks(&db, &keyring, hooks, "0 0 0 1 1 *").await;
        if wanted("http-burst") {
            burst_http(&db, &keyring, hooks, 1).await;
            burst_http(&db, &keyring, hooks, 2).await;
        }
        if wanted("http-rss") {
            rss_http(&db, &key, hooks).await;
        }
    }
    if wanted("http-lag") {
        lag_http(200, 20).await;
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; a filter argument selects scenarios by name.
    let Some(wanted) = test_support::bench_filter() else { return };
    println!("\n| scheduler scenario | result | figures |\n|---|---|---|");
    if wanted("lag") {
        lag_every_second(1000, 30).await;
    }
    if wanted("burst") {
        burst(10_000, false).await;
    }
    if wanted("burst-zones") {
        burst(10_000, true).await;
    }
    if wanted("rss") {
        idle_rss().await;
    }
    through_http(&wanted).await;
}
