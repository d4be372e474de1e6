//! `make bench` for the api-server (release build): requests per second and p50/p99 latency of
//! `triggerHookWithToken`, signed GitHub webhook deliveries, `triggerHook`, `hook()` and `listLastFires` (a page of 1,000 fires with task states) at several concurrencies, on the embedded sink and on the
//! local fake queue, and the server's memory idle and under load. Prints a table beside the issue's targets;
//! asserts nothing.
//!
//! The load generator runs in this process on the same machine as the server (and, for the queue rows, as the fake
//! queue), so all three share the CPUs: the figures are a floor for a server with the machine to itself. The
//! server's own CPU time per request (from `/proc/<pid>/stat`) is printed too, as it depends little on that.
//!
//! Environment: `BENCH_SECONDS` (measured seconds per row, default 5) and `BENCH_WARMUP_SECONDS` (default 1). A
//! filter argument selects rows whose name contains it (`cargo bench -p api-server --bench api -- hook()`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "a benchmark program")]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hooks_core::Keyring;
use serde_json::{Value, json};
use test_support::{FakeTaskcluster, TestDb};

const CLIENT_ID: &str = "bench";
const ACCESS_TOKEN: &str = "bench-access-token-0123456789abcdefghijklmnop";
const GROUP: &str = "bench";
const HOOK: &str = "hook";

/// The issue's targets, printed beside the measurements.
const TARGET_TOKEN: &str = "≥ 5,000 req/s, p99 ≤ 20 ms at 64 (embedded)";
const TARGET_TRIGGER: &str = "≥ 3,000 req/s at 32";
const TARGET_GET: &str = "≥ 10,000 req/s";
const TARGET_LAST_FIRES: &str = "within 2× of the time without task states";
const TARGET_WEBHOOK: &str = "≥ 80 % of triggerHookWithToken's req/s";
/// The bench hook's GitHub webhook secret.
const WEBHOOK_SECRET: &str = "bench-webhook-secret-0123456789";
/// What every trigger sends.
const BODY: &str = r#"{"ref": "0123456789abcdef0123456789abcdef01234567", "branch": "main"}"#;
/// Each webhook delivery's id is new, across rows too: a repeated one would be a redelivery, which fires nothing.
static DELIVERIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// A running `hooks-api-server` (the release binary) on its own database.
struct Server {
    child: Child,
    port: u16,
    _db: TestDb,
}

impl Server {
    async fn start(fake: Option<&FakeTaskcluster>) -> Self {
        let bin = env!("CARGO_BIN_EXE_hooks-api-server");
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is missing: build it with `cargo build --release -p api-server`"
        );
        let db = TestDb::new().await;
        // Another process could take the port between here and the server's bind; unlikely enough for a bench.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let clients = json!([{"clientId": CLIENT_ID, "accessToken": ACCESS_TOKEN, "scopes": ["*"]}]);
        let mut cmd = Command::new(bin);
        cmd.env("DATABASE_URL", &db.url)
            .env("HOOKS_LISTEN", format!("127.0.0.1:{port}"))
            .env("HOOKS_CRYPTO_KEY", Keyring::generate_key().unwrap().expose())
            .env("HOOKS_AUTH", "static")
            .env("HOOKS_STATIC_CLIENTS", clients.to_string())
            .env("RUST_LOG", "warn")
            .env_remove("TASKCLUSTER_ROOT_URL")
            .env_remove("TASKCLUSTER_CLIENT_ID")
            .env_remove("TASKCLUSTER_ACCESS_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(fake) = fake {
            let service = fake.service_client();
            cmd.env("TASKCLUSTER_ROOT_URL", fake.root_url())
                .env("TASKCLUSTER_CLIENT_ID", &service.client_id)
                .env("TASKCLUSTER_ACCESS_TOKEN", &service.access_token);
        }
        let child = cmd.spawn().unwrap();
        let server = Self { child, port, _db: db };
        server.wait_until_ready().await;
        server
    }

    async fn wait_until_ready(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http.get(self.url("/ping")).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("hooks-api-server did not answer ping within 30 s");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/api/hooks/v1{path}", self.port)
    }

    /// CPU time the server has used, user and system (`/proc/<pid>/stat`; Linux counts it in 1/100 s).
    fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // The fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        Duration::from_millis((ticks(11) + ticks(12)) * 10)
    }

    /// A line of `/proc/<pid>/status` in MB (`VmRSS`, `VmHWM`).
    fn memory_mb(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Signs requests as the official Taskcluster clients do: Hawk with SHA256 over the path, no payload hash.
struct Signer {
    credentials: hawk::Credentials,
    port: u16,
}

impl Signer {
    fn new(port: u16) -> Self {
        let key = hawk::Key::new(ACCESS_TOKEN.as_bytes(), hawk::SHA256).unwrap();
        Self { credentials: hawk::Credentials { id: CLIENT_ID.to_owned(), key }, port }
    }

    /// A fresh `Authorization` header (new nonce and timestamp) for `method` on `path`.
    fn authorization(&self, method: &str, path: &str) -> String {
        let header =
            hawk::RequestBuilder::new(method, "127.0.0.1", self.port, path).request().make_header(&self.credentials);
        format!("Hawk {}", header.unwrap())
    }
}

/// Creates the bench hook through the API and returns its trigger token.
async fn create_hook(server: &Server, signer: &Signer) -> String {
    let http = reqwest::Client::new();
    let path = format!("/api/hooks/v1/hooks/{GROUP}/{HOOK}");
    let body = json!({
        "metadata": {"name": "bench", "description": "api bench", "owner": "bench@example.com", "emailOnError": false},
        "bindings": [],
        "schedule": [],
        "task": {
            "provisionerId": "bench-provisioner",
            "workerType": "bench-worker",
            "payload": {"firedBy": "${firedBy}", "ref": "${payload.ref}", "env": {"BRANCH": "${payload.branch}"}},
            "metadata": {"name": "bench task", "description": "d", "owner": "bench@example.com", "source": "https://example.com/bench"},
        },
        "triggerSchema": {
            "type": "object",
            "properties": {"ref": {"type": "string", "pattern": "^[0-9a-f]{8,40}$"}, "branch": {"type": "string"}},
            "required": ["ref"],
            "additionalProperties": false,
        },
    });
    let reply = http
        .put(server.url(&format!("/hooks/{GROUP}/{HOOK}")))
        .header("Authorization", signer.authorization("PUT", &path))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "createHook: {} {}", reply.status(), reply.text().await.unwrap());
    let token_path = format!("/api/hooks/v1/hooks/{GROUP}/{HOOK}/token");
    let reply = http
        .get(server.url(&format!("/hooks/{GROUP}/{HOOK}/token")))
        .header("Authorization", signer.authorization("GET", &token_path))
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "getTriggerToken: {}", reply.status());
    let token: Value = reply.json().await.unwrap();
    let webhook_path = format!("/api/hooks/v1/hooks/{GROUP}/{HOOK}/webhook");
    let reply = http
        .put(server.url(&format!("/hooks/{GROUP}/{HOOK}/webhook")))
        .header("Authorization", signer.authorization("PUT", &webhook_path))
        .json(&json!({"kind": "github", "secret": WEBHOOK_SECRET}))
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "setWebhook: {}", reply.status());
    token["token"].as_str().unwrap().to_owned()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    TriggerWithToken,
    /// A GitHub push delivery, signed, each with a new delivery id.
    GithubWebhook,
    Trigger,
    Hook,
    /// `listLastFires`, one page of 1,000 fires with their task states (the trigger rows before it fired them).
    LastFires,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Self::TriggerWithToken => "triggerHookWithToken",
            Self::GithubWebhook => "webhook (GitHub, signed)",
            Self::Trigger => "triggerHook",
            Self::Hook => "hook()",
            Self::LastFires => "listLastFires",
        }
    }
}

/// What one client task sends, prepared once.
struct Target {
    endpoint: Endpoint,
    url: String,
    /// The path as signed (no query string).
    path: String,
    signer: Arc<Signer>,
}

impl Target {
    fn new(server: &Server, endpoint: Endpoint, token: &str) -> Self {
        let route = match endpoint {
            Endpoint::TriggerWithToken => format!("/hooks/{GROUP}/{HOOK}/trigger/{token}"),
            Endpoint::GithubWebhook => format!("/hooks/{GROUP}/{HOOK}/webhook"),
            Endpoint::Trigger => format!("/hooks/{GROUP}/{HOOK}/trigger"),
            Endpoint::Hook => format!("/hooks/{GROUP}/{HOOK}"),
            Endpoint::LastFires => format!("/hooks/{GROUP}/{HOOK}/last-fires"),
        };
        Self {
            endpoint,
            url: server.url(&route),
            path: format!("/api/hooks/v1{route}"),
            signer: Arc::new(Signer::new(server.port)),
        }
    }

    async fn send(&self, http: &reqwest::Client, body: &'static str) -> bool {
        let request = match self.endpoint {
            Endpoint::TriggerWithToken => http.post(&self.url).header("Content-Type", "application/json").body(body),
            Endpoint::GithubWebhook => {
                let delivery = DELIVERIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                http.post(&self.url)
                    .header("Content-Type", "application/json")
                    .header("X-GitHub-Event", "push")
                    .header("X-GitHub-Delivery", format!("bench-delivery-{delivery}"))
                    .header("X-Hub-Signature-256", github_signature(body))
                    .body(body)
            }
            Endpoint::Trigger => http
                .post(&self.url)
                .header("Content-Type", "application/json")
                .header("Authorization", self.signer.authorization("POST", &self.path))
                .body(body),
            Endpoint::Hook | Endpoint::LastFires => {
                http.get(&self.url).header("Authorization", self.signer.authorization("GET", &self.path))
            }
        };
        match request.send().await {
            // Read the whole body, as a client would, so the connection is reused.
            Ok(reply) => reply.status().is_success() & reply.bytes().await.is_ok(),
            Err(_) => false,
        }
    }
}

/// GitHub's `X-Hub-Signature-256` of `body` under the bench webhook's secret (the same body every time, so the
/// load generator's cost is that of a header).
fn github_signature(body: &str) -> String {
    static SIGNATURE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    assert_eq!(body, BODY, "the signature is computed once, for BODY");
    SIGNATURE
        .get_or_init(|| {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, WEBHOOK_SECRET.as_bytes());
            let tag = ring::hmac::sign(&key, body.as_bytes());
            format!("sha256={}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
        })
        .clone()
}

struct Measured {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    /// The server's CPU time per request in the window: unlike req/s, it hardly depends on what else runs.
    server_cpu_us: f64,
}

/// `clients` tasks, each on its own keep-alive connection, send requests back to back: `warmup` unmeasured, then
/// `duration` measured.
async fn load(server: &Server, target: Arc<Target>, clients: usize, warmup: Duration, duration: Duration) -> Measured {
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().unwrap();
    let start = Instant::now() + warmup;
    let end = start + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (http, target) = (http.clone(), target.clone());
            tokio::spawn(async move {
                let body = BODY;
                let mut latencies_us: Vec<u32> = Vec::with_capacity(1 << 16);
                let mut errors = 0;
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let ok = target.send(&http, body).await;
                    if sent >= start {
                        let done = Instant::now();
                        // Only requests that finished inside the window count towards the rate.
                        if done <= end {
                            latencies_us.push(done.duration_since(sent).as_micros().min(u32::MAX as u128) as u32);
                            errors += usize::from(!ok);
                        }
                    }
                }
                (latencies_us, errors)
            })
        })
        .collect();
    tokio::time::sleep_until(start.into()).await;
    let cpu_at_start = server.cpu_time();
    tokio::time::sleep_until(end.into()).await;
    let cpu = server.cpu_time().saturating_sub(cpu_at_start);
    let mut all: Vec<u32> = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, e) = task.await.unwrap();
        all.extend(latencies);
        errors += e;
    }
    all.sort_unstable();
    let percentile = |p: f64| {
        if all.is_empty() { f64::NAN } else { all[((all.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0 }
    };
    Measured {
        requests_per_second: all.len() as f64 / duration.as_secs_f64(),
        p50_ms: percentile(0.5),
        p99_ms: percentile(0.99),
        errors,
        server_cpu_us: cpu.as_secs_f64() * 1e6 / all.len().max(1) as f64,
    }
}

fn target_for(endpoint: Endpoint, sink: &str, clients: usize) -> &'static str {
    match (endpoint, sink, clients) {
        (Endpoint::TriggerWithToken, "embedded", 64) => TARGET_TOKEN,
        (Endpoint::GithubWebhook, _, _) => TARGET_WEBHOOK,
        (Endpoint::Trigger, _, 32) => TARGET_TRIGGER,
        (Endpoint::Hook, _, _) => TARGET_GET,
        (Endpoint::LastFires, "fake queue", _) => TARGET_LAST_FIRES,
        _ => "",
    }
}

/// Creates the bench hook on `server` and runs every wanted row against it, printing one table line each.
async fn run_rows(server: &Server, sink: &str, endpoints: &[(Endpoint, &[usize])], wanted: &dyn Fn(&str) -> bool) {
    let signer = Signer::new(server.port);
    let token = create_hook(server, &signer).await;
    let (warmup, duration) = (env_secs("BENCH_WARMUP_SECONDS", 1), env_secs("BENCH_SECONDS", 5));
    for &(endpoint, concurrencies) in endpoints {
        for &clients in concurrencies {
            let name = format!("{} {sink} c{clients}", endpoint.name());
            if !wanted(&name) {
                continue;
            }
            let target = Arc::new(Target::new(server, endpoint, &token));
            let m = load(server, target, clients, warmup, duration).await;
            println!(
                "| {} | {sink} | {clients} | {:.0} | {:.2} | {:.2} | {:.0} | {} | {} |",
                endpoint.name(),
                m.requests_per_second,
                m.p50_ms,
                m.p99_ms,
                m.server_cpu_us,
                m.errors,
                target_for(endpoint, sink, clients),
            );
        }
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; a filter argument selects rows by name ("triggerHook embedded c64").
    let Some(wanted) = test_support::bench_filter() else { return };

    println!(
        "\n| api-server endpoint | sink | clients | req/s | p50 ms | p99 ms | server CPU µs/req | errors | target |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");

    let embedded = Server::start(None).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = embedded.memory_mb("VmRSS");
    run_rows(
        &embedded,
        "embedded",
        &[
            (Endpoint::TriggerWithToken, &[1, 16, 64]),
            (Endpoint::GithubWebhook, &[1, 16, 64]),
            (Endpoint::Trigger, &[1, 16, 32, 64]),
            (Endpoint::Hook, &[1, 16, 64]),
            (Endpoint::LastFires, &[1, 16]),
        ],
        &wanted,
    )
    .await;
    let (loaded_rss, peak_rss) = (embedded.memory_mb("VmRSS"), embedded.memory_mb("VmHWM"));
    drop(embedded);

    let fake = FakeTaskcluster::start_default();
    let queue = Server::start(Some(&fake)).await;
    run_rows(
        &queue,
        "fake queue",
        &[
            (Endpoint::TriggerWithToken, &[1, 16, 64]),
            (Endpoint::GithubWebhook, &[1, 16, 64]),
            (Endpoint::Trigger, &[1, 16, 32, 64]),
            (Endpoint::LastFires, &[1, 16]),
        ],
        &wanted,
    )
    .await;
    let queue_peak_rss = queue.memory_mb("VmHWM");
    drop(queue);

    println!("\n| hooks-api-server memory | MB | target |\n|---|---|---|");
    println!("| RSS idle (embedded sink, 1 s after start-up) | {idle_rss:.1} | ≤ 30 MB |");
    println!("| RSS after the embedded-sink rows | {loaded_rss:.1} | |");
    println!("| peak RSS (VmHWM), embedded-sink rows | {peak_rss:.1} | ≤ 100 MB |");
    println!("| peak RSS (VmHWM), fake-queue rows | {queue_peak_rss:.1} | ≤ 100 MB |");
}
