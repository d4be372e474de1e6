//! `hooks-render`: the render worker the daemons start (see `hooks_core::render::worker_main`); not run by hand.

fn main() -> std::process::ExitCode {
    hooks_core::render::worker_main()
}
