//! The real `hooks-scheduler` binary: killed with SIGKILL mid-batch, or stopped with SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use common::{Env, YEARLY, minute_floor};
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl as _;
use serde_json::json;

const HOOKS: usize = 40;

fn spawn_scheduler(env: &Env) -> Child {
    spawn_scheduler_with(env, &[])
}

fn spawn_scheduler_with(env: &Env, extra_args: &[&str]) -> Child {
    env.scheduler_command()
        .args(extra_args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting hooks-scheduler")
}

async fn due_hooks(env: &Env) {
    for i in 0..HOOKS {
        let id = format!("crash-{i}");
        env.hook(&id, &[YEARLY], json!({})).await;
        env.set_next(&id, minute_floor(Utc::now()) - TimeDelta::minutes(1)).await;
    }
}

async fn last_fire_count(env: &Env) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = env.db.pool.get().await.unwrap();
    let c: Count = diesel::sql_query("SELECT count(*) AS n FROM last_fires").get_result(&mut conn).await.unwrap();
    c.n
}

async fn wait_for(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_scheduler_killed_mid_batch_loses_no_slot_and_creates_no_task_twice() {
    let env = Env::new().await;
    due_hooks(&env).await;
    // A slow queue keeps the batch (and its transaction) open long enough to kill it half-way.
    env.fake.delay_create_task(Duration::from_millis(100));

    let mut first = spawn_scheduler(&env);
    wait_for("some tasks", Duration::from_secs(30), async || env.fake.create_task_requests().len() >= 8).await;
    first.kill().unwrap();
    first.wait().unwrap();
    let before_restart = env.fake.create_task_requests().len();
    assert!(before_restart < HOOKS, "the batch finished before the kill; the test proves nothing");
    assert_eq!(last_fire_count(&env).await, 0, "nothing was committed by the killed scheduler");

    let mut second = spawn_scheduler(&env);
    wait_for("every hook's last fire", Duration::from_secs(60), async || last_fire_count(&env).await == HOOKS as i64)
        .await;
    second.kill().unwrap();
    second.wait().unwrap();

    let requests = env.fake.create_task_requests();
    assert!(requests.iter().all(|r| r.status == 200), "a re-fired slot must be accepted as the same task");
    let mut per_task: HashMap<&str, Vec<&serde_json::Value>> = HashMap::new();
    for r in &requests {
        per_task.entry(&r.task_id).or_default().push(&r.task);
    }
    assert_eq!(per_task.len(), HOOKS, "one task per hook's slot");
    assert!(per_task.values().all(|defs| defs.windows(2).all(|w| w[0] == w[1])), "a re-fire rendered a different task");
    let hooks: HashSet<String> =
        env.fake.created_tasks().iter().map(|t| t.authorized_scopes.clone().unwrap()[0].clone()).collect();
    assert_eq!(hooks.len(), HOOKS, "every hook fired");
    for i in 0..HOOKS {
        assert!(env.next_of(&format!("crash-{i}")).await.unwrap() > Utc::now(), "crash-{i} was not advanced");
    }
}

#[tokio::test]
async fn sigterm_finishes_the_batch_in_flight_and_exits_zero() {
    let env = Env::new().await;
    due_hooks(&env).await;
    env.fake.delay_create_task(Duration::from_millis(100));
    let mut child = spawn_scheduler(&env);
    wait_for("some tasks", Duration::from_secs(30), async || !env.fake.create_task_requests().is_empty()).await;
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    let created = env.fake.create_task_requests().len() as i64;
    assert_eq!(last_fire_count(&env).await, created, "every fire in flight was recorded before exiting");
    assert!(created > 0);
}

#[tokio::test]
async fn the_metrics_port_serves_metrics_health_and_version() {
    let env = Env::new().await;
    due_hooks(&env).await;
    // A free port, chosen by the system; the scheduler binds it a moment later.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn_scheduler_with(&env, &["--metrics-listen", &format!("127.0.0.1:{port}")]);
    wait_for("every hook's last fire", Duration::from_secs(60), async || last_fire_count(&env).await == HOOKS as i64)
        .await;

    let mut metrics = String::new();
    wait_for("the fires in /metrics", Duration::from_secs(10), async || {
        metrics = match reqwest::get(format!("{base}/metrics")).await {
            Ok(res) => res.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        metrics.contains(&format!(r#"hooks_fires_total{{fired_by="schedule",result="success"}} {HOOKS}"#))
    })
    .await;
    assert!(metrics.contains(&format!("hooks_schedule_lag_seconds_count {HOOKS}")), "{metrics}");
    assert!(metrics.contains(r#"hooks_db_pool_connections{pool="main",state="in_use"}"#), "{metrics}");
    let heartbeat = reqwest::get(format!("{base}/__heartbeat__")).await.unwrap();
    assert_eq!(heartbeat.status(), 200);
    let version: serde_json::Value = reqwest::get(format!("{base}/__version__")).await.unwrap().json().await.unwrap();
    assert_ne!(version["commit"], "unknown", "{version}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn no_secret_appears_in_the_schedulers_logs_at_any_level() {
    let env = Env::new().await;
    // A success, a transient failure retried, and a refusal that emails the owner: every path that handles a secret.
    for id in ["ok", "retried", "refused"] {
        env.hook(id, &[YEARLY], json!({})).await;
        env.set_next(id, minute_floor(Utc::now()) - TimeDelta::minutes(1)).await;
    }
    env.fake.fail_create_task(1, 500, "InternalServerError");
    env.fake.fail_create_task(1, 403, "InsufficientScopes");
    let password = "db-password-never-logged";
    let client = env.fake.service_client();
    let mut child = env
        .scheduler_command()
        // Postgres here trusts local connections, so the password is accepted, and must still not show.
        .env("DATABASE_URL", env.db.url.replacen("postgres@", &format!("postgres:{password}@"), 1))
        .env("RUST_LOG", "trace")
        .env("HOOKS_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting hooks-scheduler");
    let output = test_support::logs::Output::capture(&mut child);
    wait_for("three last fires", Duration::from_secs(30), async || last_fire_count(&env).await == 3).await;
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    child.wait().unwrap();
    assert!(!env.fake.emails().is_empty(), "the refusal was not emailed: the test missed a path");
    let secrets = [
        ("service access token", client.access_token.as_str()),
        ("crypto key", env.key.expose()),
        ("database password", password),
    ];
    let logs = output.finish();
    test_support::logs::assert_no_secrets(&logs, &secrets);
    // Every line about a fire names its hook (through the span it is logged in).
    let fires: Vec<&str> = logs.lines().filter(|l| l.contains(r#""message":"hook fire""#)).collect();
    assert!(fires.len() >= 3, "expected a log line per fire:\n{logs}");
    for line in fires {
        assert!(line.contains(r#""hook_group_id":"sched""#) && line.contains(r#""hook_id":""#), "{line}");
    }
}
