//! The results: one row per scenario (events, tasks, lost, doubled, recovery time, failed requests, e-mails,
//! error last fires, unclean exits), each judged against the scenario's written expectation, then the examples
//! behind each failure and `N passed, N failed`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::ledger::{Recovery, Tally};

/// The most a scenario may show of each; every scenario of issue 13 expects none of anything.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    /// Events with no task.
    pub lost: usize,
    /// Events with two taskIds.
    pub doubled: usize,
    /// Requests or messages that failed as their sender saw it.
    pub failed: u64,
    /// E-mails sent to hook owners.
    pub emails: usize,
    /// Last fires recorded as `error`.
    pub error_fires: usize,
    /// Daemons that did not exit 0 (within the grace period) after SIGTERM.
    pub unclean_exits: usize,
}

impl Expect {
    /// Exactly once, nothing failed, nobody mailed: what every scenario expects.
    pub const EXACTLY_ONCE: Self = Self { lost: 0, doubled: 0, failed: 0, emails: 0, error_fires: 0, unclean_exits: 0 };
}

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct Row {
    /// The scenario.
    pub scenario: String,
    /// The faults injected, e.g. `10 SIGKILL`.
    pub faults: String,
    /// The count, or why the scenario could not run.
    pub tally: Result<Tally, String>,
    /// Failed requests or messages (see [`Expect::failed`]).
    pub failed: u64,
    /// E-mails sent during the scenario.
    pub emails: usize,
    /// Error last fires of the scenario's hooks.
    pub error_fires: usize,
    /// Unclean exits (see [`Expect::unclean_exits`]).
    pub unclean_exits: usize,
    /// Anything else worth reading: exit codes and times, failure messages.
    pub notes: Vec<String>,
    /// What it had to show.
    pub expect: Expect,
}

impl Row {
    /// A row for a scenario that ran and was counted.
    pub fn new(scenario: &str, faults: String, tally: Tally, expect: Expect) -> Self {
        Self {
            scenario: scenario.to_owned(),
            faults,
            tally: Ok(tally),
            failed: 0,
            emails: 0,
            error_fires: 0,
            unclean_exits: 0,
            notes: Vec::new(),
            expect,
        }
    }

    /// A row for a scenario that could not run (it fails).
    pub fn broken(scenario: &str, error: &anyhow::Error) -> Self {
        let mut row = Self::new(scenario, String::new(), empty_tally(), Expect::EXACTLY_ONCE);
        row.tally = Err(format!("{error:#}"));
        row
    }

    /// What went beyond the expectation; empty when it passed.
    pub fn misses(&self) -> Vec<String> {
        let t = match &self.tally {
            Err(e) => return vec![format!("could not run: {e}")],
            Ok(t) => t,
        };
        let e = &self.expect;
        let mut misses = Vec::new();
        if t.events == 0 {
            misses.push("no event was produced: nothing measured".to_owned());
        }
        let over = |what: &str, seen: u64, most: u64, misses: &mut Vec<String>| {
            if seen > most {
                misses.push(format!("{seen} {what} (at most {most})"));
            }
        };
        over("lost", t.lost as u64, e.lost as u64, &mut misses);
        over("doubled", t.doubled as u64, e.doubled as u64, &mut misses);
        over("failed", self.failed, e.failed, &mut misses);
        over("e-mails", self.emails as u64, e.emails as u64, &mut misses);
        over("error fires", self.error_fires as u64, e.error_fires as u64, &mut misses);
        over("unclean exits", self.unclean_exits as u64, e.unclean_exits as u64, &mut misses);
        if t.recovery == Recovery::Never {
            misses.push("a stream never recovered after a fault".to_owned());
        }
        misses
    }
}

fn empty_tally() -> Tally {
    Tally { events: 0, tasks: 0, lost: 0, doubled: 0, recovery: Recovery::NotMeasured, examples: Vec::new() }
}

fn recovery_text(recovery: Recovery) -> String {
    match recovery {
        Recovery::NotMeasured => "-".to_owned(),
        Recovery::Never => "never".to_owned(),
        Recovery::After(d) => seconds(d),
    }
}

/// `1.2 s`.
pub fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Prints the table and the details of each failed row; true when every row passed.
pub fn print(rows: &[Row]) -> bool {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<32} {:<20} {:>7} {:>7} {:>5} {:>7} {:>8} {:>6} {:>6} {:>9} {:>7}  verdict",
        "scenario",
        "faults",
        "events",
        "tasks",
        "lost",
        "doubled",
        "recovery",
        "failed",
        "emails",
        "err-fires",
        "unclean"
    );
    let _ = writeln!(out, "{}", "-".repeat(140));
    let mut failed = 0;
    for row in rows {
        let t = row.tally.clone().unwrap_or_else(|_| empty_tally());
        let misses = row.misses();
        failed += usize::from(!misses.is_empty());
        let _ = writeln!(
            out,
            "{:<32} {:<20} {:>7} {:>7} {:>5} {:>7} {:>8} {:>6} {:>6} {:>9} {:>7}  {}",
            row.scenario,
            row.faults,
            t.events,
            t.tasks,
            t.lost,
            t.doubled,
            recovery_text(t.recovery),
            row.failed,
            row.emails,
            row.error_fires,
            row.unclean_exits,
            if misses.is_empty() { "ok" } else { "FAILED" }
        );
    }
    for row in rows {
        let misses = row.misses();
        let examples = row.tally.as_ref().map(|t| t.examples.clone()).unwrap_or_default();
        if misses.is_empty() && row.notes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{}:", row.scenario);
        for line in misses.iter().chain(&examples).chain(&row.notes) {
            let _ = writeln!(out, "  {line}");
        }
    }
    println!("{out}");
    println!("{} passed, {failed} failed", rows.len() - failed);
    failed == 0
}
