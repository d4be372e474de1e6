//! The daemon's side of rendering: a [`Renderer`] hands each render to one of its worker processes
//! ([`super::worker`]) and answers with the task, or with an error naming the bound a render went past.
//!
//! Each worker is driven by a thread of its own with plain blocking pipes, not by a Tokio task: the pool then
//! belongs to no runtime (the api-server's actix workers each run one, and stop at different times), and a slow
//! render holds only its thread. A worker that dies or overruns is reaped and replaced on the next render.

use std::io::{BufReader, Read as _, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use chrono::{DateTime, Utc};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use super::protocol::{Reply, Request, encode_frame, read_frame};
use super::worker::EXIT_PROTOCOL;
use super::{Bound, RenderError, RenderLimits};
use crate::TaskId;

/// The worker program's file name.
pub(super) const PROGRAM: &str = "hooks-render";

/// Why the renderer could not start. Says which program and how to provide it.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No worker program where it was looked for.
    #[error(
        "the render worker program was not found (looked for {tried}); install `{PROGRAM}` beside the daemon or set HOOKS_RENDER_WORKER (in a source tree: cargo build -p hooks-core --bin {PROGRAM})"
    )]
    NotFound {
        /// The paths tried.
        tried: String,
    },
    /// The program did not start, or did not render a trivial template.
    #[error("the render worker {program} does not work: {problem}")]
    Broken {
        /// The program.
        program: String,
        /// What went wrong.
        problem: String,
    },
    /// A thread could not be started.
    #[error("cannot start a render thread: {0}")]
    Thread(std::io::Error),
}

/// The worker program beside the running one (or one directory up, where Cargo puts test programs in `deps/`).
pub fn default_program() -> Result<PathBuf, StartError> {
    let exe = std::env::current_exe().map_err(|e| StartError::NotFound { tried: format!("(current program: {e})") })?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let candidates = [Some(dir.join(PROGRAM)), dir.parent().map(|up| up.join(PROGRAM))];
    let candidates: Vec<PathBuf> = candidates.into_iter().flatten().collect();
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| StartError::NotFound {
        tried: candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
    })
}

struct Job {
    request: Vec<u8>,
    reply: oneshot::Sender<Result<Vec<u8>, RenderError>>,
}

/// Renders task templates in worker processes; clones share the workers. The workers stop when the last clone
/// is dropped.
#[derive(Clone)]
pub struct Renderer {
    jobs: mpsc::Sender<Job>,
    limits: Arc<RenderLimits>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Renderer {
    /// Starts `limits.workers` render threads running `program`, after checking that it renders.
    pub fn start(program: PathBuf, limits: RenderLimits) -> Result<Self, StartError> {
        let spawner = Arc::new(Spawner { program, limits: limits.clone() });
        let (jobs, queue) = mpsc::channel();
        let queue = Arc::new(Mutex::new(queue));
        let (ready, started) = mpsc::sync_channel(1);
        for i in 0..limits.workers.max(1) {
            let (queue, spawner) = (queue.clone(), spawner.clone());
            // The first thread checks the program; the daemon does not start without one that renders.
            let ready = (i == 0).then(|| ready.clone());
            std::thread::Builder::new()
                .name(format!("hooks-render-{i}"))
                .spawn(move || drive(&queue, &spawner, ready))
                .map_err(StartError::Thread)?;
        }
        let broken = |problem: String| StartError::Broken { program: spawner.program.display().to_string(), problem };
        match started.recv() {
            Ok(Ok(())) => Ok(Self { jobs, limits: Arc::new(limits) }),
            Ok(Err(problem)) => Err(broken(problem)),
            Err(_) => Err(broken("its render thread stopped".into())),
        }
    }

    /// The bounds renders are held to.
    pub fn limits(&self) -> &RenderLimits {
        &self.limits
    }

    /// Renders `template` with `context` at `now` (see [`super::render_task`]): the task, `None` when the
    /// template declines, or why not.
    pub async fn render(
        &self,
        template: &Map<String, Value>,
        context: &Map<String, Value>,
        task_id: &TaskId,
        now: DateTime<Utc>,
    ) -> Result<Option<Map<String, Value>>, RenderError> {
        let request = request_bytes(template, context, task_id, now)?;
        if request.len() as u64 > self.limits.memory {
            return Err(RenderError::Exceeded(Bound::Memory(self.limits.memory)));
        }
        let stopped = || RenderError::Unavailable("the render threads have stopped".into());
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { request, reply }).map_err(|_| stopped())?;
        let bytes = answer.await.map_err(|_| stopped())??;
        decode(&bytes)
    }
}

fn request_bytes(
    template: &Map<String, Value>,
    context: &Map<String, Value>,
    task_id: &TaskId,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, RenderError> {
    let request = Request { template, context, task_id: task_id.as_str(), now };
    encode_frame(&request).map_err(|e| RenderError::Failed(format!("cannot encode the render request: {e}")))
}

fn decode(bytes: &[u8]) -> Result<Option<Map<String, Value>>, RenderError> {
    serde_json::from_slice::<Reply>(bytes)
        .map_err(|e| RenderError::Unavailable(format!("the render worker answered something unreadable: {e}")))?
}

/// One render thread: starts its worker, then takes the next job, renders it in its worker, and replaces the
/// worker when it dies. Workers are started here, never on a caller's thread: a worker is killed when the thread
/// that started it ends (`PR_SET_PDEATHSIG`), and a caller's thread may end any time.
fn drive(queue: &Mutex<mpsc::Receiver<Job>>, spawner: &Spawner, ready: Option<mpsc::SyncSender<Result<(), String>>>) {
    let mut worker = spawner.spawn().ok();
    if let Some(ready) = ready {
        // One render of `{}`, so that a missing or wrong program stops the daemon at start-up, not its fires.
        let checked = match worker.as_mut() {
            Some(w) => request_bytes(&Map::new(), &Map::new(), &TaskId::generate(), Utc::now())
                .and_then(|probe| w.render(&probe, &spawner.limits))
                .and_then(|reply| decode(&reply))
                .map(drop)
                .map_err(|e| e.to_string()),
            None => spawner.spawn().map(drop).map_err(|e| e.to_string()),
        };
        let failed = checked.is_err();
        let _ = ready.send(checked);
        if failed {
            return;
        }
    }
    loop {
        // The lock is held only while waiting for a job; a poisoned lock still holds a usable receiver.
        let job = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv();
        let Ok(job) = job else { return };
        if job.reply.is_closed() {
            continue; // its caller gave up
        }
        let mut current = match worker.take() {
            Some(w) => w,
            None => match spawner.spawn() {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a render worker");
                    let _ = job.reply.send(Err(RenderError::Unavailable(e.to_string())));
                    continue;
                }
            },
        };
        let answer = current.render(&job.request, &spawner.limits);
        if answer.is_ok() {
            worker = Some(current);
        }
        let _ = job.reply.send(answer);
    }
}

/// Starts worker processes.
struct Spawner {
    program: PathBuf,
    limits: RenderLimits,
}

impl Spawner {
    fn spawn(&self) -> std::io::Result<Worker> {
        let l = &self.limits;
        let mut child = Command::new(&self.program)
            .args(["--cpu-ms", &l.cpu.as_millis().to_string(), "--memory", &l.memory.to_string()])
            .args(["--output", &l.output.to_string(), "--stack", &l.stack.to_string()])
            // No secret of the daemon's reaches a worker. One malloc arena: each extra arena reserves 64 MiB of
            // address space, which would count against the worker's memory limit.
            .env_clear()
            .env("MALLOC_ARENA_MAX", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("the worker's pipes were not set up"));
        };
        Ok(Worker { child, stdin, stdout: BufReader::with_capacity(64 * 1024, stdout), stderr })
    }
}

/// Signals that end a worker only from outside: the worker blocks the others a group may get (SIGINT, SIGTERM),
/// and its own limits end it with SIGXCPU or an abort.
const KILLED_FROM_OUTSIDE: [i32; 3] = [Signal::SIGKILL as i32, Signal::SIGTERM as i32, Signal::SIGINT as i32];

/// A running worker process.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: std::process::ChildStderr,
}

impl Worker {
    /// Sends one request (a whole frame) and waits for its reply. On `Err` the worker is unusable (dead or killed).
    fn render(&mut self, frame: &[u8], limits: &RenderLimits) -> Result<Vec<u8>, RenderError> {
        if self.stdin.write_all(frame).is_err() {
            return Err(self.died(limits));
        }
        if !self.reply_within(limits.wall_time()) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let ms = u64::try_from(limits.wall_time().as_millis()).unwrap_or(u64::MAX);
            return Err(RenderError::Exceeded(Bound::WallMillis(ms)));
        }
        match read_frame(&mut self.stdout, limits.output.saturating_add(64 * 1024)) {
            Ok(Some(reply)) => Ok(reply),
            Ok(None) | Err(_) => Err(self.died(limits)),
        }
    }

    /// Whether a reply (or the end of the worker) is there to read within `wait`.
    fn reply_within(&self, wait: Duration) -> bool {
        if !self.stdout.buffer().is_empty() {
            return true;
        }
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        loop {
            let mut fds = [PollFd::new(self.stdout.get_ref().as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(0) => return false,
                Ok(_) => return true,
                Err(nix::errno::Errno::EINTR) => continue,
                // Let the read find out what is wrong.
                Err(_) => return true,
            }
        }
    }

    /// Reaps a worker that stopped answering and says why, from its exit status and what it printed.
    fn died(&mut self, limits: &RenderLimits) -> RenderError {
        let _ = self.child.kill();
        let status = self.child.wait();
        let mut said = String::new();
        let _ = (&mut self.stderr).take(16 * 1024).read_to_string(&mut said);
        let signal = status.as_ref().ok().and_then(|s| s.signal());
        let error = if signal == Some(Signal::SIGXCPU as i32) {
            let ms = u64::try_from(limits.cpu.as_millis()).unwrap_or(u64::MAX);
            RenderError::Exceeded(Bound::CpuMillis(ms))
        } else if said.contains("memory allocation of") || said.contains("capacity overflow") {
            RenderError::Exceeded(Bound::Memory(limits.memory))
        } else if said.contains("has overflowed its stack") {
            RenderError::Exceeded(Bound::Stack(limits.stack))
        } else if status.as_ref().ok().and_then(|s| s.code()) == Some(i32::from(EXIT_PROTOCOL)) {
            RenderError::Unavailable(format!("the render worker could not read its request: {}", said.trim()))
        } else if let Some(signal) = signal.filter(|s| KILLED_FROM_OUTSIDE.contains(s)) {
            // Not the template's doing (an operator, the OOM killer): worth a retry, not an error for the hook.
            RenderError::Unavailable(format!("the render worker was killed (signal {signal})"))
        } else {
            let how = status.map_or_else(|e| e.to_string(), |s| s.to_string());
            RenderError::Failed(format!("the render worker stopped ({how})"))
        };
        tracing::warn!(%error, "a render worker stopped; starting another");
        error
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing stdin ends an idle worker; kill covers a busy one. Reaped, so no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
