//! A daemon's log output, for tests that check what it writes (and what it must never write).

use std::io::Read;
use std::process::Child;
use std::thread::JoinHandle;

/// The output of a child started with piped stdout and stderr, drained all along (a full pipe would stall a
/// chatty process mid-line).
pub struct Output {
    readers: Vec<JoinHandle<String>>,
}

impl Output {
    /// Starts reading `child`'s stdout and stderr; panics if they were not piped.
    pub fn capture(child: &mut Child) -> Self {
        let stdout = child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>);
        let stderr = child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>);
        let readers = [stdout, stderr]
            .into_iter()
            .map(|pipe| {
                let mut pipe = pipe.expect("start the child with piped stdout and stderr");
                std::thread::spawn(move || {
                    let mut text = String::new();
                    let _ = pipe.read_to_string(&mut text);
                    text
                })
            })
            .collect();
        Self { readers }
    }

    /// Everything written, once the child has exited.
    pub fn finish(self) -> String {
        self.readers.into_iter().map(|r| r.join().unwrap_or_default()).collect()
    }
}

/// Panics naming (never showing) each secret that appears in `logs`; also when `logs` is too short to prove
/// anything.
pub fn assert_no_secrets(logs: &str, secrets: &[(&str, &str)]) {
    assert!(logs.lines().count() > 20, "too few log lines to prove anything:\n{logs}");
    let found: Vec<&str> = secrets.iter().filter(|(_, s)| !s.is_empty() && logs.contains(s)).map(|(n, _)| *n).collect();
    assert!(found.is_empty(), "secrets in the logs: {found:?}");
}
