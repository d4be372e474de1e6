//! Group commit: the writes of many messages share one transaction, so one fsync serves a batch rather than one
//! message. A batch is whatever is waiting when a writer comes free (no timer: alone, a message waits for no one).
//! If a batch fails, every message in it hears so and retries on its own.

use std::sync::Arc;

use diesel_async::AsyncConnection as _;
use hooks_core::storage::last_fires::record_last_fires_of_existing_hooks;
use hooks_core::storage::pulse::{PulseFire, finish_pulse_fires, insert_pulse_fires};
use hooks_core::storage::{Pool, StorageError};
use hooks_core::{Attempt, FireError, FireOutcome};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinSet;

// Enough to amortise a commit; small enough that one batch's round trips stay short.
const MAX_BATCH: usize = 128;
// Batches written at once, per kind of write.
const WRITERS: usize = 2;

/// Why a batched write failed (the database's message; every message of the batch gets it).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BatchError(String);

impl From<StorageError> for BatchError {
    fn from(e: StorageError) -> Self {
        Self(e.to_string())
    }
}

struct Claim {
    fire: PulseFire,
    done: oneshot::Sender<Result<(), BatchError>>,
}

/// What recording a fire gives back: the fire's own result, or the failure to record it.
pub(crate) type Recorded = Result<Result<FireOutcome, FireError>, BatchError>;

struct Record {
    key: (String, String, String),
    attempt: Attempt,
    done: oneshot::Sender<Recorded>,
}

/// The handle messages write through; cheap to clone.
#[derive(Clone)]
pub(crate) struct Batcher {
    claims: UnboundedSender<Claim>,
    records: UnboundedSender<Record>,
}

fn stopping() -> BatchError {
    BatchError("the listener is stopping".into())
}

impl Batcher {
    /// Starts the writers in `tasks`; they stop when it is dropped.
    pub(crate) fn start(pool: &Pool, tasks: &mut JoinSet<()>) -> Self {
        let (claims, claims_rx) = unbounded_channel();
        let (records, records_rx) = unbounded_channel();
        let (claims_rx, records_rx) = (Arc::new(Mutex::new(claims_rx)), Arc::new(Mutex::new(records_rx)));
        for _ in 0..WRITERS {
            tasks.spawn(write_claims(pool.clone(), claims_rx.clone()));
            tasks.spawn(write_records(pool.clone(), records_rx.clone()));
        }
        Self { claims, records }
    }

    /// Inserts a `pulse_fires` row, committed when this returns.
    pub(crate) async fn insert(&self, fire: PulseFire) -> Result<(), BatchError> {
        let (done, result) = oneshot::channel();
        self.claims.send(Claim { fire, done }).map_err(|_| stopping())?;
        result.await.map_err(|_| stopping())?
    }

    /// Records the attempt as a last fire and marks the message's fire done, in one transaction, committed when
    /// this returns.
    pub(crate) async fn record(&self, g: &str, h: &str, task_id: &str, attempt: Attempt) -> Recorded {
        let (done, result) = oneshot::channel();
        let key = (g.to_owned(), h.to_owned(), task_id.to_owned());
        self.records.send(Record { key, attempt, done }).map_err(|_| stopping())?;
        result.await.map_err(|_| stopping())?
    }
}

/// Takes what is waiting, at most [`MAX_BATCH`]; waits for one when nothing is.
async fn next_batch<T>(jobs: &Mutex<UnboundedReceiver<T>>) -> Option<Vec<T>> {
    let mut jobs = jobs.lock().await;
    let first = jobs.recv().await?;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

async fn write_claims(pool: Pool, jobs: Arc<Mutex<UnboundedReceiver<Claim>>>) {
    while let Some(batch) = next_batch(&jobs).await {
        let fires: Vec<PulseFire> = batch.iter().map(|c| c.fire.clone()).collect();
        let result: Result<(), BatchError> = async {
            let mut conn = pool.get().await.map_err(StorageError::from)?;
            Ok(insert_pulse_fires(&mut conn, &fires).await?)
        }
        .await;
        for claim in batch {
            let _ = claim.done.send(result.clone());
        }
    }
}

async fn write_records(pool: Pool, jobs: Arc<Mutex<UnboundedReceiver<Record>>>) {
    while let Some(batch) = next_batch(&jobs).await {
        let mut keys = Vec::with_capacity(batch.len());
        let mut attempts = Vec::with_capacity(batch.len());
        let mut waiting = Vec::with_capacity(batch.len());
        for record in batch {
            keys.push(record.key);
            attempts.push(record.attempt);
            waiting.push(record.done);
        }
        let mut results = Vec::with_capacity(attempts.len());
        let mut fires = Vec::with_capacity(attempts.len());
        for attempt in attempts {
            let (result, last_fire) = attempt.into_parts();
            results.push(result);
            fires.extend(last_fire);
        }
        let result: Result<Vec<Result<FireOutcome, FireError>>, BatchError> = async {
            let mut conn = pool.get().await.map_err(StorageError::from)?;
            conn.transaction::<_, StorageError, _>(async |tx| {
                record_last_fires_of_existing_hooks(tx, &fires).await?;
                finish_pulse_fires(tx, &keys).await
            })
            .await?;
            Ok(results)
        }
        .await;
        match result {
            Ok(outcomes) => {
                for (done, outcome) in waiting.into_iter().zip(outcomes) {
                    let _ = done.send(Ok(outcome));
                }
            }
            Err(e) => {
                for done in waiting {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
    }
}
