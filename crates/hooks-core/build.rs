//! Embeds the git commit (for `__version__`): `HOOKS_GIT_COMMIT` when set (container builds, which have no
//! `.git`), else `git rev-parse HEAD`, else `unknown`. `HOOKS_BUILD` names the build (e.g. a CI run's URL).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=HOOKS_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=HOOKS_BUILD");
    let commit = match std::env::var("HOOKS_GIT_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => {
            // Build again when HEAD moves: HEAD itself (a checkout) and the branch it points at (a commit).
            // Only files that exist: cargo takes a missing one as changed, and would rebuild every time.
            for path in [git(&["rev-parse", "--git-path", "HEAD"]), git(&["rev-parse", "--git-path", "packed-refs"])]
                .into_iter()
                .flatten()
                .filter(|p| Path::new(p).exists())
            {
                println!("cargo:rerun-if-changed={path}");
            }
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
                && let Some(path) = git(&["rev-parse", "--git-path", &branch])
                && Path::new(&path).exists()
            {
                println!("cargo:rerun-if-changed={path}");
            }
            git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned())
        }
    };
    let build = std::env::var("HOOKS_BUILD").ok().filter(|b| !b.trim().is_empty()).unwrap_or_else(|| "hooks".into());
    println!("cargo:rustc-env=HOOKS_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=HOOKS_BUILD={build}");
}
