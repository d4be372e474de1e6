//! The hostile-input suite (`make hostile`): starts the three daemons as built (release under `make hostile`) on a
//! fresh database with the embedded task sink, throws the corpus in `corpus/` at them while good traffic flows,
//! and prints a table of what happened per category, whether the daemons still answer and whether the good
//! traffic kept working, ending with `N passed, N failed`.
//!
//! `HOOKS_HOSTILE=full` runs the whole corpus; otherwise only the cases marked `"short": true`.

pub mod api_cases;
pub mod client;
pub mod corpus;
pub mod pulse_cases;
pub mod report;
pub mod schedule_cases;
pub mod watch;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use hooks_core::pulse::Names;
use serde_json::json;
use test_support::daemons::{self, Daemon, Kind, Setup};
use test_support::{BrokerCleanup, TestDb, broker};

use crate::client::{Api, Publisher};
use crate::pulse_cases::{Broker, Throw};
use crate::report::{Category, Check};
use crate::watch::{Watch, lock};

/// Runs the suite; `Ok(true)` when every case and check behaved.
pub async fn run() -> anyhow::Result<bool> {
    let started = Instant::now();
    let full = std::env::var("HOOKS_HOSTILE").is_ok_and(|v| v == "full");
    let dir = daemons::binaries_dir()?;
    let corpus = corpus::Corpus::load(!full)?;
    println!("hostile: the {} corpus against the daemons in {}", if full { "full" } else { "short" }, dir.display());

    let db = TestDb::new().await;
    let names = Names::new(format!("hooks-test-{}", broker::random_suffix()));
    let exchange = format!("exchange/hostile-{}/v1/messages", broker::random_suffix());
    let cleanup = BrokerCleanup::new(broker::pulse_url());
    cleanup.exchange(&exchange);
    for e in names.hook_changed_exchanges() {
        cleanup.exchange(e);
    }
    cleanup.queue(names.dead_letter_queue());
    let log_dir = dir.join("hostile-logs");
    std::fs::create_dir_all(&log_dir)?;
    for program in daemons::PROGRAMS {
        let _ = std::fs::remove_file(log_dir.join(format!("{program}.log")));
    }
    let setup = Setup {
        dir,
        log_dir: log_dir.clone(),
        database_url: db.url.clone(),
        pulse_url: broker::pulse_url(),
        namespace: names.namespace().to_owned(),
        crypto_key: hooks_core::Keyring::generate_key()?.expose().to_owned(),
        static_clients: client::static_clients(),
        // No TASKCLUSTER_ROOT_URL: tasks go to the embedded sink, in the suite's database.
        env: Vec::new(),
    };
    let api_daemon = Daemon::start(Kind::Api, &setup).await?;
    let api = Api::new(&api_daemon.addr)?;
    let scheduler = Daemon::start(Kind::Scheduler, &setup).await?;
    let listener = Daemon::start(Kind::Listener, &setup).await?;
    let listener_ops = listener.addr.clone();
    let daemons = Arc::new(tokio::sync::Mutex::new(vec![api_daemon, scheduler, listener]));
    let publisher = Arc::new(Publisher::connect(&setup.pulse_url, &exchange).await?);

    // The good hooks, and the scheduled hostile ones, firing from now to the end.
    let mut good_trigger = corpus::good_hook();
    good_trigger["task"]["payload"]["n"] = json!("${payload.n}");
    api.call("PUT", "/hooks/hostile/good-trigger", Some(&good_trigger)).await.context("the good trigger hook")?;
    let mut good_pulse = good_trigger.clone();
    good_pulse["bindings"] = json!([{"exchange": exchange, "routingKeyPattern": "good.#"}]);
    api.call("PUT", "/hooks/hostile/good-pulse", Some(&good_pulse)).await.context("the good Pulse hook")?;
    let scheduled: Vec<&corpus::TemplateCase> = corpus.templates.iter().filter(|c| c.scheduled).collect();
    schedule_cases::start(&api, &scheduled).await.context("the scheduled hooks")?;
    let schedule_from = Utc::now() + chrono::TimeDelta::seconds(2);
    cleanup.queue(names.hook_queue("hostile", "good-pulse"));
    publisher.publish_routed("good.0", "good-0", b"{\"n\": 0}", Duration::from_secs(30)).await?;
    let watch = Watch::start(daemons.clone(), api.clone(), publisher.clone());
    let seen = watch.seen.clone();

    let mut categories = Vec::new();
    let category = |name: &str| {
        seen.enter(name);
        Category::new(name)
    };

    let mut c = category("runtime-hostile templates");
    api_cases::templates(&api, &corpus.templates, &mut c).await;
    categories.push(c);

    let mut c = category("definitions refused up front");
    api_cases::definitions(&api, &corpus.definitions, &mut c).await;
    categories.push(c);

    let mut c = category("hostile trigger payloads");
    api_cases::payloads(&api, &corpus.payloads, &mut c).await;
    categories.push(c);

    let mut c = category("hostile requests");
    api_cases::bodies(&api, &corpus.bodies, &mut c).await;
    categories.push(c);

    let mut c = category("hostile Pulse messages");
    let mut throws = Vec::new();
    for case in &corpus.pulse {
        throws.push(Throw::from_case(case)?);
    }
    for case in corpus.templates.iter().filter(|c| c.pulse) {
        throws.push(Throw::from_template(case)?);
    }
    for i in 0..throws.len() {
        cleanup.queue(names.hook_queue("hostile", &format!("pulse-{i}")));
    }
    let pulse_broker = Broker {
        publisher: &publisher,
        url: &setup.pulse_url,
        dead_letter_queue: names.dead_letter_queue(),
        listener_ops,
    };
    let patience = Duration::from_secs(if full { 90 } else { 30 });
    pulse_cases::run(&api, &pulse_broker, &throws, patience, &mut c).await;
    categories.push(c);

    // The scheduled hooks have fired for as long as the rest took; at least five seconds.
    let mut c = category("scheduled hostile hooks");
    let min_run = Duration::from_secs(5);
    let ran = (Utc::now() - schedule_from).to_std().unwrap_or_default();
    tokio::time::sleep(min_run.saturating_sub(ran)).await;
    let schedule_to = Utc::now() - chrono::TimeDelta::seconds(1);
    schedule_cases::judge(&api, &scheduled, &mut c).await;
    categories.push(c);

    // Let the last good messages and triggers land before the watch stops.
    let seen = watch.stop().await;
    for c in &mut categories {
        c.crashes = seen.crashes_in(&c.name);
    }
    let checks = final_checks(&api, &daemons, &seen, schedule_from, schedule_to).await;
    // Stopped before the clean-up, so that the listener doesn't declare the queues again.
    daemons.lock().await.clear();
    drop(cleanup);

    for crash in lock(&seen.crashes).iter() {
        println!(
            "\n{} exited ({}) during {}; the end of its log:\n{}",
            crash.daemon, crash.status, crash.category, crash.log_tail
        );
    }
    let (_, failed) = report::print(&categories, &checks);
    println!("took {:.1} s; daemon logs in {}", started.elapsed().as_secs_f64(), log_dir.display());
    Ok(failed == 0)
}

async fn final_checks(
    api: &Api,
    daemons: &watch::Daemons,
    seen: &watch::Seen,
    schedule_from: chrono::DateTime<Utc>,
    schedule_to: chrono::DateTime<Utc>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let http = reqwest::Client::new();
    for daemon in daemons.lock().await.iter_mut() {
        let name = daemon.kind.program();
        let answers = http
            .get(daemon.health_url())
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let probes = lock(&seen.probes).get(name).copied().unwrap_or_default();
        let route = if daemon.kind == Kind::Api { "ping" } else { "__heartbeat__" };
        checks.push(Check {
            what: format!("{name} answers {route}"),
            seen: format!(
                "{} now; {} of {} probes during the run",
                if answers { "answers" } else { "NO ANSWER" },
                probes.ok,
                probes.tried
            ),
            ok: answers && daemon.exited().is_none(),
        });
    }
    checks.push(schedule_cases::good_schedule(api, schedule_from, schedule_to).await);

    let routed = seen.messages.load(Ordering::SeqCst) + 1; // and good.0
    let mut fired = 0;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        fired = api
            .last_fires("hostile", "good-pulse")
            .await
            .map(|f| f.iter().filter(|f| f["result"] == "success").count() as u64)
            .unwrap_or(0);
        if fired >= routed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    checks.push(Check {
        what: "good Pulse-bound hook".to_owned(),
        seen: format!("{fired} of {routed} messages fired"),
        ok: fired == routed,
    });

    let sent = seen.triggers.load(Ordering::SeqCst);
    let ok = seen.triggers_ok.load(Ordering::SeqCst);
    let failures = lock(&seen.trigger_failures);
    checks.push(Check {
        what: "good triggers".to_owned(),
        seen: if failures.is_empty() {
            format!("{ok} of {sent} answered 200")
        } else {
            format!("{ok} of {sent} answered 200; others: {failures:?}")
        },
        ok: ok == sent && sent > 0,
    });
    checks
}
