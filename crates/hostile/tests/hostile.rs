//! `cargo test -p hostile --test hostile`: the hostile-input suite (see the crate's documentation). Its own
//! harness prints the table and `N passed, N failed`, and exits non-zero when a case misbehaved.

use std::process::ExitCode;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hostile: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(hostile::run()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("hostile: {e:#}");
            ExitCode::FAILURE
        }
    }
}
