//! What one render may cost, and the flags that set it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};

const MIB: u64 = 1024 * 1024;

/// The bounds every render is held to (by the worker process and the operating system, see [`super::worker_main`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderLimits {
    /// CPU time of one render, parsing its input included.
    pub cpu: Duration,
    /// Memory one render may take beyond what the idle worker holds.
    pub memory: u64,
    /// The rendered task's size as JSON.
    pub output: u64,
    /// The render's stack, which bounds how deep JSON-e may recurse.
    pub stack: u64,
    /// How many renders run at once (one worker process each).
    pub workers: usize,
}

impl Default for RenderLimits {
    fn default() -> Self {
        Self { cpu: Duration::from_millis(200), memory: 64 * MIB, output: MIB, stack: 16 * MIB, workers: 2 }
    }
}

impl RenderLimits {
    /// How long a worker may take to answer, in real time, before it is killed: a backstop for a worker that
    /// stops without using CPU (the CPU limit is what normally ends a long render). Generous, because on a
    /// loaded machine a render's CPU time and real time differ a lot (seen: 200 ms of CPU taking over 2 s with
    /// the two cores shared by nine busy processes).
    pub fn wall_time(&self) -> Duration {
        (self.cpu * 50).max(Duration::from_secs(10))
    }
}

/// One of the bounds, as a render error names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bound {
    /// CPU time, in milliseconds.
    CpuMillis(u64),
    /// Memory, in bytes.
    Memory(u64),
    /// Output, in bytes.
    Output(u64),
    /// Stack, in bytes: the template or its input nests too deep.
    Stack(u64),
    /// Real time, in milliseconds.
    WallMillis(u64),
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::CpuMillis(ms) => write!(f, "{ms} ms CPU time limit"),
            Self::Memory(bytes) => write!(f, "{} memory limit", Size(bytes)),
            Self::Output(bytes) => write!(f, "{} output limit (the rendered task is larger)", Size(bytes)),
            Self::Stack(bytes) => write!(f, "{} stack limit (the template or its input nests too deep)", Size(bytes)),
            Self::WallMillis(ms) => write!(f, "{ms} ms time limit (the renderer did not answer)"),
        }
    }
}

/// A byte count as people read it: `64 MiB`, `512 KiB`, `100 bytes`.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            b if b >= MIB && b % MIB == 0 => write!(f, "{} MiB", b / MIB),
            b if b >= 1024 && b % 1024 == 0 => write!(f, "{} KiB", b / 1024),
            b => write!(f, "{b} bytes"),
        }
    }
}

/// The render bounds and the worker program, as flags (every daemon that renders takes them).
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// CPU time one render may use, in milliseconds; past it the render fails and its worker is replaced.
    #[arg(long, env = "HOOKS_RENDER_CPU_MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub render_cpu_ms: u64,
    /// Memory one render may use, in MiB.
    #[arg(long, env = "HOOKS_RENDER_MEMORY_MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(8..))]
    pub render_memory_mib: u64,
    /// Largest rendered task, in KiB of JSON.
    #[arg(long, env = "HOOKS_RENDER_OUTPUT_KIB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub render_output_kib: u64,
    /// The render's stack, in MiB: bounds how deep a template may nest.
    #[arg(long, env = "HOOKS_RENDER_STACK_MIB", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub render_stack_mib: u64,
    /// Renders at once, each in a worker process of its own; default: the number of CPUs.
    #[arg(long, env = "HOOKS_RENDER_WORKERS")]
    pub render_workers: Option<usize>,
    /// The render worker program; default: `hooks-render` beside this program.
    #[arg(long, env = "HOOKS_RENDER_WORKER")]
    pub render_worker: Option<PathBuf>,
}

impl RenderArgs {
    /// The limits these flags set.
    pub fn limits(&self) -> RenderLimits {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        RenderLimits {
            cpu: Duration::from_millis(self.render_cpu_ms),
            memory: self.render_memory_mib * MIB,
            output: self.render_output_kib * 1024,
            stack: self.render_stack_mib * MIB,
            workers: self.render_workers.unwrap_or(cpus).max(1),
        }
    }

    /// Starts the daemon's renderer.
    pub fn renderer(&self) -> Result<super::Renderer, super::pool::StartError> {
        let program = match &self.render_worker {
            Some(path) => path.clone(),
            None => super::pool::default_program()?,
        };
        super::Renderer::start(program, self.limits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_read_as_people_write_them() {
        assert_eq!(Bound::Memory(64 * MIB).to_string(), "64 MiB memory limit");
        assert_eq!(Bound::CpuMillis(200).to_string(), "200 ms CPU time limit");
        assert_eq!(Bound::Output(512 * 1024).to_string(), "512 KiB output limit (the rendered task is larger)");
        assert_eq!(Size(100).to_string(), "100 bytes");
    }
}
