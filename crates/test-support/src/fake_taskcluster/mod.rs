//! A fake Taskcluster deployment (queue, auth and notify) for tests, speaking the real wire protocol.
//!
//! The server runs on its own thread with its own actix `System`, bound to `127.0.0.1:0`, so it
//! works from `#[tokio::test]`s and from plain threads alike; dropping the [`FakeTaskcluster`]
//! stops it and joins the thread.
//!
//! Behaviour follows the Node.js services (taskcluster v106):
//!
//! * Hawk header and bewit authentication with the logic of the auth service's
//!   `signaturevalidator.js` ([`auth`]): `ext` = base64(JSON `{certificate?, authorizedScopes?}`), temporary
//!   credentials (named and unnamed) with certificate signature checks, `authorizedScopes`
//!   (which must be satisfied by the credentials, else authentication fails with 401, exactly as
//!   the real auth service does), role expansion, and the implicit `assume:anonymous` scope.
//! * The API framework's payload-hash check, error bodies and error codes ([`request`], [`framework`]).
//! * `createTask` idempotency (same definition: 200, different definition: 409) and task status, whose state a
//!   test may set ([`queue`]); notify's `email` ([`notify`]).
//!
//! Scope checks:
//!
//! * createTask: a request without credentials gets 403. While no role was ever defined with
//!   [`FakeTaskcluster::set_role`], authenticated requests skip the scope check (authentication,
//!   including the `authorizedScopes` and certificate checks, still applies). Once a role is
//!   defined, the effective scopes (role-expanded) must satisfy every `task.scopes` entry,
//!   `queue:route:<route>` for every `task.routes` entry, and either
//!   `queue:create-task:<taskQueueId>` or `queue:create-task:<priority>:<taskQueueId>` for a
//!   priority at or above the task's (`taskQueueId` may come from `provisionerId/workerType`);
//!   otherwise 403 `InsufficientScopes`. (The real queue also requires
//!   `queue:scheduler-id:<schedulerId>` and `queue:create-task:project:<projectId>`; the fake
//!   does not.)
//! * notify email: always requires `notify:email:<address>`.
//! * Role expansion ([`scopes`]): a held scope grants role `R` if it satisfies `assume:R` (so
//!   `assume:hook-id:*` grants every `hook-id:` role), and a role id ending in `*` is granted to
//!   every `assume:` scope matching its prefix; expansion repeats until nothing new appears.
//!
//! Speed: the fake is fast enough that benchmarks through it measure the caller, not the fake. It serves on
//! several workers; each request is authenticated (every Hawk signature, certificate and `authorizedScopes`
//! verified) against a snapshot of the clients and roles, with no lock held, and one lock is taken only to
//! record what arrived and to keep `createTask` idempotent.

mod auth;
mod framework;
mod notify;
mod queue;
mod request;
mod scopes;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose;
use serde_json::Value;

pub use queue::{CreateTaskRequest, CreatedTask, TaskState};

/// How long an idle client connection stays open: as a deployment's load balancer keeps it (actix's default,
/// 5 s, would close a pool's connections between a scheduler's seconds and hide whether they are reused).
const KEEP_ALIVE: Duration = Duration::from_secs(60);

/// A client known to the fake auth service.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// The clientId.
    pub client_id: String,
    /// The (permanent) access token.
    pub access_token: String,
    /// The client's unexpanded scopes.
    pub scopes: Vec<String>,
}

/// A running fake Taskcluster (queue, auth, notify); stops when dropped.
pub struct FakeTaskcluster {
    addr: SocketAddr,
    clients: Vec<ClientSpec>,
    shared: Arc<Shared>,
    handle: Option<ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

/// What every worker of the server shares.
struct Shared {
    /// Who may call and what they hold. Requests clone the `Arc` and verify against it with no lock held; tests
    /// replace it whole when they define a role.
    directory: RwLock<Arc<Directory>>,
    /// What arrived, what was created, and the failures and delays tests asked for.
    records: Mutex<Records>,
    /// TCP connections accepted since the start.
    connections: AtomicUsize,
}

/// The auth service's clients and roles.
#[derive(Clone, Default)]
struct Directory {
    clients: HashMap<String, ClientSpec>,
    roles: BTreeMap<String, Vec<String>>,
    roles_defined: bool,
}

/// Everything the fake records or was told to do; one lock, held only briefly and never across I/O.
#[derive(Default)]
struct Records {
    queue: queue::QueueRecords,
    /// Bodies of the authenticateHawk requests received (`Value::Null` for one that was not JSON).
    auth_requests: Vec<Value>,
    emails: Vec<Value>,
    notify_failures: VecDeque<(u16, String)>,
}

impl Shared {
    fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The clients and roles as they are now.
    fn directory(&self) -> Arc<Directory> {
        self.directory.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// How many workers serve requests: enough that the fake is not the bottleneck of a benchmark on this machine.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4)
}

impl FakeTaskcluster {
    /// Starts the server with one known client (`ClientSpec`) per entry; panics if `clients` is empty.
    pub fn start(clients: Vec<ClientSpec>) -> Self {
        assert!(!clients.is_empty(), "FakeTaskcluster needs at least one client");
        let directory = Directory {
            clients: clients.iter().map(|c| (c.client_id.clone(), c.clone())).collect(),
            ..Directory::default()
        };
        let shared = Arc::new(Shared {
            directory: RwLock::new(Arc::new(directory)),
            records: Mutex::new(Records::default()),
            connections: AtomicUsize::new(0),
        });
        let data = web::Data::from(shared.clone());
        let counted = shared.clone();

        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("fake-taskcluster".into())
            .spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let bound = HttpServer::new(move || {
                        App::new()
                            .app_data(data.clone())
                            .app_data(web::PayloadConfig::new(10 * 1024 * 1024))
                            .route("/api/queue/v1/ping", web::get().to(framework::ping))
                            .route("/api/auth/v1/ping", web::get().to(framework::ping))
                            .route("/api/notify/v1/ping", web::get().to(framework::ping))
                            .route("/api/queue/v1/task/{taskId}", web::put().to(queue::create_task))
                            .route("/api/queue/v1/task/{taskId}/status", web::get().to(queue::task_status))
                            .route("/api/notify/v1/email", web::post().to(notify::email))
                            .route("/api/auth/v1/authenticate-hawk", web::post().to(auth::authenticate_hawk))
                            .default_service(web::to(framework::not_found))
                    })
                    .on_connect(move |_, _| {
                        counted.connections.fetch_add(1, Ordering::Relaxed);
                    })
                    .workers(workers())
                    .keep_alive(KEEP_ALIVE)
                    .disable_signals()
                    .shutdown_timeout(1)
                    .bind(("127.0.0.1", 0));
                    let bound = match bound {
                        Ok(b) => b,
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let Some(addr) = bound.addrs().first().copied() else {
                        let _ = tx.send(Err("no address bound".to_string()));
                        return;
                    };
                    let server = bound.run();
                    let _ = tx.send(Ok((addr, server.handle())));
                    let _ = server.await;
                });
            })
            .expect("spawn the fake Taskcluster thread");

        let (addr, handle) = match rx.recv() {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => panic!("fake Taskcluster failed to start: {e}"),
            Err(_) => panic!("fake Taskcluster thread exited before starting"),
        };
        FakeTaskcluster { addr, clients, shared, handle: Some(handle), thread: Some(thread) }
    }

    /// Starts with one service client `static/hooks` (random access token) holding ["assume:hook-id:*", "queue:create-task:*", "notify:email:*"].
    pub fn start_default() -> Self {
        Self::start(vec![ClientSpec {
            client_id: "static/hooks".to_string(),
            access_token: random_token(),
            scopes: vec![
                "assume:hook-id:*".to_string(),
                "queue:create-task:*".to_string(),
                "notify:email:*".to_string(),
            ],
        }])
    }

    /// The root URL to give a Taskcluster client, `http://127.0.0.1:<port>`.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The first client passed to [`FakeTaskcluster::start`].
    pub fn service_client(&self) -> &ClientSpec {
        &self.clients[0]
    }

    /// This deployment for the service client, through an HTTP client of its own.
    pub fn deployment(&self) -> hooks_core::Deployment {
        let client = self.service_client();
        let token = hooks_core::SecretString::new(client.access_token.clone());
        hooks_core::Deployment::new(&self.root_url(), &client.client_id, &token, 64)
            .expect("a deployment for the fake's root URL")
    }

    /// A queue sink creating tasks here with the service client's credentials; 5xx and network errors are
    /// retried `retries` times, 1 ms apart at first.
    pub fn queue_sink(&self, retries: usize) -> hooks_core::sink::QueueSink {
        let retry = hooks_core::RetryPolicy { retries, base_delay: Duration::from_millis(1), ..Default::default() };
        hooks_core::sink::QueueSink::new(self.deployment(), retry)
    }

    /// How many TCP connections the server accepted since it started (a client that reuses its connections
    /// opens few, whatever the number of requests).
    pub fn connections_accepted(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }
}

impl Drop for FakeTaskcluster {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            // `stop` sends the command synchronously; its future only waits for completion,
            // which joining the thread below does as well.
            drop(handle.stop(true));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn random_token() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut bytes).expect("system randomness");
    general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
