//! Error policy.
//!
//! - Storage functions return diesel's own results ([`storage::StorageError`](crate::storage::StorageError) wraps
//!   pool and query failures); nothing above storage matches on SQL details except through its named variants.
//! - The core's public edge speaks in `thiserror` enums named after what failed: [`ValidationError`] for bad
//!   input, [`RenderError`](crate::render::RenderError) for JSON-e, [`CreateTaskError`](crate::sink::CreateTaskError)
//!   for the task sinks, [`FireError`](crate::fire::FireError) for a whole fire.
//! - Binaries use `anyhow` with `.context("what we were doing")`; the api-server maps core errors onto
//!   Taskcluster's error bodies in one place.
//! - A message names the field, says what is wrong with its value and, where it helps, how to fix it. No message
//!   ever carries a secret: access tokens, trigger tokens and keys are [`SecretString`](crate::SecretString)s.

use std::fmt;

/// Bad input: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// Where the problem is, as a dotted path into the input (`metadata.owner`, `schedule[2]`).
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub problem: String,
}

impl ValidationError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { field: field.into(), problem: problem.into() }
    }

    /// The same error, nested under a parent field (`metadata` + `owner` → `metadata.owner`).
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Checks that `value` is at most `max` characters long (counted as JSON Schema counts: code points).
pub(crate) fn check_max_chars(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    let len = value.chars().count();
    if len > max {
        return Err(ValidationError::new(field, format!("is {len} characters long; at most {max} are allowed")));
    }
    Ok(())
}

/// Compiles a regular expression written in this crate's source (never one from input).
#[expect(clippy::expect_used, reason = "a literal pattern that fails to compile is a bug caught by any test")]
pub(crate) fn static_regex(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).expect("a valid literal regex")
}
