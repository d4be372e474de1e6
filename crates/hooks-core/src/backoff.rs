//! The one backoff policy of the service: a first delay, doubled after each failure up to a longest one. Every
//! loop that retries something (a broker connection, a database statement, a queue call, a slot) uses it, so that
//! all retries read and behave alike.

use std::time::Duration;

/// Exponential backoff: `first`, `2 × first`, `4 × first`, … at most `longest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub first: Duration,
    /// The longest delay.
    pub longest: Duration,
}

impl Backoff {
    /// The policy of reconnecting loops (broker, `LISTEN`, failed batches): 100 ms doubling to 10 s.
    pub const RECONNECT: Self = Self::new(Duration::from_millis(100), Duration::from_secs(10));

    /// A policy from `first` doubling to `longest`.
    pub const fn new(first: Duration, longest: Duration) -> Self {
        Self { first, longest }
    }

    /// The delay after `failures` failures in a row (1: the first failure); the first delay for 0.
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.first.saturating_mul(1 << doublings).min(self.longest)
    }

    /// The delays of one run of failures, for a loop that keeps trying: each [`Delays::next_delay`] is the next,
    /// [`Delays::reset`] starts over after a success.
    pub fn delays(&self) -> Delays {
        Delays { policy: *self, failures: 0 }
    }

    /// The same policy as a `backon` builder (with jitter, at most `retries` retries), for calls retried through
    /// that crate.
    pub fn backon(&self, retries: usize) -> backon::ExponentialBuilder {
        backon::ExponentialBuilder::new()
            .with_min_delay(self.first)
            .with_max_delay(self.longest)
            .with_factor(2.0)
            .with_max_times(retries)
            .with_jitter()
    }
}

/// The state of one run of failures under a [`Backoff`].
#[derive(Debug, Clone)]
pub struct Delays {
    policy: Backoff,
    failures: u32,
}

impl Delays {
    /// Counts a failure and gives the delay to wait before trying again.
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.policy.delay(self.failures)
    }

    /// Starts over (after a success).
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_the_first_up_to_the_longest_and_start_over() {
        let ms = Duration::from_millis;
        let policy = Backoff::new(ms(100), ms(1000));
        assert_eq!([0, 1, 2, 3, 4, 5, 99].map(|n| policy.delay(n)), [100, 100, 200, 400, 800, 1000, 1000].map(ms));
        let mut delays = policy.delays();
        assert_eq!((delays.next_delay(), delays.next_delay()), (ms(100), ms(200)));
        delays.reset();
        assert_eq!(delays.next_delay(), ms(100));
        assert_eq!(Backoff::new(Duration::MAX, Duration::MAX).delay(u32::MAX), Duration::MAX, "no overflow");
    }
}
