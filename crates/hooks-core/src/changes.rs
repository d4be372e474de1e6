//! Changes to hooks as Postgres announces them: a trigger sends `NOTIFY hooks_changed` with
//! `{"op", "hookGroupId", "hookId"}` on every change to a hook's definition (see the initial migration).
//!
//! Each daemon that reacts to changes subscribes with its reaction (the scheduler wakes, the pulse-listener drops a
//! cached definition and reconciles); this module keeps the LISTEN connection, one of its own outside the pool, and
//! connects it again with backoff whenever it drops.

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use futures::StreamExt as _;
use serde::Deserialize;
use tokio::task::JoinHandle;

use crate::backoff::Backoff;
use crate::{HookKey, SecretString};

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// One hook: created, updated or deleted.
    Hook(HookKey),
    /// Possibly any hook: announcements may have been missed, or one could not be read.
    All,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Announced {
    hook_group_id: String,
    hook_id: String,
}

impl Change {
    /// Reads an announcement `{"hookGroupId", "hookId", …}`: a NOTIFY payload, or the body of a message on the
    /// hook-changed exchanges. Anything else may be about any hook.
    pub fn from_payload(payload: &[u8]) -> Self {
        serde_json::from_slice::<Announced>(payload)
            .ok()
            .and_then(|a| HookKey::parse(&a.hook_group_id, &a.hook_id).ok())
            .map_or(Self::All, Self::Hook)
    }
}

/// Why listening stopped (logged, then listening starts again).
#[derive(Debug, thiserror::Error)]
enum ListenError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("LISTEN hooks_changed failed: {0}")]
    Listen(#[from] diesel::result::Error),
    #[error("the LISTEN connection closed")]
    Closed,
}

/// A running subscription: dropping it stops listening.
#[derive(Debug)]
pub struct Subscription(Option<JoinHandle<()>>);

impl Subscription {
    /// Lets the subscription run for as long as the process does.
    pub fn detach(mut self) {
        self.0 = None;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// LISTENs on `hooks_changed` at `database_url` and calls `react` with each change; each time listening starts
/// (again), first with [`Change::All`], since what changed while nobody listened was missed. `react` runs on the
/// listening task, so it should only signal, forget or send.
pub fn subscribe(database_url: SecretString, react: impl Fn(Change) + Send + Sync + 'static) -> Subscription {
    Subscription(Some(tokio::spawn(async move {
        let mut delays = Backoff::RECONNECT.delays();
        loop {
            let stopped = listen(&database_url, &react).await;
            if stopped.had_listened {
                delays.reset();
            }
            let retry_in = delays.next_delay();
            tracing::warn!(error = %stopped.error, retry_in = ?retry_in, "LISTEN hooks_changed failed; reconnecting");
            tokio::time::sleep(retry_in).await;
        }
    })))
}

/// How listening ended.
struct Stopped {
    /// Whether LISTEN had succeeded: then the backoff starts over.
    had_listened: bool,
    error: ListenError,
}

/// Listens until the connection fails.
async fn listen(database_url: &SecretString, react: &impl Fn(Change)) -> Stopped {
    let unheard = |error: ListenError| Stopped { had_listened: false, error };
    let mut conn = match AsyncPgConnection::establish(database_url.expose()).await {
        Ok(conn) => conn,
        Err(e) => return unheard(e.into()),
    };
    if let Err(e) = diesel::sql_query("LISTEN hooks_changed").execute(&mut conn).await {
        return unheard(e.into());
    }
    react(Change::All);
    let mut notifications = Box::pin(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        match notification {
            Ok(n) => react(Change::from_payload(n.payload.as_bytes())),
            Err(e) => return Stopped { had_listened: true, error: e.into() },
        }
    }
    Stopped { had_listened: true, error: ListenError::Closed }
}
