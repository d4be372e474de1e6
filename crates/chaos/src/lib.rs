//! The fault-injection suite (`make chaos`): starts the release daemons as a small deployment (two schedulers,
//! two Pulse listeners, one api-server) on a fresh database, a RabbitMQ virtual host of its own and the local
//! Taskcluster stand-in as queue and notify, then runs each scenario: load flows while faults are injected
//! (SIGKILL, broker connection closes, database backend terminations, a queue 5xx burst, SIGTERM). Every event
//! (a schedule slot, a Pulse message, a `triggerHook` call the client saw succeed) carries its identity into the
//! task it creates, so that at the end each is counted: lost (no task) or doubled (two taskIds). One row per
//! scenario, then `N passed, N failed`.
//!
//! `HOOKS_CHAOS=full` runs the sizes (minutes); any other value the short form (seconds per scenario).

pub mod client;
pub mod cluster;
pub mod database;
pub mod hooks;
pub mod ledger;
pub mod load;
pub mod random;
pub mod report;
pub mod scenarios;

use std::time::Instant;

use crate::cluster::Cluster;
use crate::report::Row;

/// How much the suite does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A few seconds per scenario.
    Short,
    /// The sizes issue 13 asks for.
    Full,
}

impl Form {
    /// `HOOKS_CHAOS`: `full`, or any other non-empty value for the short form; `None` when unset or empty.
    pub fn from_env() -> Option<Self> {
        match std::env::var("HOOKS_CHAOS").ok()?.as_str() {
            "" => None,
            "full" => Some(Self::Full),
            _ => Some(Self::Short),
        }
    }

    /// `short` or `full`, by form.
    pub fn pick<T>(self, short: T, full: T) -> T {
        match self {
            Self::Short => short,
            Self::Full => full,
        }
    }
}

/// Runs every scenario; `Ok(true)` when each met its expectation.
pub async fn run(form: Form) -> anyhow::Result<bool> {
    let started = Instant::now();
    let mut cluster = Cluster::start().await?;
    println!("chaos: the {form:?} form against the daemons in {}", cluster.setup.dir.display());
    let mut rows: Vec<Row> = Vec::new();
    for scenario in scenarios::ALL {
        println!("chaos: {} ...", scenario.name);
        let began = Instant::now();
        let got = match cluster.ensure_running().await {
            Ok(()) => (scenario.run)(&mut cluster, form).await,
            Err(e) => Err(e),
        };
        match got {
            Ok(got) => rows.extend(got),
            Err(e) => rows.push(Row::broken(scenario.name, &e)),
        }
        println!("chaos: {} took {:.1} s", scenario.name, began.elapsed().as_secs_f64());
    }
    let log_dir = cluster.setup.log_dir.clone();
    drop(cluster);
    let ok = report::print(&rows);
    println!("took {:.1} s; daemon logs in {}", started.elapsed().as_secs_f64(), log_dir.display());
    Ok(ok)
}
