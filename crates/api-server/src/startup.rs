//! Builds the api-server from its settings; `main` and the tests both go through [`Application::build`].

use std::net::TcpListener;
use std::time::Instant;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use hooks_core::{hook_files, shutdown};

use crate::Settings;
use crate::routes;

/// What every request handler shares.
pub struct AppState {
    /// When the process started, for `ping`'s uptime.
    pub started: Instant,
}

/// A built api-server, bound to its port but not yet serving.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Connects and migrates the database, loads hook files, and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = settings.common.database.connect().await.context("preparing the database")?;
        let keyring = settings.common.crypto.keyring()?;
        let denylist = settings.pulse.denylist()?;
        if let Some(dir) = &settings.load_hooks {
            let created = hook_files::load_dir(&pool, &keyring, &denylist, dir, "static/hooks-load-hooks")
                .await
                .with_context(|| format!("loading hooks from {}", dir.display()))?;
            tracing::info!(dir = %dir.display(), ?created, "hook files loaded");
        }
        let listener = TcpListener::bind(&settings.listen).with_context(|| format!("binding {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState { started: Instant::now() });
        let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(routes::configure))
            .listen(listener)?
            // Shutdown is driven by `run_until_stopped`, so SIGTERM and SIGINT are handled the same way everywhere.
            .disable_signals()
            .run();
        tracing::info!(listen = %settings.listen, port, "hooks-api-server listening");
        Ok(Self { port, server })
    }

    /// The port it listens on (useful when the settings said port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting, finishes requests in flight and returns.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let server = self.server;
        let stop = shutdown::signal();
        actix_web::rt::spawn(async move {
            stop.await;
            handle.stop(true).await;
        });
        server.await.context("serving HTTP")
    }
}

/// Builds and runs the api-server until it is told to stop.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    Application::build(settings).await?.run_until_stopped().await
}
