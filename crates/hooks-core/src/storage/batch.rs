//! Batched statements: many callers' rows are written (or read) by background tasks, whatever is waiting in one
//! statement (no timer: a caller alone waits for no one). Under load one round trip, and for writes one commit,
//! serve many callers. A batch whose statement fails is written again one item at a time, so one row that cannot
//! be written fails only its own caller.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{Pool, StorageError};

/// Runs a batch as one statement, answering each item in order.
pub type WriteBatch<T, R> =
    for<'c> fn(&'c mut AsyncPgConnection, &'c [T]) -> BoxFuture<'c, Result<Vec<R>, StorageError>>;

struct Pending<T, R> {
    item: T,
    done: oneshot::Sender<Result<R, Arc<StorageError>>>,
}

/// A handle on background writers; clones share them. The writers stop when the last handle is dropped.
pub struct Batcher<T, R> {
    queue: mpsc::UnboundedSender<Pending<T, R>>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Self { queue: self.queue.clone() }
    }
}

impl<T: Send + Sync + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts a writer on the current Tokio runtime, writing at most `max_batch` items per statement.
    pub fn spawn(pool: Pool, max_batch: usize, write: WriteBatch<T, R>) -> Self {
        Self::spawn_writers(pool, max_batch, 1, write)
    }

    /// Starts `writers` writers on the current Tokio runtime, each writing at most `max_batch` items per
    /// statement. While one batch is being written the next can be: more throughput when round trips, not the
    /// database, are the limit.
    pub fn spawn_writers(pool: Pool, max_batch: usize, writers: usize, write: WriteBatch<T, R>) -> Self {
        let (queue, pending) = mpsc::unbounded_channel();
        let pending = Arc::new(Mutex::new(pending));
        for _ in 0..writers.max(1) {
            tokio::spawn(write_batches(pool.clone(), pending.clone(), max_batch.max(1), write));
        }
        Self { queue }
    }

    /// Hands `item` to the background task and waits for its answer. When a batch's statement fails, each of its
    /// items is written again on its own, so an item fails only if it fails alone.
    pub async fn submit(&self, item: T) -> Result<R, Arc<StorageError>> {
        let stopped = || Arc::new(StorageError::Pool("the batch writer stopped".into()));
        let (done, answer) = oneshot::channel();
        self.queue.send(Pending { item, done }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_batches<T: Sync, R>(
    pool: Pool,
    pending: Arc<Mutex<mpsc::UnboundedReceiver<Pending<T, R>>>>,
    max_batch: usize,
    write: WriteBatch<T, R>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    loop {
        // The lock is held while waiting for and taking a batch, not while writing it: another writer takes the
        // next batch meanwhile.
        let taken = pending.lock().await.recv_many(&mut batch, max_batch).await;
        if taken == 0 {
            break;
        }
        let (items, waiting): (Vec<T>, Vec<_>) = batch.drain(..).map(|p| (p.item, p.done)).unzip();
        let written = async {
            let mut conn = pool.get().await?;
            write(&mut conn, &items).await
        };
        match written.await {
            Ok(answers) if answers.len() != waiting.len() => {
                // Say so to every caller rather than leave some unanswered.
                let e = miscounted(waiting.len(), answers.len());
                answer_all(waiting, e);
            }
            Ok(answers) => {
                for (done, answer) in waiting.into_iter().zip(answers) {
                    let _ = done.send(Ok(answer));
                }
            }
            // No connection: writing the items one by one would only ask the pool again, once per item.
            Err(e @ StorageError::Pool(_)) => answer_all(waiting, Arc::new(e)),
            Err(e) if items.len() == 1 => answer_all(waiting, Arc::new(e)),
            Err(e) => {
                tracing::warn!(items = items.len(), error = %e, "batched statement failed; writing its items one by one");
                write_one_by_one(&pool, &items, waiting, write).await;
            }
        }
    }
}

fn answer_all<R>(waiting: Vec<oneshot::Sender<Result<R, Arc<StorageError>>>>, e: Arc<StorageError>) {
    for done in waiting {
        let _ = done.send(Err(e.clone()));
    }
}

// Each item as a batch of one, on one connection while it lasts: the statement that failed may have failed for one
// row (U+0000, a constraint) or for the connection, and either way the others deserve their own answer. Without a
// connection from the pool, the items left all get that error.
async fn write_one_by_one<T: Sync, R>(
    pool: &Pool,
    items: &[T],
    waiting: Vec<oneshot::Sender<Result<R, Arc<StorageError>>>>,
    write: WriteBatch<T, R>,
) {
    let mut conn = None;
    let mut pending = items.iter().zip(waiting);
    while let Some((item, done)) = pending.next() {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match pool.get().await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    let (_, waiting): (Vec<_>, Vec<_>) = pending.unzip();
                    answer_all(std::iter::once(done).chain(waiting).collect(), Arc::new(e.into()));
                    return;
                }
            },
        };
        let answer = match write(c, std::slice::from_ref(item)).await {
            Ok(answers) if answers.len() == 1 => answers.into_iter().next().ok_or_else(|| miscounted(1, 0)),
            Ok(answers) => Err(miscounted(1, answers.len())),
            Err(e) => {
                // A connection that failed a statement may be broken; the next item takes a fresh one.
                conn = None;
                Err(Arc::new(e))
            }
        };
        let _ = done.send(answer);
    }
}

// A bug in `write`: it answered a different number of items than it was given.
fn miscounted(items: usize, answers: usize) -> Arc<StorageError> {
    Arc::new(StorageError::Corrupt {
        what: "a batched statement".into(),
        problem: format!("{items} items got {answers} answers"),
    })
}
