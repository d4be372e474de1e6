//! Names of the listener's objects on the broker, as upstream names them: `queue/<namespace>/<hookGroupId>/<hookId>`.

use sha2::{Digest as _, Sha256};

/// AMQP carries queue and exchange names as short strings of at most 255 bytes.
pub(super) const MAX_NAME_BYTES: usize = 255;

/// The names of one deployment's objects on the broker, all under its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    namespace: String,
}

impl Names {
    /// Names under `namespace` (`PULSE_NAMESPACE`).
    pub fn new(namespace: impl Into<String>) -> Self {
        Self { namespace: namespace.into() }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The durable queue kept for a hook: `queue/<namespace>/<hookGroupId>/<hookId>`. Ids may be 1000 characters
    /// long, more than AMQP allows in a name: a name that would be too long is cut and ends in `~` and a hash of the
    /// ids instead, so it stays unique.
    pub fn hook_queue(&self, hook_group_id: &str, hook_id: &str) -> String {
        let full = format!("queue/{}/{hook_group_id}/{hook_id}", self.namespace);
        if full.len() <= MAX_NAME_BYTES {
            return full;
        }
        let digest = Sha256::digest(format!("{hook_group_id}/{hook_id}").as_bytes());
        let suffix: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let mut end = MAX_NAME_BYTES - 1 - suffix.len();
        while !full.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}~{suffix}", &full[..end])
    }

    /// The queue that holds messages a hook queue overflowed or that kept failing: `queue/<namespace>/dead-letter`.
    pub fn dead_letter_queue(&self) -> String {
        format!("queue/{}/dead-letter", self.namespace)
    }

    /// The three exchanges the api-server announces hook changes on, `exchange/<namespace>/v1/hook-created` etc.
    pub fn hook_changed_exchanges(&self) -> [String; 3] {
        ["hook-created", "hook-updated", "hook-deleted"].map(|e| format!("exchange/{}/v1/{e}", self.namespace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_queues_are_named_as_upstream() {
        let names = Names::new("taskcluster-hooks");
        assert_eq!(names.hook_queue("g", "a/b"), "queue/taskcluster-hooks/g/a/b");
        assert_eq!(names.dead_letter_queue(), "queue/taskcluster-hooks/dead-letter");
        assert_eq!(names.hook_changed_exchanges()[1], "exchange/taskcluster-hooks/v1/hook-updated");
    }

    #[test]
    fn overlong_queue_names_are_cut_and_stay_distinct() {
        let names = Names::new("ns");
        let long = "h".repeat(1000);
        let a = names.hook_queue("g", &long);
        let b = names.hook_queue("g", &format!("{long}x"));
        assert_eq!(a.len(), MAX_NAME_BYTES);
        assert!(a.starts_with("queue/ns/g/hhh"), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, names.hook_queue("g", &long));
    }
}
