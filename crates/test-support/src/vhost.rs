//! A RabbitMQ virtual host of a test's own, made and dropped with `rabbitmqctl`, so that closing connections "by
//! force" touches only this test's (never another test's or another checkout's on the same broker).

use std::process::Command;

use crate::broker::random_suffix;

/// Runs `rabbitmqctl` with `args`; its standard output, or an error with what it printed.
pub fn rabbitmqctl(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("rabbitmqctl").args(args).output().map_err(|e| {
        anyhow::anyhow!("cannot run rabbitmqctl {args:?}: {e} (RabbitMQ's CLI must be installed beside the broker)")
    })?;
    if !out.status.success() {
        anyhow::bail!(
            "rabbitmqctl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A virtual host `hooks-test-<random>` that user guest may use; deleted (with everything in it) when dropped.
pub struct Vhost(String);

impl Vhost {
    /// Creates it. Panics, saying what failed, when `rabbitmqctl` can't.
    pub fn new() -> Self {
        let name = format!("hooks-test-{}", random_suffix());
        let created = rabbitmqctl(&["add_vhost", &name])
            .and_then(|_| rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]));
        // Made before the check, so that a half-made one is deleted too.
        let vhost = Self(name);
        if let Err(e) = created {
            panic!("{e:#}");
        }
        vhost
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The AMQP URL of the broker on it, as guest.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.0)
    }

    /// Closes every client connection on it, as a broker restart or a network failure would.
    pub fn close_all_connections(&self) -> anyhow::Result<()> {
        rabbitmqctl(&["close_all_connections", "-p", &self.0, "test"]).map(drop)
    }

    /// Closes the connections on it whose client named them `connection_name` (the others stay); how many.
    pub fn close_connections_named(&self, connection_name: &str) -> anyhow::Result<usize> {
        // Tab-separated: the JSON formatter prints pids (`#PID<...>`) that close_connection does not take.
        let listed =
            rabbitmqctl(&["list_connections", "-q", "--no-table-headers", "-p", &self.0, "pid", "client_properties"])?;
        let mut closed = 0;
        for (pid, properties) in listed.lines().filter_map(|l| l.split_once('\t')) {
            // A connection that closed meanwhile is no failure.
            if properties.contains(connection_name) && rabbitmqctl(&["close_connection", pid.trim(), "test"]).is_ok() {
                closed += 1;
            }
        }
        Ok(closed)
    }
}

impl Default for Vhost {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = rabbitmqctl(&["delete_vhost", &self.0]);
    }
}
