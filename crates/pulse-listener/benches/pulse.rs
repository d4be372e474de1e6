//! `make bench` for the Pulse listener (release build): measures the Pulse listener end to end on this machine, broker and publisher included.
//!
//! Starts `hooks-pulse-listener` processes (the release binary) on a database of its own with the
//! embedded sink, publishes persistent messages carrying their send time, and reads each task's creation time
//! from `embedded_tasks`. Prints a table: throughput and latency (publish → task created) for 10,000 messages over
//! 100 hooks with one and with two replicas, latency below saturation, a burst of 1,000 messages to one hook, and
//! the listener's resident memory when idle. The same with the listener creating tasks through HTTP in the local
//! queue stand-in (`FakeTaskcluster`, which verifies each request's Hawk signature and records its arrival).
//! Prints a table; asserts nothing.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use chrono::Utc;
use diesel::sql_types::{BigInt, Double};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use hooks_core::storage::create_hook;
use hooks_core::{ExchangeDenylist, HookDefinition, HookGroupId, HookId, HookInput, Keyring, SecretString, storage};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::json;
use test_support::FakeTaskcluster;

const GROUP: &str = "bench";

struct Bench {
    database_url: String,
    pulse_url: String,
    namespace: String,
    exchange: String,
    crypto_key: SecretString,
    queue_type: String,
    channel: Channel,
    _amqp: Connection,
}

/// Where the listener creates tasks, and where the bench finds them.
#[derive(Clone, Copy)]
enum Sink<'a> {
    /// The embedded sink's table.
    Embedded,
    /// The queue stand-in, through HTTP.
    Queue(&'a FakeTaskcluster),
}

impl Sink<'_> {
    fn name(self) -> &'static str {
        match self {
            Sink::Embedded => "embedded",
            Sink::Queue(_) => "HTTP queue",
        }
    }

    async fn count(self, conn: &mut AsyncPgConnection) -> anyhow::Result<usize> {
        match self {
            Sink::Embedded => count_tasks(conn).await,
            Sink::Queue(fake) => Ok(fake.created_count()),
        }
    }

    /// As [`latencies`]; from the stand-in's arrival times of the tasks after the first `skip`.
    async fn latencies(self, conn: &mut AsyncPgConnection, skip: usize) -> anyhow::Result<(usize, f64, f64, f64)> {
        let Sink::Queue(fake) = self else { return latencies(conn).await };
        let tasks = fake.created_tasks();
        let times: Vec<(f64, f64)> = tasks[skip.min(tasks.len())..]
            .iter()
            .filter_map(|t| Some((t.task["sent"].as_f64()? / 1e6, t.received.timestamp_micros() as f64 / 1e6)))
            .collect();
        Ok(summarize(&times))
    }
}

/// One measured run.
struct Row {
    name: String,
    sink: &'static str,
    messages: usize,
    tasks: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if !test_support::bench_requested() {
        return Ok(());
    }
    let bench = Bench::prepare().await?;
    let hooks = 100;
    bench.create_hooks(hooks).await?;
    let mut rows = Vec::new();

    let idle_rss;
    {
        let listener = bench.spawn_listener(Sink::Embedded)?;
        bench.wait_for_consumers(hooks, 1).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        idle_rss = rss_kib(listener.id());
        rows.push(bench.run("10,000 msgs / 100 hooks, 1 replica", 10_000, hooks, None, Sink::Embedded).await?);
        rows.push(
            bench.run("2,000 msgs at 500/s, 1 replica (latency)", 2_000, hooks, Some(500), Sink::Embedded).await?,
        );
        rows.push(bench.run("burst: 1,000 msgs to 1 hook, 1 replica", 1_000, 1, None, Sink::Embedded).await?);
        let loaded_rss = rss_kib(listener.id());
        stop(listener);
        println!("listener RSS: idle {} MiB, after load {} MiB", mib(idle_rss), mib(loaded_rss));
    }
    {
        let one = bench.spawn_listener(Sink::Embedded)?;
        let two = bench.spawn_listener(Sink::Embedded)?;
        bench.wait_for_consumers(hooks, 2).await?;
        rows.push(bench.run("10,000 msgs / 100 hooks, 2 replicas", 10_000, hooks, None, Sink::Embedded).await?);
        rows.push(
            bench.run("2,000 msgs at 1,000/s, 2 replicas (latency)", 2_000, hooks, Some(1_000), Sink::Embedded).await?,
        );
        rows.push(bench.run("burst: 1,000 msgs to 1 hook, 2 replicas", 1_000, 1, None, Sink::Embedded).await?);
        stop(one);
        stop(two);
    }

    {
        let fake = FakeTaskcluster::start_default();
        let queue = Sink::Queue(&fake);
        let listener = bench.spawn_listener(queue)?;
        bench.wait_for_consumers(hooks, 1).await?;
        rows.push(bench.run("10,000 msgs / 100 hooks, 1 replica", 10_000, hooks, None, queue).await?);
        rows.push(bench.run("2,000 msgs at 500/s, 1 replica (latency)", 2_000, hooks, Some(500), queue).await?);
        stop(listener);
    }

    println!();
    println!("queue type: {}; machine: {} cores", bench.queue_type, cores());
    println!("| run | sink | messages | tasks | msgs/s | p50 ms | p99 ms |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.1} | {:.1} |",
            r.name,
            r.sink,
            r.messages,
            r.tasks,
            r.tasks as f64 / r.seconds,
            r.p50_ms,
            r.p99_ms
        );
    }
    println!("| listener RSS when idle | embedded | | | | {} MiB | |", mib(idle_rss));
    bench.cleanup().await;
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

impl Bench {
    async fn prepare() -> anyhow::Result<Self> {
        let server = std::env::var("HOOKS_BENCH_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let pulse_url =
            std::env::var("HOOKS_BENCH_PULSE_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
        let queue_type = std::env::var("HOOKS_BENCH_QUEUE_TYPE").unwrap_or_else(|_| "quorum".into());
        let name = "hooks_bench";
        let mut admin = AsyncPgConnection::establish(&server).await.context("connecting to Postgres")?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        let database_url = storage::with_database(&server, name)?;
        storage::migrate(&database_url).await?;
        let suffix = hooks_core::TaskId::generate().as_str().to_lowercase().replace(['-', '_'], "x");
        let namespace = format!("hooks-bench-{suffix}");
        let exchange = format!("exchange/{namespace}/events");
        let amqp =
            Connection::connect(&pulse_url, ConnectionProperties::default()).await.context("connecting to RabbitMQ")?;
        let channel = amqp.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        let options = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        channel.exchange_declare(exchange.as_str().into(), ExchangeKind::Topic, options, FieldTable::default()).await?;
        Ok(Self {
            database_url,
            pulse_url,
            namespace,
            exchange,
            crypto_key: Keyring::generate_key()?,
            queue_type,
            channel,
            _amqp: amqp,
        })
    }

    async fn create_hooks(&self, n: usize) -> anyhow::Result<()> {
        let keyring = Keyring::parse(&self.crypto_key)?;
        let pool = storage::pool(&self.database_url, 2)?;
        let mut conn = pool.get().await?;
        for i in 0..n {
            let input: HookInput = serde_json::from_value(json!({
                "metadata": {"name": "bench", "description": "bench", "owner": "bench@example.com"},
                "bindings": [{"exchange": self.exchange, "routingKeyPattern": format!("h{i}.#")}],
                "triggerSchema": {"type": "object", "properties": {"seq": {"type": "integer"}}},
                "task": {
                    "provisionerId": "bench", "workerType": "bench", "payload": {},
                    "sent": {"$eval": "payload.sent"}, "seq": {"$eval": "payload.seq"},
                },
            }))?;
            let def = HookDefinition::parse(
                HookGroupId::parse(GROUP)?,
                HookId::parse(&format!("h{i}"))?,
                input,
                &ExchangeDenylist::default(),
            )?;
            create_hook(&mut conn, &keyring, &def, "bench", Utc::now()).await?;
        }
        Ok(())
    }

    fn spawn_listener(&self, sink: Sink<'_>) -> anyhow::Result<Child> {
        let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_hooks-pulse-listener"));
        let mut command = Command::new(&exe);
        if let Sink::Queue(fake) = sink {
            let service = fake.service_client();
            command
                .env("TASKCLUSTER_ROOT_URL", fake.root_url())
                .env("TASKCLUSTER_CLIENT_ID", &service.client_id)
                .env("TASKCLUSTER_ACCESS_TOKEN", &service.access_token);
        } else {
            command.env_remove("TASKCLUSTER_ROOT_URL");
        }
        command
            .env("DATABASE_URL", &self.database_url)
            .env("HOOKS_CRYPTO_KEY", self.crypto_key.expose())
            .env("PULSE_URL", &self.pulse_url)
            .env("PULSE_NAMESPACE", &self.namespace)
            .env("HOOKS_PULSE_QUEUE_TYPE", &self.queue_type)
            .env("HOOKS_NO_MIGRATE", "true")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} (build it with `cargo build --release`)", exe.display()))
    }

    async fn wait_for_consumers(&self, hooks: usize, replicas: u32) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let names = hooks_core::pulse::Names::new(&self.namespace);
        let channel = self._amqp.create_channel().await?;
        for i in 0..hooks {
            let queue = names.hook_queue(GROUP, &format!("h{i}"));
            loop {
                let options = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
                let consumers = match channel.queue_declare(queue.as_str().into(), options, FieldTable::default()).await
                {
                    Ok(q) => q.consumer_count(),
                    Err(_) => 0,
                };
                if consumers >= replicas {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("{queue} has {consumers} consumers, not {replicas}, after a minute");
                }
                if !channel.status().connected() {
                    return Box::pin(self.wait_for_consumers(hooks, replicas)).await;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// Publishes `messages` over `hooks` hooks (at `rate` per second, or as fast as possible) and waits for all
    /// their tasks.
    async fn run(
        &self,
        name: &str,
        messages: usize,
        hooks: usize,
        rate: Option<u32>,
        sink: Sink<'_>,
    ) -> anyhow::Result<Row> {
        let mut conn = AsyncPgConnection::establish(&self.database_url).await?;
        diesel::sql_query("TRUNCATE embedded_tasks").execute(&mut conn).await?;
        let before = sink.count(&mut conn).await?;
        let publishing = {
            let channel = self.channel.clone();
            let exchange = self.exchange.clone();
            tokio::spawn(async move { publish(channel, exchange, messages, hooks, rate).await })
        };
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut last = (0, Instant::now());
        loop {
            let count = sink.count(&mut conn).await? - before;
            if count >= messages {
                break;
            }
            if count != last.0 {
                last = (count, Instant::now());
            } else if last.1.elapsed() > Duration::from_secs(20) || Instant::now() > deadline {
                eprintln!("{name}: stalled at {count} of {messages} tasks");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        publishing.await??;
        let (tasks, seconds, p50, p99) = sink.latencies(&mut conn, before).await?;
        eprintln!("{name} ({}): {tasks} tasks in {seconds:.2} s", sink.name());
        Ok(Row { name: name.into(), sink: sink.name(), messages, tasks, seconds, p50_ms: p50, p99_ms: p99 })
    }

    async fn cleanup(&self) {
        let names = hooks_core::pulse::Names::new(&self.namespace);
        if let Ok(channel) = self._amqp.create_channel().await {
            for i in 0..100 {
                let queue = names.hook_queue(GROUP, &format!("h{i}"));
                let _ = channel.queue_delete(queue.as_str().into(), Default::default()).await;
            }
            let _ = channel.queue_delete(names.dead_letter_queue().as_str().into(), Default::default()).await;
            for exchange in names.hook_changed_exchanges().iter().chain([&self.exchange]) {
                let _ = channel.exchange_delete(exchange.as_str().into(), Default::default()).await;
            }
        }
    }
}

async fn publish(
    channel: Channel,
    exchange: String,
    messages: usize,
    hooks: usize,
    rate: Option<u32>,
) -> anyhow::Result<()> {
    let mut ticker = rate.map(|r| tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(r))));
    let mut confirms = Vec::with_capacity(512);
    for seq in 0..messages {
        if let Some(t) = ticker.as_mut() {
            t.tick().await;
        }
        let body = serde_json::to_vec(&json!({"seq": seq, "sent": now_micros()}))?;
        let confirm = channel
            .basic_publish(
                exchange.as_str().into(),
                format!("h{}.m", seq % hooks).as_str().into(),
                BasicPublishOptions::default(),
                &body,
                BasicProperties::default().with_delivery_mode(2).with_content_type("application/json".into()),
            )
            .await?;
        confirms.push(confirm);
        if confirms.len() >= 500 {
            for c in confirms.drain(..) {
                c.await?;
            }
        }
    }
    for c in confirms {
        c.await?;
    }
    Ok(())
}

async fn count_tasks(conn: &mut AsyncPgConnection) -> anyhow::Result<usize> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let c: Count = diesel::sql_query("SELECT count(*) AS n FROM embedded_tasks").get_result(conn).await?;
    Ok(usize::try_from(c.n).unwrap_or(0))
}

/// Tasks, seconds from the first send to the last task, and p50/p99 of (task created − sent) in milliseconds.
async fn latencies(conn: &mut AsyncPgConnection) -> anyhow::Result<(usize, f64, f64, f64)> {
    #[derive(diesel::QueryableByName)]
    struct Latency {
        #[diesel(sql_type = Double)]
        sent: f64,
        #[diesel(sql_type = Double)]
        created: f64,
    }
    let rows: Vec<Latency> = diesel::sql_query(
        "SELECT (definition->>'sent')::float8 / 1e6 AS sent, extract(epoch FROM created)::float8 AS created \
         FROM embedded_tasks",
    )
    .load(conn)
    .await?;
    let times: Vec<(f64, f64)> = rows.iter().map(|r| (r.sent, r.created)).collect();
    Ok(summarize(&times))
}

/// Tasks, seconds from the first send to the last task, and p50/p99 of (created − sent) in milliseconds, from
/// (sent, created) pairs in seconds.
fn summarize(times: &[(f64, f64)]) -> (usize, f64, f64, f64) {
    if times.is_empty() {
        return (0, 1.0, 0.0, 0.0);
    }
    let first_sent = times.iter().map(|t| t.0).fold(f64::INFINITY, f64::min);
    let last_created = times.iter().map(|t| t.1).fold(f64::NEG_INFINITY, f64::max);
    let mut ms: Vec<f64> = times.iter().map(|(sent, created)| (created - sent) * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let pick = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (times.len(), (last_created - first_sent).max(1e-6), pick(0.50), pick(0.99))
}
