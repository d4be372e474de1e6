//! Random fault timing and victims, from the system's randomness (the suite needs no reproducible seed: each
//! fault's time is printed).

use std::time::Duration;

use ring::rand::{SecureRandom as _, SystemRandom};

/// A random number below `n` (0 when `n` is 0).
pub fn below(n: u64) -> u64 {
    let mut bytes = [0u8; 8];
    // The system's randomness does not fail on Linux; were it to, the first choice is as good a fault time.
    let _ = SystemRandom::new().fill(&mut bytes);
    u64::from_le_bytes(bytes).checked_rem(n).unwrap_or(0)
}

/// A random duration in `[low, high)`.
pub fn between(low: Duration, high: Duration) -> Duration {
    let span = u64::try_from(high.saturating_sub(low).as_millis()).unwrap_or(u64::MAX);
    low + Duration::from_millis(below(span))
}
