//! The results: per category, the cases tried, refused correctly, answered otherwise, answered 5xx, and the
//! daemons that exited; then whether each daemon still answers and the good traffic kept working; then one line
//! `N passed, N failed`.

use std::fmt::Write as _;

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// As expected (the expected 4xx, error row, dead-lettering...).
    Expected,
    /// A 5xx answer.
    ServerError(String),
    /// Anything else unexpected: another status, message or row, no answer, a timeout.
    Unexpected(String),
}

/// The cases of one category.
#[derive(Debug, Default)]
pub struct Category {
    /// Its name.
    pub name: String,
    /// Each case's name and outcome.
    pub cases: Vec<(String, Outcome)>,
    /// Daemon exits while it ran.
    pub crashes: usize,
}

impl Category {
    /// An empty category.
    pub fn new(name: &str) -> Self {
        Self { name: name.to_owned(), ..Self::default() }
    }

    /// Records a case.
    pub fn add(&mut self, case: &str, outcome: Outcome) {
        let mark = match &outcome {
            Outcome::Expected => "ok ".to_owned(),
            Outcome::ServerError(why) => format!("5XX {why}"),
            Outcome::Unexpected(why) => format!("BAD {why}"),
        };
        println!("  [{}] {case}: {mark}", self.name);
        self.cases.push((case.to_owned(), outcome));
    }

    fn count(&self, pick: impl Fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|(_, o)| pick(o)).count()
    }
}

/// A check of the run as a whole (a daemon answering, good traffic flowing).
#[derive(Debug)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// What was seen.
    pub seen: String,
    /// Whether it held.
    pub ok: bool,
}

/// Prints the report; returns (passed, failed): each case and each check counts once, and a category with a
/// crash fails once more.
pub fn print(categories: &[Category], checks: &[Check]) -> (usize, usize) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<34} {:>6} {:>11} {:>11} {:>5} {:>8}",
        "category", "tried", "refused ok", "unexpected", "5xx", "crashes"
    );
    let _ = writeln!(out, "{}", "-".repeat(80));
    let (mut passed, mut failed) = (0, 0);
    for c in categories {
        let ok = c.count(|o| *o == Outcome::Expected);
        let five = c.count(|o| matches!(o, Outcome::ServerError(_)));
        let other = c.count(|o| matches!(o, Outcome::Unexpected(_)));
        let _ =
            writeln!(out, "{:<34} {:>6} {:>11} {:>11} {:>5} {:>8}", c.name, c.cases.len(), ok, other, five, c.crashes);
        passed += ok;
        failed += five + other + usize::from(c.crashes > 0);
    }
    let _ = writeln!(out, "\n{:<44} seen", "still working");
    let _ = writeln!(out, "{}", "-".repeat(80));
    for check in checks {
        let mark = if check.ok { "ok" } else { "FAILED" };
        let _ = writeln!(out, "{:<44} {} ({mark})", check.what, check.seen);
        if check.ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    let failures: Vec<String> = categories
        .iter()
        .flat_map(|c| {
            c.cases.iter().filter_map(move |(case, o)| match o {
                Outcome::Expected => None,
                Outcome::ServerError(why) | Outcome::Unexpected(why) => Some(format!("  {} / {case}: {why}", c.name)),
            })
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\ncases that misbehaved:\n{}", failures.join("\n"));
    }
    println!("{out}");
    println!("{passed} passed, {failed} failed");
    (passed, failed)
}
