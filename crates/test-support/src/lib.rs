//! Test helpers shared by the workspace's tests: a fresh migrated database per test, and a local server that
//! plays Taskcluster's queue, auth and notify, and the real broker's URL and clean-up.

#![expect(clippy::expect_used, reason = "test helpers fail loudly, saying what broke")]

pub mod broker;
pub mod daemons;
pub mod db;
pub mod docs;
pub mod fake_taskcluster;
pub mod logs;
pub mod otlp;
pub mod publisher;
pub mod templates;
pub mod vhost;

pub use broker::{BrokerCleanup, eventually};
pub use db::TestDb;
pub use fake_taskcluster::{ClientSpec, CreateTaskRequest, CreatedTask, FakeTaskcluster, TaskState};

/// Whether a benchmark program was started by `cargo bench` (which passes `--bench`). `cargo test --all-targets`
/// runs benchmarks too, without it: they should then only say so and stop, so tests stay fast.
pub fn bench_requested() -> bool {
    let requested = std::env::args().any(|a| a == "--bench");
    if !requested {
        println!("a benchmark: run it with `cargo bench` (or `make bench`); nothing measured under `cargo test`");
    }
    requested
}

/// Which scenarios a benchmark program runs: `None` under `cargo test` (see [`bench_requested`]); else a filter
/// from its arguments, which select scenarios whose name contains one of them (none given: every scenario).
pub fn bench_filter() -> Option<impl Fn(&str) -> bool> {
    if !bench_requested() {
        return None;
    }
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    Some(move |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())))
}

/// The test process's renderer: render workers (`hooks-render`, built with the workspace's tests) with the
/// default limits, shared by every test in the process.
pub fn renderer() -> hooks_core::render::Renderer {
    static RENDERER: std::sync::OnceLock<hooks_core::render::Renderer> = std::sync::OnceLock::new();
    RENDERER
        .get_or_init(|| {
            let program = hooks_core::render::default_program()
                .expect("the render worker: build it with `cargo build -p hooks-core --bin hooks-render`");
            hooks_core::render::Renderer::start(program, hooks_core::render::RenderLimits::default())
                .expect("starting the render workers")
        })
        .clone()
}
