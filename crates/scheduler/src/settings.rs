//! The scheduler's settings: flags, each with its environment variable.

use clap::{Parser, ValueEnum};
use hooks_core::{CatchUp, CommonArgs, OpsArgs};

use crate::{ExpiryOptions, SchedulerOptions};

/// The most hooks one claim may take: a batch's last fires are written in one statement (see `validate`).
const MAX_BATCH: usize = 5_000;

/// Which missed slots to fire after downtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatchUpMode {
    /// Fire once, for the most recent missed slot.
    Latest,
    /// Fire every missed slot within --catch-up-window, oldest first.
    All,
}

/// Fires hooks on their cron schedules.
#[derive(Debug, Clone, Parser)]
#[command(name = "hooks-scheduler", version, about)]
pub struct Settings {
    /// Which missed slots to fire after downtime.
    #[arg(long, env = "HOOKS_CATCH_UP", value_enum, default_value_t = CatchUpMode::Latest)]
    pub catch_up: CatchUpMode,
    /// How far back missed slots are still fired with `--catch-up all` (e.g. `1h`, `30m`), and, in either mode,
    /// how long a slot that fails transiently (a queue 5xx, the network) is retried under its taskId.
    #[arg(long, env = "HOOKS_CATCH_UP_WINDOW", default_value = "1h")]
    pub catch_up_window: String,
    /// How many due hooks one claim takes.
    #[arg(long, env = "HOOKS_SCHEDULER_BATCH", default_value_t = crate::scheduler::DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
    /// How many tasks are created at once, per batch.
    #[arg(long, env = "HOOKS_SCHEDULER_CONCURRENCY", default_value_t = 64)]
    pub concurrency: usize,
    /// How many batches are claimed and fired at once.
    #[arg(long, env = "HOOKS_SCHEDULER_WORKERS", default_value_t = 4)]
    pub workers: usize,
    /// How long before its slot a hook is claimed, so its fire is ready on the second (e.g. `500ms`; `0s`: at
    /// the slot).
    #[arg(long, env = "HOOKS_SCHEDULER_CLAIM_AHEAD", default_value = "500ms")]
    pub claim_ahead: String,
    /// Last fires older than this are deleted (once a day, and shortly after start), e.g. `1year`, `90days`.
    #[arg(long, env = "HOOKS_LAST_FIRES_RETENTION", default_value = "1year")]
    pub last_fires_retention: String,
    /// Database, deployment, keys and logging.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Metrics and health port.
    #[command(flatten)]
    pub ops: OpsArgs,
}

impl Settings {
    /// The scheduler's options, or an error naming the bad flag.
    pub fn options(&self) -> anyhow::Result<SchedulerOptions> {
        let window = humantime::parse_duration(&self.catch_up_window).map_err(|e| {
            anyhow::anyhow!("--catch-up-window / HOOKS_CATCH_UP_WINDOW {:?}: {e}", self.catch_up_window)
        })?;
        let window = chrono::TimeDelta::from_std(window)?;
        let catch_up = match self.catch_up {
            CatchUpMode::Latest => CatchUp::Latest,
            CatchUpMode::All => CatchUp::All { window },
        };
        // A batch's last fires are one insert of 7 parameters a row, and PostgreSQL takes at most 65,535 per statement.
        anyhow::ensure!(
            (1..=MAX_BATCH).contains(&self.batch_size),
            "--batch-size / HOOKS_SCHEDULER_BATCH must be between 1 and {MAX_BATCH}, not {}",
            self.batch_size
        );
        anyhow::ensure!(self.concurrency > 0, "--concurrency / HOOKS_SCHEDULER_CONCURRENCY must be at least 1");
        anyhow::ensure!(self.workers > 0, "--workers / HOOKS_SCHEDULER_WORKERS must be at least 1");
        // Each worker holds a connection while its batch fires; the task and last-fire writers need theirs too.
        anyhow::ensure!(
            self.workers + 2 <= self.common.database.db_pool_size,
            "--workers / HOOKS_SCHEDULER_WORKERS ({}) must be at least 2 below --db-pool-size / HOOKS_DB_POOL_SIZE ({})",
            self.workers,
            self.common.database.db_pool_size
        );
        let claim_ahead = humantime::parse_duration(&self.claim_ahead)
            .map_err(|e| anyhow::anyhow!("--claim-ahead / HOOKS_SCHEDULER_CLAIM_AHEAD {:?}: {e}", self.claim_ahead))?;
        // Locks are held from the claim to the slot: longer than this would stall updates to the hook.
        anyhow::ensure!(
            claim_ahead <= std::time::Duration::from_secs(5),
            "--claim-ahead / HOOKS_SCHEDULER_CLAIM_AHEAD {:?} is longer than the 5s allowed",
            self.claim_ahead
        );
        Ok(SchedulerOptions {
            catch_up,
            retry_window: window,
            batch_size: self.batch_size,
            concurrency: self.concurrency,
            workers: self.workers,
            claim_ahead,
        })
    }

    /// When last fires expire, or an error naming the bad flag.
    pub fn expiry(&self) -> anyhow::Result<ExpiryOptions> {
        let retention = humantime::parse_duration(&self.last_fires_retention).map_err(|e| {
            anyhow::anyhow!("--last-fires-retention / HOOKS_LAST_FIRES_RETENTION {:?}: {e}", self.last_fires_retention)
        })?;
        anyhow::ensure!(
            !retention.is_zero(),
            "--last-fires-retention / HOOKS_LAST_FIRES_RETENTION must be longer than zero"
        );
        Ok(ExpiryOptions { retention, ..ExpiryOptions::default() })
    }
}

#[cfg(test)]
#[test]
fn every_flag_and_variable_is_in_the_configuration_reference() {
    test_support::docs::assert_documented(&<Settings as clap::CommandFactory>::command());
}
