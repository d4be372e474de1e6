//! Task states for a page of fires: asked of the sink a bounded number at a time, within a time budget, and kept
//! for a short while (a final state for longer, since it never changes), so that a page listed again, or a queue
//! that is slow or down, never makes the listing slow or fail: what is not known in time is `unknown`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use moka::sync::Cache;

use super::{TaskSink, TaskState};
use crate::TaskId;

/// How many states are asked for at once.
const CONCURRENCY: usize = 32;
/// How long a state that may still change is kept.
const LIVE_FOR: Duration = Duration::from_secs(5);
/// How long a final state (completed, failed, exception) is kept.
const FINAL_FOR: Duration = Duration::from_secs(600);
/// The most states kept.
const CAPACITY: u64 = 100_000;

/// Looks task states up through a sink, with a cache; clones share it.
#[derive(Clone)]
pub struct TaskStates {
    sink: Arc<dyn TaskSink>,
    cache: Cache<TaskId, TaskState>,
}

struct ByState;

impl moka::Expiry<TaskId, TaskState> for ByState {
    fn expire_after_create(&self, _: &TaskId, state: &TaskState, _: Instant) -> Option<Duration> {
        Some(if state.is_final() { FINAL_FOR } else { LIVE_FOR })
    }
}

impl TaskStates {
    /// States of the tasks in `sink`.
    pub fn new(sink: Arc<dyn TaskSink>) -> Self {
        Self { sink, cache: Cache::builder().max_capacity(CAPACITY).expire_after(ByState).build() }
    }

    /// The state of each task in `task_ids`, in order: `None` where the sink has no such task, could not say, or
    /// did not answer within `budget`.
    pub async fn states(&self, task_ids: &[TaskId], budget: Duration) -> Vec<Option<TaskState>> {
        let mut states: Vec<Option<TaskState>> = task_ids.iter().map(|id| self.cache.get(id)).collect();
        let missing: Vec<usize> = (0..task_ids.len()).filter(|&i| states[i].is_none()).collect();
        if missing.is_empty() {
            return states;
        }
        let wanted: Vec<TaskId> = missing.iter().map(|&i| task_ids[i].clone()).collect();
        match tokio::time::timeout(budget, self.sink.task_states(&wanted)).await {
            Ok(Some(Ok(found))) => {
                for (&i, state) in missing.iter().zip(found) {
                    if let Some(state) = state {
                        self.cache.insert(task_ids[i].clone(), state);
                    }
                    states[i] = state;
                }
                return states;
            }
            Ok(Some(Err(e))) => {
                tracing::debug!(error = %e, "cannot look task states up");
                return states;
            }
            Err(_) => return states,
            // The sink looks tasks up one by one.
            Ok(None) => {}
        }
        let mut lookups = futures::stream::iter(missing)
            .map(|i| async move { (i, self.sink.task_state(&task_ids[i]).await) })
            .buffer_unordered(CONCURRENCY);
        let deadline = tokio::time::sleep(budget);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => break,
                next = lookups.next() => match next {
                    None => break,
                    Some((i, Ok(Some(state)))) => {
                        self.cache.insert(task_ids[i].clone(), state);
                        states[i] = Some(state);
                    }
                    Some((_, Ok(None))) => {}
                    Some((_, Err(e))) => tracing::debug!(error = %e, "cannot look a task's state up"),
                },
            }
        }
        // Lookups still running are dropped here: their answers would come too late for this page.
        states
    }
}
