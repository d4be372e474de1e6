//! Batched statements: many callers' rows are written (or read) by background tasks, whatever is waiting in one
//! statement (no timer: a caller alone waits for no one). Under load one round trip, and for writes one commit,
//! serve many callers.

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

    /// Hands `item` to the background task and waits for its answer. A failed statement fails every item in it.
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
                // A bug in `write`; say so to every caller rather than leave some unanswered.
                let e = Arc::new(StorageError::Corrupt {
                    what: "a batched statement".into(),
                    problem: format!("{} items got {} answers", waiting.len(), answers.len()),
                });
                for done in waiting {
                    let _ = done.send(Err(e.clone()));
                }
            }
            Ok(answers) => {
                for (done, answer) in waiting.into_iter().zip(answers) {
                    let _ = done.send(Ok(answer));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for done in waiting {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
    }
}
