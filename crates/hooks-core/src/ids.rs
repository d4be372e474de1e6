//! Identifiers, parsed once: holding a [`HookGroupId`], [`HookId`] or [`TaskId`] means it is valid.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::error::static_regex;

/// The longest hookGroupId or hookId accepted, as upstream since v55.3.1.
pub(crate) const MAX_ID_LENGTH: usize = 1000;

static HOOK_GROUP_ID: LazyLock<Regex> = LazyLock::new(|| static_regex(r"^[a-zA-Z0-9_-]+$"));
static HOOK_ID: LazyLock<Regex> = LazyLock::new(|| static_regex(r"^[a-zA-Z0-9_/-]+$"));
// Taskcluster's slugid pattern: a v4 UUID in url-safe base64 without padding.
static SLUGID: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}[AQgw]$"));

fn parse_id(field: &str, value: &str, pattern: &Regex, allowed: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    crate::error::check_max_chars(field, value, MAX_ID_LENGTH)?;
    if !pattern.is_match(value) {
        return Err(ValidationError::new(
            field,
            format!("{value:?} must match regular expression {}: only {allowed} are allowed", pattern.as_str()),
        ));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// A hook group's id: 1–1000 of `a-z A-Z 0-9 _ -`.
    HookGroupId
);
string_id!(
    /// A hook's id within its group: 1–1000 of `a-z A-Z 0-9 _ - /`.
    HookId
);
string_id!(
    /// A Taskcluster task id (a slugid).
    TaskId
);

impl HookGroupId {
    /// Parses a hookGroupId.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        parse_id("hookGroupId", s, &HOOK_GROUP_ID, "letters, digits, '_' and '-'")?;
        Ok(Self(s.to_owned()))
    }
}

impl HookId {
    /// Parses a hookId.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        parse_id("hookId", s, &HOOK_ID, "letters, digits, '_', '-' and '/'")?;
        Ok(Self(s.to_owned()))
    }
}

/// A hook's identity: its group and its id within the group, shown as `group/id` (a group never holds `/`, so the
/// text is unambiguous). What travels below the API edge instead of two strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HookKey {
    /// The hook's group.
    pub group: HookGroupId,
    /// The hook's id within the group.
    pub id: HookId,
}

impl HookKey {
    /// The key of hook `id` in `group`.
    pub fn new(group: HookGroupId, id: HookId) -> Self {
        Self { group, id }
    }

    /// Parses both parts, naming the one that is invalid.
    pub fn parse(group: &str, id: &str) -> Result<Self, ValidationError> {
        Ok(Self { group: HookGroupId::parse(group)?, id: HookId::parse(id)? })
    }

    /// Both parts as text, as the tables' primary key (hook_group_id, hook_id) takes them.
    pub(crate) fn as_strs(&self) -> (&str, &str) {
        (self.group.as_str(), self.id.as_str())
    }

    /// A key read back from storage, whose ids were validated when the hook was stored: not checked again.
    pub fn from_stored(group: impl Into<String>, id: impl Into<String>) -> Self {
        Self { group: HookGroupId(group.into()), id: HookId(id.into()) }
    }
}

impl fmt::Display for HookKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.group, self.id)
    }
}

impl TaskId {
    /// Parses a taskId, which must be a slugid (22 characters of url-safe base64 encoding a v4 UUID).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if !SLUGID.is_match(s) {
            return Err(ValidationError::new(
                "taskId",
                format!("{s:?} is not a valid slugid (22 characters of url-safe base64 encoding a v4 UUID)"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// A fresh random task id.
    pub fn generate() -> Self {
        Self(slugid::nice())
    }

    /// A task id derived from 16 random-looking bytes (a keyed hash), shaped as a v4 slugid so the queue accepts it.
    pub fn from_bytes(mut bytes: [u8; 16]) -> Self {
        use base64::Engine as _;
        // Set the UUID version (4) and variant (10xx) bits, and clear the top bit as slugid::nice() does, so
        // the id matches Taskcluster's slugid pattern and never starts with '-'.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        bytes[0] &= 0x7f;
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_key_reads_group_slash_id_and_names_the_invalid_part() {
        assert_eq!(HookKey::parse("g", "a/b").unwrap().to_string(), "g/a/b");
        assert_eq!(HookKey::parse("g/x", "h").unwrap_err().field, "hookGroupId");
        assert_eq!(HookKey::parse("g", "").unwrap_err().field, "hookId");
    }

    #[test]
    fn hook_group_id_accepts_the_upstream_alphabet() {
        for ok in ["a", "my-group_1", &"g".repeat(1000)] {
            assert!(HookGroupId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn hook_group_id_rejects_slash_empty_and_too_long() {
        let e = HookGroupId::parse("foo/slash").unwrap_err();
        assert_eq!(e.field, "hookGroupId");
        assert!(e.problem.contains("must match"), "{e}");
        assert!(HookGroupId::parse("").unwrap_err().problem.contains("empty"));
        let e = HookGroupId::parse(&"g".repeat(1001)).unwrap_err();
        assert!(e.problem.contains("1001 characters"), "{e}");
    }

    #[test]
    fn hook_id_allows_slash_but_not_punctuation() {
        assert!(HookId::parse("bar/slash").is_ok());
        let e = HookId::parse("bar!!!").unwrap_err();
        assert_eq!(e.field, "hookId");
        assert!(e.problem.contains("must match"));
    }

    #[test]
    fn task_id_must_be_a_slugid() {
        let id = TaskId::generate();
        assert!(TaskId::parse(id.as_str()).is_ok());
        assert!(TaskId::parse("not-a-slug").is_err());
        assert!(TaskId::parse("").is_err());
    }

    #[test]
    fn derived_task_ids_are_valid_slugids() {
        for seed in 0u8..=255 {
            let id = TaskId::from_bytes([seed; 16]);
            assert!(TaskId::parse(id.as_str()).is_ok(), "{id}");
        }
    }
}
