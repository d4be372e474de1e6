//! Group commit: the writes of many messages share one transaction, so one fsync serves a batch rather than one
//! message. A batch is whatever is waiting when a writer comes free (no timer: alone, a message waits for no one).
//! If a batch fails, every message in it hears so and retries on its own.

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use futures::future::BoxFuture;
use hooks_core::storage::{
    self, FireEvent, LastFire, Pool, PulseFire, StorageError, finish_pulse_fires, insert_pulse_fires,
    record_fire_events, record_last_fires_of_existing_hooks,
};
use hooks_core::{Attempt, FireError, FireOutcome, HookKey};

// Enough to amortise a commit; small enough that one batch's round trips stay short.
const MAX_BATCH: usize = 128;
// Batches written at once, per kind of write.
const WRITERS: usize = 2;

/// Why a batched write failed (every message of the batch gets the same error).
pub(crate) type BatchError = std::sync::Arc<StorageError>;

/// What recording a fire gives back: the fire's own result, or the failure to record it.
pub(crate) type Recorded = Result<Result<FireOutcome, FireError>, BatchError>;

/// A message's fire, done: its `pulse_fires` key (the hook and the taskId) and its last fire (none when the
/// template declined).
struct Finished {
    key: Option<(HookKey, String)>,
    last_fire: Option<LastFire>,
    event: FireEvent,
}

/// The handle messages write through; cheap to clone.
#[derive(Clone)]
pub(crate) struct Batcher {
    claims: storage::Batcher<PulseFire, ()>,
    records: storage::Batcher<Finished, ()>,
}

impl Batcher {
    /// Starts the writers on the current Tokio runtime; they stop when the last handle is dropped.
    pub(crate) fn start(pool: &Pool) -> Self {
        Self {
            claims: storage::Batcher::spawn_writers(pool.clone(), MAX_BATCH, WRITERS, write_claims),
            records: storage::Batcher::spawn_writers(pool.clone(), MAX_BATCH, WRITERS, write_records),
        }
    }

    /// Inserts a `pulse_fires` row, committed when this returns.
    pub(crate) async fn insert(&self, fire: PulseFire) -> Result<(), BatchError> {
        self.claims.submit(fire).await
    }

    /// Records the attempt as a last fire and marks the message's fire done, in one transaction, committed when
    /// this returns.
    pub(crate) async fn record(&self, hook: &HookKey, task_id: &str, attempt: Attempt) -> Recorded {
        let (result, last_fire, event) = attempt.into_parts();
        let key = Some((hook.clone(), task_id.to_owned()));
        self.records.submit(Finished { key, last_fire, event }).await?;
        Ok(result)
    }

    /// Records a fire-log event of a message that did not fire (refused, dead-lettered), committed when this
    /// returns.
    pub(crate) async fn log(&self, event: FireEvent) -> Result<(), BatchError> {
        self.records.submit(Finished { key: None, last_fire: None, event }).await
    }
}

fn write_claims<'c>(
    conn: &'c mut AsyncPgConnection,
    fires: &'c [PulseFire],
) -> BoxFuture<'c, Result<Vec<()>, StorageError>> {
    Box::pin(async move {
        insert_pulse_fires(conn, fires).await?;
        Ok(vec![(); fires.len()])
    })
}

fn write_records<'c>(
    conn: &'c mut AsyncPgConnection,
    finished: &'c [Finished],
) -> BoxFuture<'c, Result<Vec<()>, StorageError>> {
    Box::pin(async move {
        let fires: Vec<LastFire> = finished.iter().filter_map(|f| f.last_fire.clone()).collect();
        let events: Vec<FireEvent> = finished.iter().map(|f| f.event.clone()).collect();
        let keys: Vec<(HookKey, String)> = finished.iter().filter_map(|f| f.key.clone()).collect();
        conn.transaction::<_, StorageError, _>(async |tx| {
            record_last_fires_of_existing_hooks(tx, &fires).await?;
            record_fire_events(tx, &events).await?;
            finish_pulse_fires(tx, &keys).await
        })
        .await?;
        Ok(vec![(); finished.len()])
    })
}
