//! The nonce cache that refuses a replayed Hawk header.
//!
//! A header is fresh for [`TIMESTAMP_SKEW`](super::TIMESTAMP_SKEW) either side of its timestamp; after that the
//! staleness check refuses it anyway, so an entry is kept only while its timestamp is inside the window. Entries are
//! digests of (clientId, nonce) with the timestamp, so a long id or nonce costs no more memory than a short one, and
//! the cache never holds more than `capacity` of them: past that, the oldest go first (weakening protection for
//! those rather than refusing legitimate traffic). Only requests whose MAC verified are recorded, so strangers can't
//! fill it. The cache is per process: a replay sent to another replica is not caught.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{Authenticated, Caller};

/// One recorded request: its Hawk timestamp (seconds) and a digest of its clientId and nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ReplayKey {
    ts: u64,
    digest: [u8; 16],
}

impl ReplayKey {
    /// The key of a request signed by `client_id` with `nonce` at `ts`.
    pub(crate) fn new(client_id: &str, nonce: &str, ts: u64) -> Self {
        let mut hasher = Sha256::new();
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        hasher.update((client_id.len() as u64).to_be_bytes());
        hasher.update(client_id.as_bytes());
        hasher.update(nonce.as_bytes());
        let full = hasher.finalize();
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&full[..16]);
        Self { ts, digest }
    }
}

/// Remembers recent (clientId, nonce, timestamp) triples.
#[derive(Debug)]
pub(crate) struct ReplayCache {
    window: Duration,
    capacity: usize,
    // Ordered by timestamp, so expiry is one `split_off` and eviction takes the oldest.
    seen: Mutex<BTreeSet<ReplayKey>>,
    // Said once per process: under sustained load every request would say it again.
    warned_full: AtomicBool,
}

/// The default bound: about 6 MB of entries, enough for 290 verified requests a second over 15 minutes.
pub(crate) const DEFAULT_CAPACITY: usize = 1 << 18;

impl ReplayCache {
    /// A cache keeping entries for `window` after their timestamp, at most `capacity` of them.
    pub(crate) fn new(window: Duration, capacity: usize) -> Self {
        Self {
            window,
            capacity: capacity.max(1),
            seen: Mutex::new(BTreeSet::new()),
            warned_full: AtomicBool::new(false),
        }
    }

    /// Records `key` at time `now` (seconds since the epoch); `false` if it was already recorded (a replay).
    pub(crate) fn record(&self, key: ReplayKey, now: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let oldest_fresh = ReplayKey { ts: now.saturating_sub(self.window.as_secs()), digest: [0; 16] };
        *seen = seen.split_off(&oldest_fresh);
        if seen.contains(&key) {
            return false;
        }
        while seen.len() >= self.capacity && seen.pop_first().is_some() {
            if !self.warned_full.swap(true, Ordering::Relaxed) {
                tracing::warn!(capacity = self.capacity, "Hawk nonce cache is full; forgetting its oldest entries");
            }
        }
        seen.insert(key);
        true
    }

    /// Forgets the entry `caller`'s request made, so the same signed request is accepted once more.
    pub(crate) fn forget(&self, caller: &Caller) {
        if let Caller::Client(Authenticated { replay: Some(key), .. }) = caller {
            self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(key);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(900);

    #[test]
    fn the_same_triple_is_refused_the_second_time() {
        let cache = ReplayCache::new(WINDOW, 100);
        let now = 1_000_000;
        assert!(cache.record(ReplayKey::new("c", "n1", now), now));
        assert!(!cache.record(ReplayKey::new("c", "n1", now), now + 1));
        // another nonce, client or timestamp is another request
        assert!(cache.record(ReplayKey::new("c", "n2", now), now));
        assert!(cache.record(ReplayKey::new("d", "n1", now), now));
        assert!(cache.record(ReplayKey::new("c", "n1", now + 1), now));
        assert!(cache.record(ReplayKey::new("cn", "1", now), now), "id and nonce are not simply concatenated");
    }

    #[test]
    fn entries_leave_once_their_timestamp_is_outside_the_window() {
        let cache = ReplayCache::new(WINDOW, 100);
        let ts = 1_000_000;
        assert!(cache.record(ReplayKey::new("c", "n", ts), ts));
        assert!(cache.record(ReplayKey::new("c", "later", ts + 600), ts + 600));
        assert_eq!(cache.len(), 2);
        // at ts + window the first is still fresh (the staleness check allows exactly the window)
        assert!(!cache.record(ReplayKey::new("c", "n", ts), ts + 900));
        assert!(cache.record(ReplayKey::new("c", "x", ts + 901), ts + 901));
        assert_eq!(cache.len(), 2, "the first entry expired");
    }

    #[test]
    fn a_full_cache_forgets_its_oldest_entries() {
        let cache = ReplayCache::new(WINDOW, 3);
        let now = 1_000_000;
        for (i, ts) in [now - 10, now - 5, now].into_iter().enumerate() {
            assert!(cache.record(ReplayKey::new("c", &i.to_string(), ts), now));
        }
        assert!(cache.record(ReplayKey::new("c", "new", now), now));
        assert_eq!(cache.len(), 3);
        assert!(cache.record(ReplayKey::new("c", "0", now - 10), now), "the oldest was evicted");
        assert!(!cache.record(ReplayKey::new("c", "2", now), now), "the newest were kept");
    }

    #[test]
    fn forget_lets_the_same_request_in_once_more() {
        let cache = ReplayCache::new(WINDOW, 10);
        let key = ReplayKey::new("c", "n", 5_000);
        assert!(cache.record(key, 5_000));
        let mut caller = Authenticated::new("c", vec![], None, super::super::Scheme::Header);
        caller.replay = Some(key);
        cache.forget(&Caller::Client(caller));
        assert!(cache.record(key, 5_000));
        assert!(!cache.record(key, 5_000));
    }
}
