//! Checks that the configuration reference (`docs/configuration.md`) documents every flag and variable a binary
//! takes, so the reference cannot fall behind the code.

use std::path::PathBuf;

/// The workspace's `docs/configuration.md`.
fn configuration_reference() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every long flag (as `` `--flag` ``) and environment variable (as `` `VAR` ``) of `command` and its subcommands
/// that the reference does not mention.
pub fn undocumented(command: &clap::Command) -> Vec<String> {
    let reference = configuration_reference();
    let mut missing = Vec::new();
    collect(command, &reference, &mut missing);
    missing
}

fn collect(command: &clap::Command, reference: &str, missing: &mut Vec<String>) {
    for arg in command.get_arguments() {
        if let Some(long) = arg.get_long()
            && !matches!(long, "help" | "version")
            && !reference.contains(&format!("`--{long}`"))
        {
            missing.push(format!("{}: `--{long}`", command.get_name()));
        }
        if let Some(env) = arg.get_env().and_then(|e| e.to_str())
            && !reference.contains(&format!("`{env}`"))
        {
            missing.push(format!("{}: `{env}`", command.get_name()));
        }
    }
    for sub in command.get_subcommands() {
        if !reference.contains(&format!("{} {}", command.get_name(), sub.get_name())) {
            missing.push(format!("subcommand `{} {}`", command.get_name(), sub.get_name()));
        }
        collect(sub, reference, missing);
    }
}

/// Panics listing what `command` takes that the configuration reference leaves out.
pub fn assert_documented(command: &clap::Command) {
    let missing = undocumented(command);
    assert!(missing.is_empty(), "docs/configuration.md does not mention: {}", missing.join(", "));
}
