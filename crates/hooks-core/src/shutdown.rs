//! Waiting for the signal to stop.

use std::future::Future;

/// Starts listening for SIGTERM (how Kubernetes and systemd stop a process) and SIGINT (Ctrl-C) at once, and
/// returns a future that resolves when either arrives. Listening starts before the future is first polled, so a
/// signal that comes while the daemon is busy is not lost (nor left to its default action, which kills).
pub fn signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received, stopping"),
                    _ = int.recv() => tracing::info!("SIGINT received, stopping"),
                },
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!(error = %e, "cannot listen for signals; stop this process with SIGKILL");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
