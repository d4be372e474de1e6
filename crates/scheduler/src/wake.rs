//! Wake-ups on hook changes: every change announced on `hooks_changed` wakes a worker to read the earliest slot
//! again (a new or updated hook may be due before the one it sleeps for).

use std::sync::Arc;

use hooks_core::{SecretString, changes};
use tokio::sync::Notify;

/// Starts listening for the rest of the process; the returned `Notify` is signalled on every change, and each time
/// listening starts again (changes may have been missed meanwhile).
pub fn listen(database_url: String) -> Arc<Notify> {
    let wake = Arc::new(Notify::new());
    let signal = wake.clone();
    changes::subscribe(SecretString::new(database_url), move |_| signal.notify_one()).detach();
    wake
}
