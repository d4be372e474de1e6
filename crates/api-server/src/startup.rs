//! Builds the api-server from its settings; `main` and the tests both go through [`Application::build`].

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use hooks_core::metrics::Metrics;
use hooks_core::pulse::{HookChangePublisher, Names, PublisherTask};
use hooks_core::sink::TaskStates;
use hooks_core::storage::HookFinder;
use hooks_core::{CallFires, Firer, Health, WebhookDeliveries, hook_files, shutdown};

use crate::Settings;
use crate::routes;
use crate::state::AppState;

/// How long a stopping server still tries to publish the hook changes it has not announced yet.
const PUBLISH_GRACE: Duration = Duration::from_secs(5);
/// How often fires left pending by an api-server that stopped are looked for, and how old they must be: older than
/// any call takes, the queue's retries included.
const SETTLE_EVERY: Duration = Duration::from_secs(60);
const SETTLE_AFTER: Duration = Duration::from_secs(10 * 60);
/// How often webhook deliveries left pending past their lease (their api-server stopped) are looked for.
const FINISH_DELIVERIES_EVERY: Duration = Duration::from_secs(30);
/// How long requests in flight at shutdown may take before their connections are closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The CORS, cache and security headers Taskcluster services put on every response (the policy is the text npm's
/// `content-security-policy` makes of upstream's options; it has no `base-uri`, so neither has ours).
fn upstream_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Access-Control-Allow-Origin", "*"))
        .add(("Access-Control-Max-Age", "900"))
        .add(("Access-Control-Allow-Methods", "OPTIONS,GET,HEAD,POST,PUT,DELETE,TRACE,CONNECT"))
        .add(("Access-Control-Request-Method", "*"))
        .add((
            "Access-Control-Allow-Headers",
            "X-Requested-With,Content-Type,Authorization,Accept,Origin,Cache-Control",
        ))
        .add(("Cache-Control", "no-store no-cache must-revalidate"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Content-Security-Policy", "report-uri /__cspreport__;default-src 'none';frame-ancestors 'none';"))
}

/// Idle connections kept to the Taskcluster deployment (queue and auth): about as many calls as are in flight at
/// once under load; more are opened when needed.
const QUEUE_CONNECTIONS: usize = 64;

/// A built api-server, bound to its port but not yet serving.
pub struct Application {
    port: u16,
    server: Server,
    publisher: PublisherTask,
}

impl Application {
    /// Connects and migrates the database, loads hook files, and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = settings.common.database.connect().await.context("preparing the database")?;
        let keyring = Arc::new(settings.common.crypto.keyring()?);
        let deployment = settings.common.taskcluster.deployment(QUEUE_CONNECTIONS)?;
        let sink = settings.common.taskcluster.sink(deployment.as_ref(), &pool);
        let renderer = settings.common.render.renderer()?;
        let denylist = settings.pulse.denylist()?;
        if let Some(dir) = &settings.load_hooks {
            let unusable = if settings.dev { hook_files::Unusable::Replace } else { hook_files::Unusable::Fail };
            let created = hook_files::load_dir(&pool, &keyring, &denylist, dir, "static/hooks-load-hooks", unusable)
                .await
                .with_context(|| format!("loading hooks from {}", dir.display()))?;
            tracing::info!(dir = %dir.display(), ?created, "hook files loaded");
        }
        tokio::spawn(CallFires::settle_periodically(pool.clone(), sink.clone(), SETTLE_EVERY, SETTLE_AFTER));
        let listener = TcpListener::bind(&settings.listen).with_context(|| format!("binding {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let verifier = settings.auth.verifier(deployment.as_ref())?;
        let scopes = crate::auth::EndpointScopes::new().context("endpoint scope templates")?;
        let schemas = crate::schemas::InputSchemas::compile().context("compiling the embedded input schemas")?;
        let (changes, publisher) = HookChangePublisher::start(
            settings.pulse.pulse_url.clone(),
            Names::new(settings.pulse.pulse_namespace.as_str()),
        );
        // One server per process in production; a registry of its own keeps test servers' counts apart.
        let metrics = Metrics::new();
        metrics.register_pool("main", pool.clone());
        let firer = Firer::new(renderer, sink.clone()).with_metrics(metrics.clone());
        let call_fires = CallFires::start(pool.clone());
        let deliveries = WebhookDeliveries::start(pool.clone());
        tokio::spawn(deliveries.clone().finish_periodically(
            keyring.clone(),
            firer.clone(),
            call_fires.clone(),
            FINISH_DELIVERIES_EVERY,
        ));
        let state = web::Data::new(AppState {
            changes,
            verifier,
            scopes,
            trust_proxy: settings.trust_proxy,
            schemas,
            started: Instant::now(),
            firer,
            task_states: TaskStates::new(sink.clone()),
            call_fires,
            deliveries,
            root_url: settings.common.taskcluster.root_url.clone(),
            health: Health::new(pool.clone()),
            hooks: HookFinder::new(pool.clone(), keyring.clone()),
            metrics,
            pool,
            keyring,
            denylist,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(crate::encoding::encode))
                .wrap(from_fn(crate::around_call::around_call))
                .wrap(upstream_headers())
                .wrap(from_fn(crate::metrics::record))
                .configure(routes::configure)
                .configure(crate::ui::configure)
                .default_service(web::to(routes::not_found))
        })
        .listen(listener)?
        // Shutdown is driven by `run_until_stopped`, so SIGTERM and SIGINT are handled the same way everywhere.
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        .run();
        tracing::info!(listen = %settings.listen, port, "hooks-api-server listening");
        Ok(Self { port, server, publisher })
    }

    /// The port it listens on (useful when the settings said port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting (closing the listening socket at once: pausing first
    /// would let connections wait in the kernel's backlog only to be reset at the close), finishes requests in
    /// flight and returns.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let server = self.server;
        let stop = shutdown::signal();
        tokio::spawn(async move {
            stop.await;
            handle.stop(true).await;
        });
        let served = server.await.context("serving HTTP");
        // The server (and with it every handle on the publisher) is gone: flush what is left to announce.
        self.publisher.close(PUBLISH_GRACE).await;
        served
    }
}

/// Builds and runs the api-server until it is told to stop.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    Application::build(settings).await?.run_until_stopped().await
}
