//! `HOOKS_CHAOS=short|full cargo test -p chaos --test chaos`: the fault-injection suite (see the crate's
//! documentation). Its own harness prints one row per scenario and exits non-zero when a scenario lost or doubled
//! a fire, failed a request, mailed an owner or exited uncleanly. Without `HOOKS_CHAOS` it only says how to run it,
//! so that `cargo test --workspace` stays fast.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(form) = chaos::Form::from_env() else {
        println!(
            "chaos: the fault-injection suite runs only when asked: `make chaos` (full, release), `make test` (short, debug) or \
             `make chaos-short` (short, release)"
        );
        return ExitCode::SUCCESS;
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chaos: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(chaos::run(form)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("chaos: {e:#}");
            ExitCode::FAILURE
        }
    }
}
