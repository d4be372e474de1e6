//! The render worker, `hooks-render`: renders what its daemon sends on stdin and answers on stdout
//! ([`super::protocol`]), one render at a time, under bounds the operating system enforces:
//!
//! - memory: `RLIMIT_AS` is set to the idle worker's address space plus the memory limit, so an allocation past it
//!   fails (and Rust aborts, saying "memory allocation of N bytes failed" on stderr);
//! - CPU: a timer on the process's CPU clock, armed for each render, delivers `SIGXCPU`, which ends the process;
//! - stack: renders run on a thread with a stack of the configured size; a deeper recursion hits its guard page
//!   and Rust aborts ("has overflowed its stack");
//! - output: a reply larger than the output limit is replaced by an error.
//!
//! A failed render looks for where in the template it failed (`render::locate`) until three quarters of its CPU
//! time are spent, and no longer, so the search never takes a render past the limit. A panic inside the json-e
//! crate is caught and answered as an error. Whatever ends the process, the daemon reads why from its exit status
//! and stderr ([`super::pool`]), answers that render with an error naming the bound, and starts a new worker. The
//! worker also exits when its daemon goes (`PR_SET_PDEATHSIG`, and end of stdin), and runs with an empty
//! environment, so it holds none of the daemon's secrets.

use std::io::{BufReader, BufWriter, Read as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{SigEvent, SigSet, SigevNotify, Signal};
use nix::sys::time::TimeSpec;
use nix::sys::timer::{Expiration, Timer, TimerSetTimeFlags};
use nix::time::ClockId;

use super::locate::{Budget, cpu_time};
use super::protocol::{OwnedRequest, Reply, read_frame, write_frame};
use super::{Bound, RenderError, render_task_within};
use crate::TaskId;

/// Printed on stderr, and the exit code, when the daemon sent something that is not a request: a bug, not a
/// template's doing.
pub(super) const EXIT_PROTOCOL: u8 = 3;

/// How the daemon starts a worker: the limits as arguments (the environment is empty).
#[derive(Debug, Parser)]
#[command(name = "hooks-render", about = "Renders JSON-e task templates for a hooks daemon (started by it)")]
struct WorkerArgs {
    /// CPU time per render, in milliseconds.
    #[arg(long)]
    cpu_ms: u64,
    /// Memory per render, in bytes.
    #[arg(long)]
    memory: u64,
    /// Largest reply, in bytes.
    #[arg(long)]
    output: u64,
    /// Stack of the rendering thread, in bytes.
    #[arg(long)]
    stack: u64,
}

/// The worker program's `main`.
pub fn main() -> ExitCode {
    let args = WorkerArgs::parse();
    // Never outlive the daemon's thread that started us, and never write a core file of a template's data.
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    // A panic is answered as an error; its message and backtrace would only fill the daemon's log.
    std::panic::set_hook(Box::new(|_| {}));
    // Ctrl-C at a terminal, or systemd stopping the whole unit, signals every process of the group: the daemon
    // shuts down gracefully and still needs its renders meanwhile. Blocked here (the render thread inherits the
    // mask), the worker ends with its daemon instead: end of stdin, or the parent-death signal.
    let mut stop_signals = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT] {
        stop_signals.add(signal);
    }
    let _ = stop_signals.thread_block();
    let stack = usize::try_from(args.stack).unwrap_or(usize::MAX);
    let thread = std::thread::Builder::new().name("render".into()).stack_size(stack).spawn(move || serve(&args));
    match thread.map(std::thread::JoinHandle::join) {
        Ok(Ok(code)) => code,
        _ => ExitCode::FAILURE,
    }
}

fn serve(args: &WorkerArgs) -> ExitCode {
    // The address space now (the render thread's stack included) plus the memory limit: what a render may reach.
    if let Some(idle) = address_space() {
        let limit = idle.saturating_add(args.memory);
        let _ = setrlimit(Resource::RLIMIT_AS, limit, limit);
    }
    let cpu = SigEvent::new(SigevNotify::SigevSignal { signal: Signal::SIGXCPU, si_value: 0 });
    let mut timer = match Timer::new(ClockId::CLOCK_PROCESS_CPUTIME_ID, cpu) {
        Ok(timer) => timer,
        Err(e) => {
            eprintln!("hooks-render: cannot create the CPU timer: {e}");
            return ExitCode::FAILURE;
        }
    };
    let budget_duration = Duration::from_millis(args.cpu_ms);
    let budget = TimeSpec::from_duration(budget_duration);
    let mut input = BufReader::with_capacity(64 * 1024, std::io::stdin().lock());
    let mut output = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    loop {
        // Reading and parsing the request count against the render's CPU time too: the timer starts first.
        if timer.set(Expiration::OneShot(budget), TimerSetTimeFlags::empty()).is_err() {
            return ExitCode::FAILURE;
        }
        // A failed render may look for where it failed ([`super::locate`]) until three quarters of its CPU time
        // are gone, leaving the rest for answering: never past the limit a render without the search stayed in.
        let locate = cpu_time(ClockId::CLOCK_PROCESS_CPUTIME_ID)
            .map_or(Budget::ThreadCpu(Duration::ZERO), |t| Budget::UntilProcessCpu(t + budget_duration * 3 / 4));
        let frame = match read_frame(&mut input, args.memory) {
            Ok(Some(frame)) => frame,
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hooks-render: unreadable request: {e}");
                return ExitCode::from(EXIT_PROTOCOL);
            }
        };
        // Waiting for the next request must not count: disarm before blocking on stdin again.
        let reply = answer(&frame, args.output, locate);
        let _ = timer.set(Expiration::OneShot(TimeSpec::new(0, 0)), TimerSetTimeFlags::empty());
        drop(frame);
        if write_frame(&mut output, &reply).is_err() {
            return ExitCode::SUCCESS; // the daemon is gone
        }
    }
}

/// Renders one request into the reply's bytes.
fn answer(frame: &[u8], output_limit: u64, locate: Budget) -> Vec<u8> {
    let reply: Reply = match serde_json::from_slice::<OwnedRequest>(frame) {
        Ok(request) => render(request, locate),
        Err(e) => Err(RenderError::Failed(format!("unreadable render request: {e}"))),
    };
    let bytes = serde_json::to_vec(&reply).unwrap_or_default();
    if bytes.len() as u64 > output_limit.saturating_add(1024) || bytes.is_empty() {
        let exceeded: Reply = Err(RenderError::Exceeded(Bound::Output(output_limit)));
        return serde_json::to_vec(&exceeded).unwrap_or_default();
    }
    bytes
}

/// The deepest a rendered task may nest (objects and arrays). The daemon reads the reply with serde_json, which
/// refuses more than 128 levels (the reply's envelope takes one more), and so do the task's readers after it; a
/// deeper task (a `$reduce` wrapping its accumulator, a deep payload placed deep in the template) would otherwise
/// come back unreadable, as if the renderer were broken.
pub(super) const MAX_TASK_NESTING: usize = 100;

fn render(request: OwnedRequest, locate: Budget) -> Reply {
    let OwnedRequest { template, context, task_id, now } = request;
    let task_id = TaskId::parse(&task_id).map_err(|e| RenderError::Failed(format!("bad taskId: {e}")))?;
    let task = catch_unwind(AssertUnwindSafe(|| render_task_within(&template, &context, &task_id, now, locate)))
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            Err(RenderError::Failed(message))
        })?;
    if let Some(task) = &task
        && nesting(task) > MAX_TASK_NESTING
    {
        return Err(RenderError::Failed(format!(
            "the rendered task nests objects and arrays more than {MAX_TASK_NESTING} levels deep"
        )));
    }
    Ok(task)
}

/// How deep `task` nests objects and arrays (the task itself is level 1), without recursing.
fn nesting(task: &serde_json::Map<String, serde_json::Value>) -> usize {
    use serde_json::Value;
    let mut deepest = 1;
    let mut pending: Vec<(&Value, usize)> = task.values().map(|v| (v, 2)).collect();
    while let Some((value, depth)) = pending.pop() {
        match value {
            Value::Array(items) => {
                deepest = deepest.max(depth);
                pending.extend(items.iter().map(|v| (v, depth + 1)));
            }
            Value::Object(fields) => {
                deepest = deepest.max(depth);
                pending.extend(fields.values().map(|v| (v, depth + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// The process's address space in bytes (`VmSize` in /proc/self/status).
fn address_space() -> Option<u64> {
    let mut status = String::new();
    std::fs::File::open("/proc/self/status").ok()?.read_to_string(&mut status).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmSize:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NO_SEARCH: Budget = Budget::ThreadCpu(std::time::Duration::ZERO);

    fn request(template: serde_json::Value) -> OwnedRequest {
        OwnedRequest {
            template: template.as_object().unwrap().clone(),
            context: serde_json::Map::new(),
            task_id: TaskId::generate().to_string(),
            now: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_task_nested_deeper_than_the_daemon_can_read_is_a_render_error() {
        let deep =
            json!({"a": {"$reduce": {"$eval": "range(0, 300)"}, "initial": [], "each(acc, x)": {"$eval": "[acc]"}}});
        let e = render(request(deep), NO_SEARCH).unwrap_err();
        assert!(e.to_string().contains("more than 100 levels deep"), "{e}");
        assert!(!e.is_transient(), "a template's doing, not an unavailable renderer");
        let fine =
            json!({"a": {"$reduce": {"$eval": "range(0, 98)"}, "initial": [], "each(acc, x)": {"$eval": "[acc]"}}});
        assert!(render(request(fine), NO_SEARCH).unwrap().is_some());
    }
}
