//! How calls to the deployment are retried: the `taskcluster` crate's policy (`Retry`, `Backoff`), kept as it was
//! when calls went through that crate.

use std::future::Future;
use std::time::Duration;

use backon::Retryable as _;

use crate::backoff::Backoff;

use super::CallError;

/// Retries of 5xx answers and network errors: exponential backoff doubling from `base_delay` up to `max_delay`,
/// each delay lengthened by a random jitter of up to itself; 4xx answers are never retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try (0: none).
    pub retries: usize,
    /// The first delay.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// The `taskcluster` crate's default: 5 retries from 100 ms, at most 30 s apart.
    fn default() -> Self {
        Self { retries: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// Runs `attempt` until it succeeds, fails for good, or the retries are spent; returns its last result.
    pub(super) async fn run<T, F, Fut>(&self, attempt: F) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let backoff = Backoff::new(self.base_delay, self.max_delay).backon(self.retries);
        attempt.retry(backoff).sleep(tokio::time::sleep).when(CallError::is_retried).await
    }
}
