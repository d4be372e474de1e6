//! The daemons as separate processes of the built binaries, for the suites that attack them (`make hostile`,
//! `make chaos`): found beside the suite's own program, started on free ports against the suite's database and
//! broker namespace with their logs in files, signalled, watched for exits and restarted.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The programs the suite runs.
pub const PROGRAMS: [&str; 4] = ["hooks-api-server", "hooks-scheduler", "hooks-pulse-listener", "hooks-render"];

/// The directory holding the daemons built with the suite's profile: the suite's own (`target/<profile>/`), or
/// the one above it for a test program in `target/<profile>/deps/`. Fails naming what is missing and how to build it.
pub fn binaries_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the suite's own program")?;
    let mut dir = exe.parent().context("the suite's program has no directory")?.to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    let missing: Vec<&str> = PROGRAMS.iter().copied().filter(|p| !dir.join(p).is_file()).collect();
    if !missing.is_empty() {
        let release = dir.file_name().is_some_and(|n| n == "release");
        bail!(
            "the daemons to attack are not built: {} missing in {}.\nBuild them first: cargo build{} --bins \
             (make hostile and make chaos do)",
            missing.join(", "),
            dir.display(),
            if release { " --release" } else { "" },
        );
    }
    Ok(dir)
}

/// What the daemons share: the database, broker namespace, crypto key, clients.
#[derive(Clone)]
pub struct Setup {
    /// Where the programs are.
    pub dir: PathBuf,
    /// Where their logs go (one file per daemon).
    pub log_dir: PathBuf,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `PULSE_URL`.
    pub pulse_url: String,
    /// `PULSE_NAMESPACE`.
    pub namespace: String,
    /// `HOOKS_CRYPTO_KEY`.
    pub crypto_key: String,
    /// `HOOKS_STATIC_CLIENTS`.
    pub static_clients: String,
    /// Further variables for every daemon, overriding the defaults above: e.g. `TASKCLUSTER_ROOT_URL` and the
    /// service's credentials (without them tasks go to the embedded sink, in the suite's database).
    pub env: Vec<(String, String)>,
}

/// Which daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// hooks-api-server.
    Api,
    /// hooks-scheduler.
    Scheduler,
    /// hooks-pulse-listener.
    Listener,
}

impl Kind {
    /// Its program's name.
    pub fn program(self) -> &'static str {
        match self {
            Self::Api => "hooks-api-server",
            Self::Scheduler => "hooks-scheduler",
            Self::Listener => "hooks-pulse-listener",
        }
    }
}

/// One running daemon.
pub struct Daemon {
    /// Which one.
    pub kind: Kind,
    /// The address it serves on: the API (api-server) or its operations port (the others).
    pub addr: String,
    child: Child,
    log: PathBuf,
    setup: Setup,
}

impl Daemon {
    /// Starts it on a free port and waits until it answers its health route; it logs to `<program>.log`.
    pub async fn start(kind: Kind, setup: &Setup) -> anyhow::Result<Self> {
        Self::start_logging_to(kind, setup, &format!("{}.log", kind.program())).await
    }

    /// Starts replica `n` of several of the same kind, logging to `<program>-<n>.log`.
    pub async fn start_replica(kind: Kind, n: usize, setup: &Setup) -> anyhow::Result<Self> {
        Self::start_logging_to(kind, setup, &format!("{}-{n}.log", kind.program())).await
    }

    async fn start_logging_to(kind: Kind, setup: &Setup, log_name: &str) -> anyhow::Result<Self> {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let log = setup.log_dir.join(log_name);
        let child = spawn(kind, setup, &addr, &log)?;
        let mut daemon = Self { kind, addr, child, log, setup: setup.clone() };
        daemon.wait_ready().await?;
        Ok(daemon)
    }

    /// Its name in reports: the program, with the replica's log name when there are several.
    pub fn name(&self) -> String {
        self.log.file_stem().map_or_else(|| self.kind.program().to_owned(), |s| s.to_string_lossy().into_owned())
    }

    /// The URL of its health route: ping for the api-server, `__heartbeat__` for the others.
    pub fn health_url(&self) -> String {
        match self.kind {
            Kind::Api => format!("http://{}/api/hooks/v1/ping", self.addr),
            Kind::Scheduler | Kind::Listener => format!("http://{}/__heartbeat__", self.addr),
        }
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = reqwest::Client::new();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited at start-up ({status}); its log: {}", self.kind.program(), self.log.display());
            }
            if let Ok(res) = http.get(self.health_url()).timeout(Duration::from_secs(2)).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{} never answered {}; its log: {}", self.kind.program(), self.health_url(), self.log.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Its exit status, if it exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Kills it with SIGKILL (no chance to finish anything) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends it SIGTERM and waits up to `timeout` for it to exit: its exit status and how long it took, or `None`
    /// when it was still running (it is then killed).
    pub async fn terminate(&mut self, timeout: Duration) -> anyhow::Result<Option<(ExitStatus, Duration)>> {
        let pid = i32::try_from(self.child.id()).context("a process id beyond i32")?;
        let sent = Instant::now();
        kill(Pid::from_raw(pid), Signal::SIGTERM).with_context(|| format!("SIGTERM to {}", self.name()))?;
        while sent.elapsed() < timeout {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some((status, sent.elapsed())));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.kill();
        Ok(None)
    }

    /// Starts it again on the same address (after it exited, or killing it first).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.child = spawn(self.kind, &self.setup, &self.addr, &self.log)?;
        self.wait_ready().await
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Its log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(kind: Kind, setup: &Setup, addr: &str, log: &Path) -> anyhow::Result<Child> {
    let out =
        File::options().create(true).append(true).open(log).with_context(|| format!("opening {}", log.display()))?;
    let err = out.try_clone()?;
    let mut command = Command::new(setup.dir.join(kind.program()));
    command
        .env_clear()
        .env("DATABASE_URL", &setup.database_url)
        .env("HOOKS_NO_MIGRATE", "true")
        .env("HOOKS_CRYPTO_KEY", &setup.crypto_key)
        .env("PULSE_URL", &setup.pulse_url)
        .env("PULSE_NAMESPACE", &setup.namespace)
        .env("RUST_LOG", "warn")
        // Plain log files, without colour codes.
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    match kind {
        Kind::Api => {
            command.env("HOOKS_LISTEN", addr).env("HOOKS_STATIC_CLIENTS", &setup.static_clients);
        }
        Kind::Scheduler => {
            command.env("HOOKS_METRICS_LISTEN", addr);
        }
        Kind::Listener => {
            // Classic queues: lighter on a test broker; a dead-lettered message shows after one delivery.
            command.env("HOOKS_METRICS_LISTEN", addr).env("HOOKS_PULSE_QUEUE_TYPE", "classic");
        }
    }
    // Last, so that a suite may override any of the above (RUST_LOG, the queue type).
    command.envs(setup.env.iter().cloned());
    command.spawn().with_context(|| format!("starting {}", kind.program()))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
