//! A fake Taskcluster deployment (queue, auth and notify) for tests, speaking the real wire protocol.
//!
//! The server runs on its own thread with its own actix `System`, bound to `127.0.0.1:0`, so it
//! works from `#[tokio::test]`s and from plain threads alike; dropping the [`FakeTaskcluster`]
//! stops it and joins the thread.
//!
//! Behaviour follows the Node.js services (taskcluster v106):
//!
//! * Hawk header and bewit authentication with the logic of the auth service's
//!   `signaturevalidator.js`: `ext` = base64(JSON `{certificate?, authorizedScopes?}`), temporary
//!   credentials (named and unnamed) with certificate signature checks, `authorizedScopes`
//!   (which must be satisfied by the credentials, else authentication fails with 401, exactly as
//!   the real auth service does), role expansion, and the implicit `assume:anonymous` scope.
//! * The API framework's payload-hash check, error bodies and error codes.
//! * `createTask` idempotency (same definition: 200, different definition: 409).
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
//! * Role expansion: a held scope grants role `R` if it satisfies `assume:R` (so
//!   `assume:hook-id:*` grants every `hook-id:` role), and a role id ending in `*` is granted to
//!   every `assume:` scope matching its prefix; expansion repeats until nothing new appears.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use hooks_core::auth::{Authenticated, InsufficientScopes, Scheme, ScopeExpression};
use hooks_core::auth::{is_valid_scope, satisfies_scope, scope_match};
use serde_json::{Map, Value, json};

/// Hawk timestamp skew the auth service allows (15 minutes).
const TS_SKEW: Duration = Duration::from_secs(15 * 60);
/// Clock skew allowed on certificate start/expiry, in milliseconds.
const CERT_SKEW_MS: f64 = 5.0 * 60.0 * 1000.0;
/// Longest lifetime of a temporary credential, in milliseconds.
const CERT_MAX_MS: f64 = 31.0 * 24.0 * 60.0 * 60.0 * 1000.0;
/// Task priorities, highest first (the queue's `PRIORITY_LEVELS`).
const PRIORITY_LEVELS: [&str; 7] = ["highest", "very-high", "high", "medium", "low", "very-low", "lowest"];
/// The queue's taskId pattern, for error messages.
const SLUGID_PATTERN: &str = "^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}[AQgw]$";

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

/// A task the fake queue accepted.
#[derive(Clone, Debug)]
pub struct CreatedTask {
    /// The taskId from the URL.
    pub task_id: String,
    /// The task definition as sent.
    pub task: Value,
    /// The clientId the request was signed with (for named temporary credentials, the temporary clientId).
    pub client_id: String,
    /// The `authorizedScopes` carried in the request's Hawk `ext`, if any.
    pub authorized_scopes: Option<Vec<String>>,
    /// When the request arrived.
    pub received: DateTime<Utc>,
}

/// One createTask request the fake queue received, whatever its outcome.
#[derive(Clone, Debug)]
pub struct CreateTaskRequest {
    /// The taskId from the URL.
    pub task_id: String,
    /// The request body parsed as JSON (`Value::Null` if it was not JSON).
    pub task: Value,
    /// The Hawk id the request carried (empty if none could be read).
    pub client_id: String,
    /// The `authorizedScopes` carried in the request's Hawk `ext`, if any.
    pub authorized_scopes: Option<Vec<String>>,
    /// The HTTP status the fake answered.
    pub status: u16,
    /// When the request arrived.
    pub received: DateTime<Utc>,
}

/// A running fake Taskcluster (queue, auth, notify); stops when dropped.
pub struct FakeTaskcluster {
    addr: SocketAddr,
    clients: Vec<ClientSpec>,
    state: Arc<Mutex<State>>,
    handle: Option<ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct State {
    clients: HashMap<String, ClientSpec>,
    roles: BTreeMap<String, Vec<String>>,
    roles_defined: bool,
    /// taskId -> (definition, status structure)
    tasks: HashMap<String, (Value, Value)>,
    created: Vec<CreatedTask>,
    requests: Vec<CreateTaskRequest>,
    /// Bodies of the authenticateHawk requests received (`Value::Null` for one that was not JSON).
    auth_requests: Vec<Value>,
    emails: Vec<Value>,
    create_failures: VecDeque<(u16, String)>,
    notify_failures: VecDeque<(u16, String)>,
    create_delay: Duration,
}

struct Shared {
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeTaskcluster {
    /// Starts the server with one known client (`ClientSpec`) per entry; panics if `clients` is empty.
    pub fn start(clients: Vec<ClientSpec>) -> Self {
        assert!(!clients.is_empty(), "FakeTaskcluster needs at least one client");
        let state =
            State { clients: clients.iter().map(|c| (c.client_id.clone(), c.clone())).collect(), ..State::default() };
        let state = Arc::new(Mutex::new(state));
        let shared = web::Data::new(Shared { state: state.clone() });

        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("fake-taskcluster".into())
            .spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let bound = HttpServer::new(move || {
                        App::new()
                            .app_data(shared.clone())
                            .app_data(web::PayloadConfig::new(10 * 1024 * 1024))
                            .route("/api/queue/v1/ping", web::get().to(ping))
                            .route("/api/auth/v1/ping", web::get().to(ping))
                            .route("/api/notify/v1/ping", web::get().to(ping))
                            .route("/api/queue/v1/task/{taskId}", web::put().to(create_task))
                            .route("/api/queue/v1/task/{taskId}/status", web::get().to(task_status_of))
                            .route("/api/notify/v1/email", web::post().to(notify_email))
                            .route("/api/auth/v1/authenticate-hawk", web::post().to(authenticate_hawk))
                            .default_service(web::to(not_found))
                    })
                    .workers(1)
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
        FakeTaskcluster { addr, clients, state, handle: Some(handle), thread: Some(thread) }
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

    /// Tasks created successfully, in arrival order, one entry per taskId (idempotent re-creates are not repeated).
    pub fn created_tasks(&self) -> Vec<CreatedTask> {
        lock(&self.state).created.clone()
    }

    /// How many tasks were created (cheaper than [`FakeTaskcluster::created_tasks`] for polling).
    pub fn created_count(&self) -> usize {
        lock(&self.state).created.len()
    }

    /// Every createTask request received, including failed and injected ones, in arrival order.
    pub fn create_task_requests(&self) -> Vec<CreateTaskRequest> {
        lock(&self.state).requests.clone()
    }

    /// Bodies of every authenticateHawk request received (`Value::Null` for one that was not JSON), in arrival order.
    pub fn authenticate_hawk_requests(&self) -> Vec<Value> {
        lock(&self.state).auth_requests.clone()
    }

    /// Bodies of the notify `email` requests that succeeded, in arrival order.
    pub fn emails(&self) -> Vec<Value> {
        lock(&self.state).emails.clone()
    }

    /// The next `n` createTask calls (after authentication) answer `status` with a Taskcluster error body of `code`.
    pub fn fail_create_task(&self, n: usize, status: u16, code: &str) {
        let mut st = lock(&self.state);
        for _ in 0..n {
            st.create_failures.push_back((status, code.to_string()));
        }
    }

    /// Every later createTask call waits this long before it is handled, like a slow queue.
    pub fn delay_create_task(&self, delay: Duration) {
        lock(&self.state).create_delay = delay;
    }

    /// The next `n` notify email calls (after authentication) answer `status` with a Taskcluster error body of `code`.
    pub fn fail_notify(&self, n: usize, status: u16, code: &str) {
        let mut st = lock(&self.state);
        for _ in 0..n {
            st.notify_failures.push_back((status, code.to_string()));
        }
    }

    /// Waits (async, polling) until at least `n` tasks were created or `timeout` passes; returns the tasks.
    pub async fn wait_for_tasks(&self, n: usize, timeout: Duration) -> Vec<CreatedTask> {
        let deadline = Instant::now() + timeout;
        // Counted under the lock, copied once: copying thousands of tasks every poll would slow the server.
        while self.created_count() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.created_tasks()
    }

    /// Defines a role so `assume:<role>` expands to `scopes`; once any role is set, createTask checks scopes (see the module docs).
    pub fn set_role(&self, role: &str, scopes: Vec<String>) {
        let mut st = lock(&self.state);
        st.roles.insert(role.to_string(), scopes);
        st.roles_defined = true;
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

// ------------------------------------------------------------------------------------------------
// Errors

struct ApiError {
    status: u16,
    code: String,
    message: String,
}

impl ApiError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        let status = match code {
            "MalformedPayload" | "InvalidRequestArguments" | "InputValidationError" | "InputError" => 400,
            "AuthenticationFailed" => 401,
            "InsufficientScopes" => 403,
            "ResourceNotFound" => 404,
            "RequestConflict" => 409,
            "ResourceExpired" => 410,
            "InputTooLarge" => 413,
            _ => 500,
        };
        ApiError { status, code: code.to_string(), message: message.into() }
    }
}

fn now_iso() -> String {
    iso(Utc::now())
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn error_response(method: &str, params: Value, payload: &Value, err: &ApiError) -> HttpResponse {
    let time = now_iso();
    let message = format!(
        "{}\n\n---\n\n* method:     {}\n* errorCode:  {}\n* statusCode: {}\n* time:       {}",
        err.message, method, err.code, err.status, time
    );
    let body = json!({
        "code": err.code,
        "message": message,
        "requestInfo": {
            "method": method,
            "params": params,
            "payload": payload,
            "time": time,
        },
    });
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = HttpResponse::build(status);
    if err.status == 401 {
        resp.insert_header(("www-authenticate", "hawk"));
    }
    resp.json(body)
}

// ------------------------------------------------------------------------------------------------
// Scopes (matching is hooks-core's, so there is one implementation of Taskcluster's rules)

/// Whether the held scope `scope` grants role `role`.
fn grants_role(scope: &str, role: &str) -> bool {
    let assume = format!("assume:{role}");
    if scope_match(scope, &assume) {
        return true;
    }
    // a role whose id ends in `*` is granted to any `assume:` scope matching its prefix
    match assume.strip_suffix('*') {
        Some(prefix) => scope.starts_with(prefix),
        None => false,
    }
}

/// Dedupe, drop scopes covered by another (star) scope, and sort.
fn normalize(scopes: impl IntoIterator<Item = String>) -> Vec<String> {
    let set: BTreeSet<String> = scopes.into_iter().collect();
    let all: Vec<&String> = set.iter().collect();
    set.iter().filter(|s| !all.iter().any(|o| o != s && scope_match(o, s))).cloned().collect()
}

/// Expands `assume:` scopes through the role table until nothing new appears.
fn expand_scopes(scopes: &[String], roles: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut seen: BTreeSet<String> = scopes.iter().cloned().collect();
    let mut granted: BTreeSet<&str> = BTreeSet::new();
    loop {
        let mut added = false;
        for (role, role_scopes) in roles {
            if granted.contains(role.as_str()) {
                continue;
            }
            if seen.iter().any(|s| grants_role(s, role)) {
                granted.insert(role);
                for s in role_scopes {
                    added |= seen.insert(s.clone());
                }
            }
        }
        if !added {
            break;
        }
    }
    normalize(seen)
}

fn with_anonymous(scopes: &[String], roles: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut all = scopes.to_vec();
    all.push("assume:anonymous".to_string());
    expand_scopes(&all, roles)
}

fn js_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Formats a number the way JavaScript's `'' + n` does for the values certificates carry.
fn js_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
            format!("{}", f as i64)
        }
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

fn string_array(v: &Value) -> Option<Vec<String>> {
    v.as_array()?.iter().map(|s| s.as_str().map(str::to_string)).collect()
}

// ------------------------------------------------------------------------------------------------
// Authentication (the auth service's signaturevalidator.js)

/// What the auth service's signature validator is given.
struct AuthInput<'a> {
    method: &'a str,
    resource: &'a str,
    host: &'a str,
    port: u16,
    authorization: Option<&'a str>,
}

enum AuthOutcome {
    Success { client_id: String, scopes: Vec<String>, expires: DateTime<Utc>, hash: Option<String> },
    NoAuth { scopes: Vec<String>, expires: DateTime<Utc> },
    Failed(String),
}

impl AuthOutcome {
    fn to_json(&self) -> Value {
        match self {
            AuthOutcome::Success { client_id, scopes, expires, hash } => {
                let mut v = json!({
                    "status": "auth-success",
                    "scheme": "hawk",
                    "scopes": scopes,
                    "clientId": client_id,
                    "expires": iso(*expires),
                });
                if let (Some(h), Some(obj)) = (hash, v.as_object_mut()) {
                    obj.insert("hash".into(), Value::String(h.clone()));
                }
                v
            }
            AuthOutcome::NoAuth { scopes, expires } => json!({
                "status": "no-auth",
                "scheme": "none",
                "scopes": scopes,
                "expires": iso(*expires),
            }),
            AuthOutcome::Failed(message) => json!({
                "status": "auth-failed",
                "message": message,
            }),
        }
    }
}

struct LoadedCredentials {
    key: String,
    client_id: String,
    scopes: Vec<String>,
    expires: DateTime<Utc>,
}

fn static_client_expiry() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(3000, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn decode_base64_lenient(s: &str) -> Option<Vec<u8>> {
    let cfg = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    GeneralPurpose::new(&base64::alphabet::STANDARD, cfg)
        .decode(&cleaned)
        .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg).decode(&cleaned))
        .ok()
}

fn parse_ext(ext: &str) -> Result<Value, String> {
    let bytes = decode_base64_lenient(ext).ok_or("Failed to parse ext")?;
    serde_json::from_str(&String::from_utf8_lossy(&bytes)).map_err(|_| "Failed to parse ext".into())
}

fn hmac_sha256(key: &str, data: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    ring::hmac::sign(&key, data).as_ref().to_vec()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `loadCredentials` of signaturevalidator.js.
fn load_credentials(st: &State, credential_name: &str, ext: Option<&str>) -> Result<LoadedCredentials, String> {
    let ext = match ext {
        Some(e) if !e.is_empty() => Some(parse_ext(e)?),
        _ => None,
    };
    let mut issuing_client_id = credential_name.to_string();
    if let Some(cert) = ext.as_ref().and_then(|e| e.get("certificate"))
        && js_truthy(cert)
        && let Some(issuer) = cert.get("issuer")
        && js_truthy(issuer)
    {
        let issuer = issuer.as_str().ok_or("ext.certificate.issuer must be a string")?;
        if issuer == credential_name {
            return Err("ext.certificate.issuer must differ from the supplied clientId".into());
        }
        issuing_client_id = issuer.to_string();
    }

    let client = st
        .clients
        .get(&issuing_client_id)
        .ok_or_else(|| format!("Client with clientId '{issuing_client_id}' not found"))?;
    let mut scopes = expand_scopes(&client.scopes, &st.roles);
    let mut expires = static_client_expiry();
    let mut key = client.access_token.clone();

    if let Some(ext) = &ext {
        (scopes, expires, key) =
            limit_client_with_ext(st, credential_name, &issuing_client_id, &client.access_token, scopes, expires, ext)?;
    }

    Ok(LoadedCredentials {
        key,
        client_id: credential_name.to_string(),
        scopes: with_anonymous(&scopes, &st.roles),
        expires,
    })
}

/// `limitClientWithExt` of signaturevalidator.js: certificate and authorizedScopes handling.
fn limit_client_with_ext(
    st: &State,
    credential_name: &str,
    issuing_client_id: &str,
    access_token: &str,
    mut scopes: Vec<String>,
    mut expires: DateTime<Utc>,
    ext: &Value,
) -> Result<(Vec<String>, DateTime<Utc>, String), String> {
    let issuing_scopes = scopes.clone();
    let mut key = access_token.to_string();

    if let Some(cert) = ext.get("certificate").filter(|c| js_truthy(c)) {
        let cert = cert.as_object().ok_or("ext.certificate must be a JSON object")?;
        if cert.get("version").and_then(Value::as_f64) != Some(1.0) {
            return Err("ext.certificate.version must be 1".into());
        }
        let seed = cert.get("seed").and_then(Value::as_str).ok_or("ext.certificate.seed must be a string")?;
        if seed.encode_utf16().count() != 44 {
            return Err("ext.certificate.seed must be 44 characters".into());
        }
        let start = match cert.get("start") {
            Some(Value::Number(n)) => n.clone(),
            _ => return Err("ext.certificate.start must be a number".into()),
        };
        let expiry = match cert.get("expiry") {
            Some(Value::Number(n)) => n.clone(),
            _ => return Err("ext.certificate.expiry must be a number".into()),
        };
        let cert_scopes = match cert.get("scopes") {
            Some(Value::Array(a)) => a,
            _ => return Err("ext.certificate.scopes must be an array".into()),
        };
        let cert_scopes: Vec<String> = cert_scopes
            .iter()
            .map(|s| s.as_str().filter(|s| is_valid_scope(s)).map(str::to_string))
            .collect::<Option<_>>()
            .ok_or("ext.certificate.scopes must be an array of valid scopes")?;

        let now_ms = Utc::now().timestamp_millis() as f64;
        let start_ms = start.as_f64().unwrap_or(f64::NAN);
        let expiry_ms = expiry.as_f64().unwrap_or(f64::NAN);
        if start_ms > now_ms + CERT_SKEW_MS {
            return Err("ext.certificate.start > now".into());
        }
        if expiry_ms < now_ms - CERT_SKEW_MS {
            return Err("ext.certificate.expiry < now".into());
        }
        if expiry_ms - start_ms > CERT_MAX_MS {
            return Err("ext.certificate cannot last longer than 31 days!".into());
        }

        if issuing_client_id != credential_name {
            let create_scope = format!("auth:create-client:{credential_name}");
            if !satisfies_scope(&issuing_scopes, &create_scope) {
                return Err(format!(
                    "ext.certificate issuer `{issuing_client_id}` doesn't have `{create_scope}` for supplied clientId."
                ));
            }
        } else if cert.contains_key("clientId") {
            return Err("ext.certificate.clientId must only be used with ext.certificate.issuer".into());
        }

        if !cert_scopes.iter().all(|s| satisfies_scope(&scopes, s)) {
            return Err(format!(
                "ext.certificate issuer `{issuing_client_id}` doesn't satisfy all certificate scopes {}.  The temporary credentials were not generated correctly.",
                cert_scopes.join(", ")
            ));
        }

        let issuer = cert.get("issuer").filter(|i| js_truthy(i));
        let mut lines = vec!["version:1".to_string()];
        if let Some(issuer) = issuer {
            let issuer = match issuer {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            lines.push(format!("clientId:{credential_name}"));
            lines.push(format!("issuer:{issuer}"));
        }
        lines.push(format!("seed:{seed}"));
        lines.push(format!("start:{}", js_number(&start)));
        lines.push(format!("expiry:{}", js_number(&expiry)));
        lines.push("scopes:".to_string());
        lines.extend(cert_scopes.iter().cloned());
        let expected = general_purpose::STANDARD.encode(hmac_sha256(access_token, lines.join("\n").as_bytes()));
        let given = cert.get("signature").and_then(Value::as_str);
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes())) {
            return Err(if issuer.is_some() {
                "ext.certificate.signature is not valid, or wrong clientId provided".into()
            } else {
                "ext.certificate.signature is not valid".into()
            });
        }

        key = general_purpose::URL_SAFE_NO_PAD.encode(hmac_sha256(access_token, seed.as_bytes()));
        if let Some(cert_expires) = Utc.timestamp_millis_opt(expiry_ms as i64).single()
            && expires > cert_expires
        {
            expires = cert_expires;
        }
        scopes = cert_scopes;
    }

    if let Some(authorized) = ext.get("authorizedScopes").filter(|a| js_truthy(a)) {
        let authorized = match authorized {
            Value::Array(a) => a,
            _ => return Err("ext.authorizedScopes must be an array".into()),
        };
        let authorized: Vec<String> = authorized
            .iter()
            .map(|s| s.as_str().filter(|s| is_valid_scope(s)).map(str::to_string))
            .collect::<Option<_>>()
            .ok_or("ext.authorizedScopes must be an array of valid scopes")?;
        scopes = with_anonymous(&scopes, &st.roles);
        if !authorized.iter().all(|s| satisfies_scope(&scopes, s)) {
            return Err([
                "Supplied credentials do not satisfy authorizedScopes; credentials have scopes:",
                "",
                "```",
                &scopes.join("\n"),
                "```",
                "",
                "authorizedScopes are:",
                "",
                "```",
                &authorized.join("\n"),
                "```",
            ]
            .join("\n"));
        }
        scopes = authorized;
    }

    Ok((scopes, expires, key))
}

fn authenticate_header(st: &State, input: &AuthInput<'_>, authorization: &str) -> Result<AuthOutcome, String> {
    let authorization = authorization.trim();
    let (scheme, attributes) = match authorization.split_once(char::is_whitespace) {
        Some((s, a)) => (s, a.trim()),
        None => (authorization, ""),
    };
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err("Bad Request: Invalid header syntax".into());
    }
    if !scheme.eq_ignore_ascii_case("hawk") {
        return Err("Unauthorized".into());
    }
    if attributes.is_empty() {
        return Err("Bad Request: Invalid header syntax".into());
    }
    let header = hawk::Header::from_str(attributes).map_err(|e| format!("Bad Request: Invalid header syntax ({e})"))?;
    let (Some(id), Some(ts), Some(_), Some(_)) = (&header.id, header.ts, &header.nonce, &header.mac) else {
        return Err("Bad Request: Missing attributes".into());
    };

    let creds = load_credentials(st, id, header.ext.as_deref())?;
    let key = hawk::Key::new(creds.key.as_bytes(), hawk::SHA256).map_err(|e| format!("Invalid credentials: {e}"))?;
    let method = input.method.to_uppercase();
    let host = input.host.to_lowercase();
    let request = hawk::RequestBuilder::new(&method, &host, input.port, input.resource).request();
    if !request.validate_header(&header, &key, Duration::MAX) {
        return Err("Unauthorized: Bad mac".into());
    }
    let now = SystemTime::now();
    let skew = now.duration_since(ts).or_else(|_| ts.duration_since(now)).unwrap_or(Duration::MAX);
    if skew > TS_SKEW {
        return Err("Unauthorized: Stale timestamp".into());
    }
    Ok(AuthOutcome::Success {
        client_id: creds.client_id,
        scopes: creds.scopes,
        expires: creds.expires,
        hash: header.hash.as_ref().map(|h| general_purpose::STANDARD.encode(h)),
    })
}

fn authenticate_bewit(st: &State, input: &AuthInput<'_>) -> Result<AuthOutcome, String> {
    let method = input.method.to_uppercase();
    if method != "GET" && method != "HEAD" {
        return Err("Unauthorized: Invalid method".into());
    }
    let host = input.host.to_lowercase();
    let mut bewit = None;
    let builder = hawk::RequestBuilder::new(&method, &host, input.port, input.resource)
        .extract_bewit(&mut bewit)
        .map_err(|e| format!("Bad Request: Invalid bewit ({e})"))?;
    let bewit = bewit.ok_or("Unauthorized: Missing bewit")?;
    if bewit.exp() <= SystemTime::now() {
        return Err("Unauthorized: Access expired".into());
    }
    let creds = load_credentials(st, bewit.id(), bewit.ext())?;
    let key = hawk::Key::new(creds.key.as_bytes(), hawk::SHA256).map_err(|e| format!("Invalid credentials: {e}"))?;
    if !builder.request().validate_bewit(&bewit, &key) {
        return Err("Unauthorized: Bad mac".into());
    }
    Ok(AuthOutcome::Success { client_id: creds.client_id, scopes: creds.scopes, expires: creds.expires, hash: None })
}

fn has_bewit_resource(resource: &str) -> bool {
    resource.starts_with('/')
        && resource.find('?').is_some_and(|q| resource[q..].contains("?bewit=") || resource[q..].contains("&bewit="))
}

/// The auth service's signature validator (what `authenticateHawk` answers).
fn signature_validator(st: &State, input: &AuthInput<'_>) -> AuthOutcome {
    let result = match input.authorization.filter(|a| !a.is_empty()) {
        Some(authorization) => authenticate_header(st, input, authorization),
        None if has_bewit_resource(input.resource) => authenticate_bewit(st, input),
        None => Ok(AuthOutcome::NoAuth {
            scopes: with_anonymous(&[], &st.roles),
            expires: Utc::now() + chrono::Duration::minutes(15),
        }),
    };
    result.unwrap_or_else(AuthOutcome::Failed)
}

// ------------------------------------------------------------------------------------------------
// API-side authentication (libraries/api remoteAuthentication)

enum Caller {
    Authenticated { client_id: String, scopes: Vec<String> },
    Anonymous,
}

fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn parse_host(host: &str) -> Option<(String, Option<u16>)> {
    let host = host.trim();
    let (name, rest) = if host.starts_with('[') {
        let end = host.find(']')?;
        (&host[..=end], &host[end + 1..])
    } else {
        match host.find(':') {
            Some(i) => (&host[..i], &host[i..]),
            None => (host, ""),
        }
    };
    if name.is_empty() {
        return None;
    }
    let port = match rest.strip_prefix(':') {
        Some(p) => Some(p.parse().ok()?),
        None if rest.is_empty() => None,
        None => return None,
    };
    Some((name.to_string(), port))
}

fn query_has_bewit(req: &HttpRequest) -> bool {
    req.query_string().split('&').any(|kv| kv.strip_prefix("bewit=").is_some_and(|v| !v.is_empty()))
}

fn content_type(req: &HttpRequest) -> String {
    header_str(req, "content-type")
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_lowercase())
        .unwrap_or_default()
}

fn authenticate_request(st: &State, req: &HttpRequest, body: &[u8]) -> Result<Caller, ApiError> {
    let failed = |m: String| ApiError::new("AuthenticationFailed", m);
    let raw_authorization = req.headers().get("authorization");
    let has_bewit = query_has_bewit(req);
    if raw_authorization.is_some() && has_bewit {
        return Err(failed(
            "Cannot use two authentication schemes at once this request has both bewit in \
             querystring and and 'authorization' header"
                .into(),
        ));
    }
    if raw_authorization.is_none() && !has_bewit {
        return Ok(Caller::Anonymous);
    }
    let authorization = match raw_authorization {
        Some(v) => Some(v.to_str().map_err(|_| failed("Bad Request: Invalid header syntax".into()))?),
        None => None,
    };
    let (host, port) =
        header_str(req, "host").and_then(parse_host).ok_or_else(|| failed("Invalid Host header".into()))?;
    let mut port = port.unwrap_or(80);
    if let Some(p) = header_str(req, "x-forwarded-port") {
        port = p.trim().parse().map_err(|_| failed("Invalid x-forwarded-port header".into()))?;
    } else if header_str(req, "x-forwarded-proto") == Some("https") {
        port = 443;
    }
    let method = req.method().as_str().to_lowercase();
    let resource = req.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or_else(|| req.uri().path());
    let input = AuthInput { method: &method, resource, host: &host, port, authorization };
    match signature_validator(st, &input) {
        AuthOutcome::Success { client_id, scopes, hash, .. } => {
            if let Some(hash) = hash {
                let computed = hawk::PayloadHasher::hash(content_type(req), hawk::SHA256, body)
                    .map(|h| general_purpose::STANDARD.encode(h))
                    .map_err(|e| failed(format!("Could not hash payload: {e}")))?;
                if !constant_time_eq(hash.as_bytes(), computed.as_bytes()) {
                    return Err(failed(format!(
                        "Invalid payload hash: {hash}\nComputed payload hash: {computed}\n\
                         This happens when your request carries a signed hash of the payload and \
                         the hash doesn't match the hash we've computed on the server-side."
                    )));
                }
            }
            Ok(Caller::Authenticated { client_id, scopes })
        }
        AuthOutcome::NoAuth { .. } => Ok(Caller::Anonymous),
        AuthOutcome::Failed(message) => Err(failed(message)),
    }
}

/// Best-effort clientId and authorizedScopes from the request's Hawk header, for recording.
fn peek_identity(req: &HttpRequest) -> (String, Option<Vec<String>>) {
    let Some(authorization) = header_str(req, "authorization") else {
        return (String::new(), None);
    };
    let attributes = match authorization.trim().split_once(char::is_whitespace) {
        Some((_, a)) => a.trim(),
        None => return (String::new(), None),
    };
    let Ok(header) = hawk::Header::from_str(attributes) else {
        return (String::new(), None);
    };
    let authorized = header
        .ext
        .as_deref()
        .and_then(|e| parse_ext(e).ok())
        .and_then(|e| e.get("authorizedScopes").and_then(string_array));
    (header.id.unwrap_or_default(), authorized)
}

// ------------------------------------------------------------------------------------------------
// InsufficientScopes (hooks-core's check and message, as the API server's)

/// Checks `required` (a scope expression in Taskcluster's JSON form) against the caller: 403
/// `InsufficientScopes` with the framework's message when it is not satisfied.
fn authorize(caller: &Caller, required: &Value) -> Result<(), ApiError> {
    let expression = ScopeExpression::from_json(required)
        .map_err(|e| ApiError::new("InputValidationError", format!("required scopes are not valid: {e}")))?;
    let caller = match caller {
        Caller::Authenticated { client_id, scopes } => hooks_core::auth::Caller::Client(Authenticated::new(
            client_id.clone(),
            scopes.clone(),
            None,
            Scheme::Header,
        )),
        Caller::Anonymous => hooks_core::auth::Caller::Anonymous,
    };
    caller.authorize(&expression).map_err(|e: InsufficientScopes| ApiError::new("InsufficientScopes", e.to_string()))
}

// ------------------------------------------------------------------------------------------------
// Handlers

async fn ping() -> HttpResponse {
    HttpResponse::Ok().json(json!({"alive": true, "uptime": 1}))
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": "Not found"}))
}

/// Parses a request body like the API framework: empty is `{}`, otherwise an object or array.
fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => Ok(v),
        Ok(_) => Err(ApiError::new("MalformedPayload", "Failed to parse JSON: payload must be an object or an array")),
        Err(e) => Err(ApiError::new("MalformedPayload", format!("Failed to parse JSON: {e}"))),
    }
}

fn require_json_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    if content_type(req) == "application/json" {
        return Ok(());
    }
    Err(ApiError::new(
        "MalformedPayload",
        format!(
            "Payload must be JSON with content-type: application/json got content-type: {}",
            header_str(req, "content-type").unwrap_or("undefined")
        ),
    ))
}

fn is_slugid(s: &str) -> bool {
    let b = s.as_bytes();
    let slug_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    b.len() == 22
        && b.iter().all(|&c| slug_char(c))
        && (b'Q'..=b'T').contains(&b[8])
        && b"CGKOSWaeimquy26-".contains(&b[10])
        && b"AQgw".contains(&b[21])
}

async fn create_task(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    data: web::Data<Shared>,
) -> HttpResponse {
    let task_id = path.into_inner();
    let received = Utc::now();
    let delay = lock(&data.state).create_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (client_id, authorized_scopes) = peek_identity(&req);
    let mut st = lock(&data.state);
    let parsed = parse_body(&body);
    let payload = parsed.as_ref().cloned().unwrap_or_else(|_| json!({}));
    let outcome = parsed.and_then(|task| {
        let identity = Identity { client_id: &client_id, authorized_scopes: &authorized_scopes, received };
        handle_create_task(&mut st, &req, &task_id, &body, task, identity)
    });
    let (status, response) = match outcome {
        Ok(reply) => (200, HttpResponse::Ok().json(reply)),
        Err(err) => (err.status, error_response("createTask", json!({ "taskId": task_id }), &payload, &err)),
    };
    st.requests.push(CreateTaskRequest {
        task_id,
        task: serde_json::from_slice(&body).unwrap_or(Value::Null),
        client_id,
        authorized_scopes,
        status,
        received,
    });
    response
}

/// Who sent a createTask request, and when it arrived.
struct Identity<'a> {
    client_id: &'a str,
    authorized_scopes: &'a Option<Vec<String>>,
    received: DateTime<Utc>,
}

fn handle_create_task(
    st: &mut State,
    req: &HttpRequest,
    task_id: &str,
    body: &[u8],
    task: Value,
    identity: Identity<'_>,
) -> Result<Value, ApiError> {
    if !is_slugid(task_id) {
        return Err(ApiError::new(
            "InvalidRequestArguments",
            format!(
                "Invalid URL patterns:\nURL parameter 'taskId' given as '{task_id}' must match regular expression: '{SLUGID_PATTERN}'"
            ),
        ));
    }
    require_json_content_type(req)?;
    let caller = authenticate_request(st, req, body)?;
    if let Some((status, code)) = st.create_failures.pop_front() {
        return Err(ApiError {
            status,
            code: code.clone(),
            message: format!("Injected {code} failure from the fake Taskcluster queue"),
        });
    }

    let def = task.as_object().ok_or_else(|| ApiError::new("InputValidationError", "task must be an object"))?;
    let str_field = |k: &str| def.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let task_queue_id = match (str_field("provisionerId"), str_field("workerType"), str_field("taskQueueId")) {
        (Some(p), Some(w), Some(tq)) => {
            if format!("{p}/{w}") != tq {
                return Err(ApiError::new("InputError", "taskQueueId must match \"provisionerId/workerType\""));
            }
            tq.to_string()
        }
        (Some(p), Some(w), None) => format!("{p}/{w}"),
        (_, _, Some(tq)) => tq.to_string(),
        _ => {
            return Err(ApiError::new(
                "InputError",
                "at least a provisionerId and a workerType or a taskQueueId must be provided\"",
            ));
        }
    };

    // scope check
    let required = create_task_requirements(def, &task_queue_id);
    // Until a role is defined, authenticated callers skip the check (see the module docs).
    if matches!(caller, Caller::Anonymous) || st.roles_defined {
        authorize(&caller, &required.expression())?;
    }

    if let Some((existing, status)) = st.tasks.get(task_id) {
        if *existing == task {
            return Ok(json!({ "status": status }));
        }
        return Err(ApiError::new(
            "RequestConflict",
            format!(
                "taskId `{task_id}` already used by another task.\nThis could be the result of faulty idempotency!"
            ),
        ));
    }

    let status = task_status(task_id, def, &task_queue_id);
    st.tasks.insert(task_id.to_string(), (task.clone(), status.clone()));
    st.created.push(CreatedTask {
        task_id: task_id.to_string(),
        task,
        client_id: identity.client_id.to_string(),
        authorized_scopes: identity.authorized_scopes.clone(),
        received: identity.received,
    });
    Ok(json!({ "status": status }))
}

/// The scopes createTask requires: all of `all`, and one of `any`.
struct Requirements {
    all: Vec<String>,
    any: Vec<String>,
}

impl Requirements {
    fn expression(&self) -> Value {
        let mut all: Vec<Value> = self.all.iter().map(|s| json!(s)).collect();
        all.push(json!({ "AnyOf": self.any }));
        json!({ "AllOf": all })
    }
}

fn create_task_requirements(def: &Map<String, Value>, task_queue_id: &str) -> Requirements {
    let strings = |k: &str| -> Vec<String> {
        def.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut all = strings("scopes");
    all.extend(strings("routes").into_iter().map(|r| format!("queue:route:{r}")));
    let priority = match def.get("priority").and_then(Value::as_str) {
        Some(p) if PRIORITY_LEVELS.contains(&p) => p,
        _ => "lowest",
    };
    let upto = PRIORITY_LEVELS.iter().position(|p| *p == priority).unwrap_or(PRIORITY_LEVELS.len() - 1);
    let mut any = vec![format!("queue:create-task:{task_queue_id}")];
    any.extend(PRIORITY_LEVELS[..=upto].iter().map(|p| format!("queue:create-task:{p}:{task_queue_id}")));
    Requirements { all, any }
}

fn task_status(task_id: &str, def: &Map<String, Value>, task_queue_id: &str) -> Value {
    let get = |k: &str, default: &str| -> Value {
        def.get(k).filter(|v| js_truthy(v)).cloned().unwrap_or_else(|| json!(default))
    };
    let (provisioner_id, worker_type) = task_queue_id.split_once('/').unwrap_or((task_queue_id, ""));
    let deadline = def.get("deadline").cloned().unwrap_or(Value::Null);
    let expires = def.get("expires").cloned().unwrap_or_else(|| {
        deadline
            .as_str()
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map(|d| json!(iso(d.with_timezone(&Utc) + chrono::Duration::days(365))))
            .unwrap_or(Value::Null)
    });
    let has_dependencies = def.get("dependencies").and_then(Value::as_array).is_some_and(|d| !d.is_empty());
    let (state, runs) = if has_dependencies {
        ("unscheduled", json!([]))
    } else {
        (
            "pending",
            json!([{
                "runId": 0,
                "state": "pending",
                "reasonCreated": "scheduled",
                "scheduled": now_iso(),
            }]),
        )
    };
    json!({
        "taskId": task_id,
        "provisionerId": provisioner_id,
        "workerType": worker_type,
        "taskQueueId": task_queue_id,
        "schedulerId": get("schedulerId", "-"),
        "projectId": get("projectId", "none"),
        "taskGroupId": get("taskGroupId", task_id),
        "deadline": deadline,
        "expires": expires,
        "retriesLeft": def.get("retries").cloned().unwrap_or(json!(5)),
        "state": state,
        "runs": runs,
    })
}

/// The queue's `status` (public: no credentials), `{"status": …}` or 404 `ResourceNotFound`.
async fn task_status_of(path: web::Path<String>, data: web::Data<Shared>) -> HttpResponse {
    let task_id = path.into_inner();
    match lock(&data.state).tasks.get(&task_id) {
        Some((_, status)) => HttpResponse::Ok().json(json!({ "status": status })),
        None => {
            let err =
                ApiError::new("ResourceNotFound", format!("`{task_id}` does not correspond to a task that exists."));
            error_response("status", json!({ "taskId": task_id }), &json!({}), &err)
        }
    }
}

async fn notify_email(req: HttpRequest, body: web::Bytes, data: web::Data<Shared>) -> HttpResponse {
    let mut st = lock(&data.state);
    let parsed = parse_body(&body);
    let payload = parsed.as_ref().cloned().unwrap_or_else(|_| json!({}));
    match parsed.and_then(|email| handle_email(&mut st, &req, &body, email)) {
        Ok(()) => HttpResponse::Ok().json(json!({})),
        Err(err) => error_response("email", json!({}), &payload, &err),
    }
}

fn handle_email(st: &mut State, req: &HttpRequest, body: &[u8], email: Value) -> Result<(), ApiError> {
    require_json_content_type(req)?;
    let caller = authenticate_request(st, req, body)?;
    if let Some((status, code)) = st.notify_failures.pop_front() {
        return Err(ApiError {
            status,
            code: code.clone(),
            message: format!("Injected {code} failure from the fake Taskcluster notify service"),
        });
    }
    let address = email
        .get("address")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::new(
                "InputValidationError",
                "\nSchema Validation Failed!\nRejecting Schema: notify/v1/email-request.json#\nErrors:\n  * data must have required property 'address'",
            )
        })?;
    authorize(&caller, &json!(format!("notify:email:{address}")))?;
    st.emails.push(email);
    Ok(())
}

async fn authenticate_hawk(body: web::Bytes, data: web::Data<Shared>) -> HttpResponse {
    let mut st = lock(&data.state);
    st.auth_requests.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
    let parsed = parse_body(&body);
    let payload = parsed.as_ref().cloned().unwrap_or_else(|_| json!({}));
    let invalid = |what: &str| {
        ApiError::new(
            "InputValidationError",
            format!(
                "\nSchema Validation Failed!\nRejecting Schema: auth/v1/authenticate-hawk-request.json#\nErrors:\n  * {what}"
            ),
        )
    };
    let result = parsed.and_then(|req| {
        let s = |k: &str| req.get(k).and_then(Value::as_str);
        let method = s("method").ok_or_else(|| invalid("data/method must be string"))?;
        let resource = s("resource").ok_or_else(|| invalid("data/resource must be string"))?;
        let host = s("host").ok_or_else(|| invalid("data/host must be string"))?;
        let port = req
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| invalid("data/port must be integer"))?;
        let authorization = match req.get("authorization") {
            None | Some(Value::Null) => None,
            Some(Value::String(a)) => Some(a.as_str()),
            Some(_) => return Err(invalid("data/authorization must be string")),
        };
        let input = AuthInput { method, resource, host, port, authorization };
        Ok(signature_validator(&st, &input).to_json())
    });
    match result {
        Ok(reply) => HttpResponse::Ok().json(reply),
        Err(err) => error_response("authenticateHawk", json!({}), &payload, &err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use taskcluster::{Auth, ClientBuilder, Credentials, Notify, Queue, Retry, err_status_code};

    /// A random v4 slugid, as the queue requires for taskIds.
    fn slug() -> String {
        use ring::rand::SecureRandom;
        let mut b = [0u8; 16];
        ring::rand::SystemRandom::new().fill(&mut b).unwrap();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        general_purpose::URL_SAFE_NO_PAD.encode(b)
    }

    fn task(name: &str) -> Value {
        let now = Utc::now();
        json!({
            "provisionerId": "proj-test",
            "workerType": "linux",
            "created": iso(now),
            "deadline": iso(now + chrono::Duration::hours(1)),
            "payload": {},
            "metadata": {
                "name": name,
                "description": "a test task",
                "owner": "nobody@example.com",
                "source": "https://example.com/",
            },
        })
    }

    fn creds(c: &ClientSpec) -> Credentials {
        Credentials::new(c.client_id.clone(), c.access_token.clone())
    }

    fn retry(retries: usize) -> Retry {
        Retry {
            retries,
            max_delay: Duration::from_millis(10),
            delay_factor: Duration::from_millis(1),
            randomization_factor: 0.0,
        }
    }

    fn queue(fake: &FakeTaskcluster, creds: Credentials, authorized: Option<&[&str]>) -> Queue {
        let mut b = ClientBuilder::new(fake.root_url()).credentials(creds).retry(retry(0));
        if let Some(a) = authorized {
            b = b.authorized_scopes(a.iter().copied());
        }
        Queue::new(b).unwrap()
    }

    fn status_of(err: &anyhow::Error) -> Option<u16> {
        err_status_code(err).map(|s| s.as_u16())
    }

    /// A minimal blocking HTTP/1.1 client, for requests the official client cannot make.
    fn raw(
        root: &str,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> (u16, HashMap<String, String>, Value) {
        let addr = root.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
            .collect();
        (status, headers, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Signs a certificate exactly as the taskcluster client does, with free start/expiry.
    fn make_cert(
        issuer: &ClientSpec,
        temp_client_id: Option<&str>,
        start: i64,
        expiry: i64,
        scopes: &[&str],
    ) -> Credentials {
        let seed = format!("{}{}", slug(), slug());
        let mut lines = vec!["version:1".to_string()];
        if let Some(id) = temp_client_id {
            lines.push(format!("clientId:{id}"));
            lines.push(format!("issuer:{}", issuer.client_id));
        }
        lines.push(format!("seed:{seed}"));
        lines.push(format!("start:{start}"));
        lines.push(format!("expiry:{expiry}"));
        lines.push("scopes:".into());
        lines.extend(scopes.iter().map(|s| s.to_string()));
        let signature =
            general_purpose::STANDARD.encode(hmac_sha256(&issuer.access_token, lines.join("\n").as_bytes()));
        let mut cert = json!({
            "version": 1, "scopes": scopes, "start": start, "expiry": expiry,
            "seed": seed, "signature": signature,
        });
        if temp_client_id.is_some() {
            cert["issuer"] = json!(issuer.client_id);
        }
        let token = general_purpose::URL_SAFE_NO_PAD.encode(hmac_sha256(&issuer.access_token, seed.as_bytes()));
        Credentials::new_with_certificate(temp_client_id.unwrap_or(&issuer.client_id), token, cert.to_string())
    }

    fn hawk_creds(c: &ClientSpec) -> hawk::Credentials {
        hawk::Credentials {
            id: c.client_id.clone(),
            key: hawk::Key::new(c.access_token.as_bytes(), hawk::SHA256).unwrap(),
        }
    }

    fn ext_b64(v: Value) -> String {
        general_purpose::STANDARD.encode(v.to_string())
    }

    #[tokio::test]
    async fn create_task_is_recorded_with_authorized_scopes() {
        let fake = FakeTaskcluster::start_default();
        let q = queue(&fake, creds(fake.service_client()), Some(&["assume:hook-id:g/h", "queue:create-task:*"]));
        let id = slug();
        let resp = q.createTask(&id, &task("one")).await.unwrap();
        assert_eq!(resp["status"]["taskId"], json!(id));
        assert_eq!(resp["status"]["state"], json!("pending"));
        assert_eq!(resp["status"]["taskQueueId"], json!("proj-test/linux"));
        assert_eq!(resp["status"]["runs"][0]["state"], json!("pending"));

        let created = fake.created_tasks();
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].task_id, id);
        assert_eq!(created[0].task, task("one").with_times_of(&created[0].task));
        assert_eq!(created[0].client_id, "static/hooks");
        assert_eq!(
            created[0].authorized_scopes,
            Some(vec!["assume:hook-id:g/h".to_string(), "queue:create-task:*".to_string()])
        );
        let reqs = fake.create_task_requests();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].status, 200);
        assert_eq!(reqs[0].client_id, "static/hooks");
    }

    /// Lets tests compare task bodies while ignoring the timestamps `task()` generates.
    trait WithTimes {
        fn with_times_of(self, other: &Value) -> Value;
    }
    impl WithTimes for Value {
        fn with_times_of(mut self, other: &Value) -> Value {
            for k in ["created", "deadline"] {
                self[k] = other[k].clone();
            }
            self
        }
    }

    #[tokio::test]
    async fn wrong_access_token_or_unknown_client_is_401() {
        let fake = FakeTaskcluster::start_default();
        let bad = Credentials::new("static/hooks", "not-the-token");
        let err = queue(&fake, bad, None).createTask(&slug(), &task("x")).await.unwrap_err();
        assert_eq!(status_of(&err), Some(401));
        assert!(err.to_string().contains("Unauthorized: Bad mac"), "{err}");
        assert!(err.to_string().contains("* errorCode:  AuthenticationFailed"));

        let unknown = Credentials::new("nobody", "whatever");
        let err = queue(&fake, unknown, None).createTask(&slug(), &task("x")).await.unwrap_err();
        assert_eq!(status_of(&err), Some(401));
        assert!(err.to_string().contains("Client with clientId 'nobody' not found"), "{err}");

        assert!(fake.created_tasks().is_empty());
        let reqs = fake.create_task_requests();
        assert_eq!(reqs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![401, 401]);
        assert_eq!(reqs[1].client_id, "nobody");
    }

    /// The real auth service rejects unsatisfiable authorizedScopes at authentication (401), not 403.
    #[tokio::test]
    async fn authorized_scopes_not_held_by_client_fail_authentication() {
        let fake = FakeTaskcluster::start_default();
        let q = queue(&fake, creds(fake.service_client()), Some(&["queue:create-task:*", "secrets:get:*"]));
        let err = q.createTask(&slug(), &task("x")).await.unwrap_err();
        assert_eq!(status_of(&err), Some(401));
        assert!(err.to_string().contains("Supplied credentials do not satisfy authorizedScopes"), "{err}");
        let reqs = fake.create_task_requests();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].status, 401);
        assert_eq!(
            reqs[0].authorized_scopes,
            Some(vec!["queue:create-task:*".to_string(), "secrets:get:*".to_string()])
        );
        assert!(fake.created_tasks().is_empty());
    }

    #[tokio::test]
    async fn roles_drive_the_create_task_scope_check() {
        let fake = FakeTaskcluster::start_default();
        fake.set_role(
            "hook-id:g/h",
            vec!["queue:create-task:highest:proj-test/linux".into(), "queue:route:index.g.*".into()],
        );
        let svc = creds(fake.service_client());

        // role grants what the task needs
        let q = queue(&fake, svc.clone(), Some(&["assume:hook-id:g/h"]));
        let mut t = task("ok");
        t["routes"] = json!(["index.g.latest"]);
        q.createTask(&slug(), &t).await.unwrap();

        // task scopes the role lacks -> 403 InsufficientScopes
        let mut t = task("needs-secret");
        t["scopes"] = json!(["secrets:get:foo"]);
        let err = q.createTask(&slug(), &t).await.unwrap_err();
        assert_eq!(status_of(&err), Some(403));
        let msg = err.to_string();
        assert!(
            msg.starts_with(
                "Client ID static/hooks does not have sufficient scopes and is missing the following scopes:\n\n```\nsecrets:get:foo\n```"
            ),
            "{msg}"
        );
        assert!(msg.contains("* errorCode:  InsufficientScopes"));

        // a hook without a role gets nothing
        let q = queue(&fake, svc.clone(), Some(&["assume:hook-id:g/other"]));
        let err = q.createTask(&slug(), &task("no-role")).await.unwrap_err();
        assert_eq!(status_of(&err), Some(403));
        assert!(err.to_string().contains("queue:create-task:proj-test/linux"));

        // a wildcard role id is granted to matching assume: scopes
        fake.set_role("hook-id:w/*", vec!["queue:create-task:proj-test/*".into()]);
        let q = queue(&fake, svc, Some(&["assume:hook-id:w/any"]));
        q.createTask(&slug(), &task("wild")).await.unwrap();

        assert_eq!(fake.created_tasks().len(), 2);
        assert_eq!(fake.create_task_requests().iter().map(|r| r.status).collect::<Vec<_>>(), vec![200, 403, 403, 200]);
    }

    #[tokio::test]
    async fn injected_500_then_success_with_one_retry() {
        let fake = FakeTaskcluster::start_default();
        fake.fail_create_task(1, 500, "InternalServerError");
        let q =
            Queue::new(ClientBuilder::new(fake.root_url()).credentials(creds(fake.service_client())).retry(retry(1)))
                .unwrap();
        let id = slug();
        q.createTask(&id, &task("retried")).await.unwrap();
        let reqs = fake.create_task_requests();
        assert_eq!(reqs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![500, 200]);
        assert!(reqs.iter().all(|r| r.task_id == id));
        assert_eq!(fake.created_tasks().len(), 1);

        // without retries the injected error surfaces, with the right status
        fake.fail_create_task(1, 400, "InputError");
        let err = queue(&fake, creds(fake.service_client()), None).createTask(&slug(), &task("x")).await.unwrap_err();
        assert_eq!(status_of(&err), Some(400));
        assert!(err.to_string().contains("* errorCode:  InputError"), "{err}");
    }

    #[tokio::test]
    async fn create_task_is_idempotent_and_conflicts_on_a_different_definition() {
        let fake = FakeTaskcluster::start_default();
        let q = queue(&fake, creds(fake.service_client()), None);
        let id = slug();
        let t = task("same");
        let first = q.createTask(&id, &t).await.unwrap();
        let second = q.createTask(&id, &t).await.unwrap();
        assert_eq!(first, second);

        let mut different = t.clone();
        different["metadata"]["name"] = json!("different");
        let err = q.createTask(&id, &different).await.unwrap_err();
        assert_eq!(status_of(&err), Some(409));
        assert!(err.to_string().contains(&format!("taskId `{id}` already used by another task.")), "{err}");
        assert!(err.to_string().contains("* errorCode:  RequestConflict"));

        assert_eq!(fake.created_tasks().len(), 1);
        assert_eq!(fake.create_task_requests().iter().map(|r| r.status).collect::<Vec<_>>(), vec![200, 200, 409]);
    }

    #[tokio::test]
    async fn temporary_credentials_are_accepted() {
        let issuer = ClientSpec {
            client_id: "static/hooks".into(),
            access_token: "issuer-token".into(),
            scopes: vec!["queue:create-task:*".into(), "notify:email:*".into(), "auth:create-client:temp/*".into()],
        };
        let fake = FakeTaskcluster::start(vec![issuer.clone()]);
        fake.set_role("unused", vec![]); // turn on the create-task scope check

        // unnamed: clientId stays the issuer's, scopes are the certificate's
        let temp =
            creds(&issuer).create_temp_creds(Duration::from_secs(600), ["queue:create-task:proj-test/*"]).unwrap();
        queue(&fake, temp, None).createTask(&slug(), &task("unnamed")).await.unwrap();

        // named, with authorizedScopes on top
        let temp = creds(&issuer)
            .create_named_temp_creds("temp/one", Duration::from_secs(600), ["queue:create-task:*"])
            .unwrap();
        queue(&fake, temp, Some(&["queue:create-task:proj-test/linux"]))
            .createTask(&slug(), &task("named"))
            .await
            .unwrap();

        // the certificate's scopes, not the issuer's, are what counts
        let temp = creds(&issuer).create_temp_creds(Duration::from_secs(600), ["notify:email:*"]).unwrap();
        let err = queue(&fake, temp, None).createTask(&slug(), &task("no-scope")).await.unwrap_err();
        assert_eq!(status_of(&err), Some(403));

        let created = fake.created_tasks();
        assert_eq!(created.len(), 2);
        assert_eq!(created[0].client_id, "static/hooks");
        assert_eq!(created[1].client_id, "temp/one");
        assert_eq!(created[1].authorized_scopes, Some(vec!["queue:create-task:proj-test/linux".to_string()]));
    }

    #[tokio::test]
    async fn bad_certificates_are_rejected() {
        let issuer = ClientSpec {
            client_id: "static/hooks".into(),
            access_token: "issuer-token".into(),
            scopes: vec!["queue:create-task:*".into(), "notify:email:*".into()],
        };
        let fake = FakeTaskcluster::start(vec![issuer.clone()]);
        let now = Utc::now().timestamp_millis();
        let hour = 3_600_000;
        let attempt = |c: Credentials| {
            let q = queue(&fake, c, None);
            async move { q.createTask(&slug(), &task("x")).await.unwrap_err() }
        };

        // a correctly signed certificate is accepted (so the failures below are meaningful)
        let good = make_cert(&issuer, None, now, now + hour, &["queue:create-task:*"]);
        queue(&fake, good, None).createTask(&slug(), &task("good")).await.unwrap();

        let expired = make_cert(&issuer, None, now - 2 * hour, now - hour, &["queue:create-task:*"]);
        let err = attempt(expired).await;
        assert_eq!(status_of(&err), Some(401));
        assert!(err.to_string().contains("ext.certificate.expiry < now"), "{err}");

        let future = make_cert(&issuer, None, now + hour, now + 2 * hour, &["queue:create-task:*"]);
        let err = attempt(future).await;
        assert!(err.to_string().contains("ext.certificate.start > now"), "{err}");

        // forged: scopes changed after signing
        let temp = creds(&issuer).create_temp_creds(Duration::from_secs(600), ["notify:email:*"]).unwrap();
        let mut cert: Value = serde_json::from_str(temp.certificate.as_ref().unwrap()).unwrap();
        cert["scopes"] = json!(["queue:create-task:*"]);
        let forged =
            Credentials::new_with_certificate(temp.client_id.clone(), temp.access_token.clone(), cert.to_string());
        let err = attempt(forged).await;
        assert_eq!(status_of(&err), Some(401));
        assert!(err.to_string().contains("ext.certificate.signature is not valid"), "{err}");

        // certificate scopes beyond the issuer's
        let greedy = make_cert(&issuer, None, now, now + hour, &["secrets:*"]);
        let err = attempt(greedy).await;
        assert!(err.to_string().contains("doesn't satisfy all certificate scopes"), "{err}");

        // signing the request with the permanent token instead of the temporary one
        let temp = creds(&issuer).create_temp_creds(Duration::from_secs(600), ["queue:create-task:*"]).unwrap();
        let wrong_key = Credentials::new_with_certificate(
            temp.client_id.clone(),
            issuer.access_token.clone(),
            temp.certificate.clone().unwrap(),
        );
        let err = attempt(wrong_key).await;
        assert!(err.to_string().contains("Unauthorized: Bad mac"), "{err}");

        // named credentials need auth:create-client:<name> on the issuer
        let named =
            creds(&issuer).create_named_temp_creds("temp/x", Duration::from_secs(600), ["notify:email:*"]).unwrap();
        let err = attempt(named).await;
        assert!(err.to_string().contains("doesn't have `auth:create-client:temp/x` for supplied clientId"), "{err}");

        assert_eq!(fake.created_tasks().len(), 1);
    }

    #[tokio::test]
    async fn authenticate_hawk_with_a_header() {
        let fake = FakeTaskcluster::start_default();
        fake.set_role("hook-id:g/h", vec!["queue:route:index.*".into()]);
        let svc = fake.service_client().clone();
        let auth = Auth::new(ClientBuilder::new(fake.root_url())).unwrap();
        let resource = "/api/hooks/v1/hooks/g/h%2Fx/trigger";
        let body = br#"{"a":1}"#;
        let hash = hawk::PayloadHasher::hash("application/json", hawk::SHA256, body).unwrap();
        let header = hawk::RequestBuilder::new("POST", "hooks.example.com", 443, resource)
            .hash(&hash[..])
            .request()
            .make_header(&hawk_creds(&svc))
            .unwrap();
        let request = json!({
            "method": "post", "resource": resource, "host": "hooks.example.com", "port": 443,
            "authorization": format!("Hawk {header}"), "sourceIp": "127.0.0.1",
        });
        let res = auth.authenticateHawk(&request).await.unwrap();
        assert_eq!(res["status"], json!("auth-success"), "{res}");
        assert_eq!(res["scheme"], json!("hawk"));
        assert_eq!(res["clientId"], json!("static/hooks"));
        assert_eq!(
            res["scopes"],
            json!([
                "assume:anonymous",
                "assume:hook-id:*",
                "notify:email:*",
                "queue:create-task:*",
                "queue:route:index.*"
            ])
        );
        assert_eq!(res["hash"], json!(general_purpose::STANDARD.encode(&hash)));
        assert!(DateTime::parse_from_rfc3339(res["expires"].as_str().unwrap()).is_ok());

        // the same header presented for another resource fails
        let mut other = request.clone();
        other["resource"] = json!("/api/hooks/v1/hooks/g/other/trigger");
        let res = auth.authenticateHawk(&other).await.unwrap();
        assert_eq!(res, json!({"status": "auth-failed", "message": "Unauthorized: Bad mac"}));

        // authorizedScopes restrict and are expanded
        let ext = ext_b64(json!({"authorizedScopes": ["assume:hook-id:g/h"]}));
        let header = hawk::RequestBuilder::new("GET", "hooks.example.com", 443, "/x")
            .ext(ext.as_str())
            .request()
            .make_header(&hawk_creds(&svc))
            .unwrap();
        let res = auth
            .authenticateHawk(&json!({
                "method": "get", "resource": "/x", "host": "hooks.example.com", "port": 443,
                "authorization": format!("Hawk {header}"),
            }))
            .await
            .unwrap();
        assert_eq!(res["status"], json!("auth-success"), "{res}");
        assert_eq!(res["scopes"], json!(["assume:anonymous", "assume:hook-id:g/h", "queue:route:index.*"]));
        assert!(res.get("hash").is_none());

        // a stale timestamp fails
        let old = SystemTime::now() - Duration::from_secs(3600);
        let header = hawk::RequestBuilder::new("GET", "hooks.example.com", 443, "/x")
            .request()
            .make_header_full(&hawk_creds(&svc), old, "nonce")
            .unwrap();
        let res = auth
            .authenticateHawk(&json!({
                "method": "get", "resource": "/x", "host": "hooks.example.com", "port": 443,
                "authorization": format!("Hawk {header}"),
            }))
            .await
            .unwrap();
        assert_eq!(res["message"], json!("Unauthorized: Stale timestamp"));

        // no credentials at all
        let res = auth
            .authenticateHawk(&json!({
                "method": "get", "resource": "/x", "host": "hooks.example.com", "port": 443,
            }))
            .await
            .unwrap();
        assert_eq!(res["status"], json!("no-auth"));
        assert_eq!(res["scopes"], json!(["assume:anonymous"]));

        // the request must carry the required properties
        let err = auth.authenticateHawk(&json!({"method": "get"})).await.unwrap_err();
        assert_eq!(status_of(&err), Some(400));
    }

    #[tokio::test]
    async fn authenticate_hawk_with_a_bewit() {
        let fake = FakeTaskcluster::start_default();
        let svc = fake.service_client().clone();
        let root = fake.root_url();
        let port = fake.addr.port();
        let auth = Auth::new(ClientBuilder::new(root.clone())).unwrap();
        let check = |resource: String, method: &str| {
            let req = json!({"method": method, "resource": resource, "host": "127.0.0.1", "port": port});
            let auth = &auth;
            async move { auth.authenticateHawk(&req).await.unwrap() }
        };

        let q = queue(&fake, creds(&svc), None);
        let url = q.client.make_signed_url("task/abc", Some(vec![("x", "1")]), Duration::from_secs(60)).unwrap();
        let resource = url.strip_prefix(&root).unwrap().to_string();
        assert!(resource.starts_with("/api/queue/v1/task/abc?x=1&bewit="));
        let res = check(resource.clone(), "get").await;
        assert_eq!(res["status"], json!("auth-success"), "{res}");
        assert_eq!(res["clientId"], json!("static/hooks"));
        assert!(res["scopes"].as_array().unwrap().contains(&json!("queue:create-task:*")));

        let res = check(resource.replace("x=1", "x=2"), "get").await;
        assert_eq!(res["message"], json!("Unauthorized: Bad mac"));
        let res = check(resource, "post").await;
        assert_eq!(res["message"], json!("Unauthorized: Invalid method"));

        // bewits carry authorizedScopes and certificates too
        let temp =
            creds(&svc).create_temp_creds(Duration::from_secs(600), ["notify:email:*", "queue:create-task:*"]).unwrap();
        let q = queue(&fake, temp, Some(&["notify:email:a@example.com"]));
        let url = q.client.make_signed_url("task/abc", None, Duration::from_secs(60)).unwrap();
        let res = check(url.strip_prefix(&root).unwrap().to_string(), "get").await;
        assert_eq!(res["status"], json!("auth-success"), "{res}");
        assert_eq!(res["scopes"], json!(["assume:anonymous", "notify:email:a@example.com"]));
    }

    #[tokio::test]
    async fn notify_email_is_recorded() {
        let fake = FakeTaskcluster::start(vec![
            ClientSpec {
                client_id: "static/hooks".into(),
                access_token: "t1".into(),
                scopes: vec!["notify:email:*".into()],
            },
            ClientSpec {
                client_id: "no-notify".into(),
                access_token: "t2".into(),
                scopes: vec!["queue:create-task:*".into()],
            },
        ]);
        let notify =
            |c: Credentials| Notify::new(ClientBuilder::new(fake.root_url()).credentials(c).retry(retry(0))).unwrap();
        let email = json!({"address": "a@example.com", "subject": "s", "content": "c"});
        let n = notify(creds(fake.service_client()));
        n.email(&email).await.unwrap();
        assert_eq!(fake.emails(), vec![email.clone()]);

        fake.fail_notify(1, 500, "InternalServerError");
        let err = n.email(&email).await.unwrap_err();
        assert_eq!(status_of(&err), Some(500));

        let err = notify(Credentials::new("no-notify", "t2")).email(&email).await.unwrap_err();
        assert_eq!(status_of(&err), Some(403));
        assert!(err.to_string().contains("notify:email:a@example.com"), "{err}");

        let err = notify(Credentials::new("static/hooks", "wrong")).email(&email).await.unwrap_err();
        assert_eq!(status_of(&err), Some(401));
        assert_eq!(fake.emails().len(), 1);
    }

    #[tokio::test]
    async fn ping_endpoints_answer() {
        let fake = FakeTaskcluster::start_default();
        let root = fake.root_url();
        Queue::new(root.as_str()).unwrap().ping().await.unwrap();
        Auth::new(root.as_str()).unwrap().ping().await.unwrap();
        Notify::new(root.as_str()).unwrap().ping().await.unwrap();
        for svc in ["queue", "auth", "notify"] {
            let (status, _, body) = raw(&root, "GET", &format!("/api/{svc}/v1/ping"), &[], b"");
            assert_eq!(status, 200);
            assert_eq!(body, json!({"alive": true, "uptime": 1}));
        }
        let (status, _, body) = raw(&root, "GET", "/nope", &[], b"");
        assert_eq!((status, body), (404, json!({"error": "Not found"})));
    }

    #[tokio::test]
    async fn error_bodies_have_the_taskcluster_format() {
        let fake = FakeTaskcluster::start_default();
        let root = fake.root_url();
        let id = slug();
        let ct = [("Content-Type", "application/json".to_string())];
        let path = format!("/api/queue/v1/task/{id}");

        // no credentials
        let body = task("anon").to_string();
        let (status, _, err) = raw(&root, "PUT", &path, &ct, body.as_bytes());
        assert_eq!(status, 403);
        assert_eq!(err["code"], json!("InsufficientScopes"));
        let msg = err["message"].as_str().unwrap();
        assert!(
            msg.starts_with(
                "This request requires Taskcluster credentials that satisfy the following scope expression:"
            )
        );
        assert!(msg.contains(
            "\n\n---\n\n* method:     createTask\n* errorCode:  InsufficientScopes\n* statusCode: 403\n* time:       "
        ));
        assert_eq!(err["requestInfo"]["method"], json!("createTask"));
        assert_eq!(err["requestInfo"]["params"], json!({"taskId": id}));
        assert_eq!(err["requestInfo"]["payload"], task("anon").with_times_of(&err["requestInfo"]["payload"]));
        assert!(DateTime::parse_from_rfc3339(err["requestInfo"]["time"].as_str().unwrap()).is_ok());

        // malformed JSON
        let (status, _, err) = raw(&root, "PUT", &path, &ct, b"{not json");
        assert_eq!(status, 400);
        assert_eq!(err["code"], json!("MalformedPayload"));
        assert!(err["message"].as_str().unwrap().starts_with("Failed to parse JSON: "));

        // invalid taskId
        let (status, _, err) = raw(&root, "PUT", "/api/queue/v1/task/not-a-slug", &ct, b"{}");
        assert_eq!(status, 400);
        assert_eq!(err["code"], json!("InvalidRequestArguments"));

        // neither provisionerId/workerType nor taskQueueId
        let q = queue(&fake, creds(fake.service_client()), None);
        let err = q.createTask(&slug(), &json!({"payload": {}})).await.unwrap_err();
        assert_eq!(status_of(&err), Some(400));
        assert!(err.to_string().contains("* errorCode:  InputError"), "{err}");

        // bad credentials carry www-authenticate
        let header = hawk::RequestBuilder::new("PUT", "127.0.0.1", fake.addr.port(), &path)
            .request()
            .make_header(&hawk_creds(&ClientSpec {
                client_id: "static/hooks".into(),
                access_token: "wrong".into(),
                scopes: vec![],
            }))
            .unwrap();
        let mut headers = ct.to_vec();
        headers.push(("Authorization", format!("Hawk {header}")));
        let (status, h, err) = raw(&root, "PUT", &path, &headers, body.as_bytes());
        assert_eq!(status, 401);
        assert_eq!(h.get("www-authenticate").map(String::as_str), Some("hawk"));
        assert_eq!(err["code"], json!("AuthenticationFailed"));
        assert_eq!(fake.create_task_requests().len(), 5);
    }

    #[tokio::test]
    async fn payload_hash_must_match_the_body() {
        let fake = FakeTaskcluster::start_default();
        let svc = fake.service_client().clone();
        let root = fake.root_url();
        let port = fake.addr.port();
        let path = format!("/api/queue/v1/task/{}", slug());
        let body = task("hashed").to_string();
        let send = |signed_body: &[u8]| {
            let hash = hawk::PayloadHasher::hash("application/json", hawk::SHA256, signed_body).unwrap();
            let header = hawk::RequestBuilder::new("PUT", "127.0.0.1", port, &path)
                .hash(&hash[..])
                .request()
                .make_header(&hawk_creds(&svc))
                .unwrap();
            let headers =
                [("Content-Type", "application/json".to_string()), ("Authorization", format!("Hawk {header}"))];
            raw(&root, "PUT", &path, &headers, body.as_bytes())
        };
        let (status, _, err) = send(b"{}");
        assert_eq!(status, 401);
        assert!(err["message"].as_str().unwrap().starts_with("Invalid payload hash: "), "{err}");
        let (status, _, reply) = send(body.as_bytes());
        assert_eq!(status, 200, "{reply}");
        assert_eq!(fake.created_tasks().len(), 1);
    }

    #[test]
    fn works_from_plain_threads_and_stops_when_dropped() {
        let fake = FakeTaskcluster::start_default();
        let root = fake.root_url();
        let r = root.clone();
        let (status, _, body) =
            std::thread::spawn(move || raw(&r, "GET", "/api/auth/v1/ping", &[], b"")).join().unwrap();
        assert_eq!((status, body), (200, json!({"alive": true, "uptime": 1})));
        let started = Instant::now();
        drop(fake);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(TcpStream::connect(root.trim_start_matches("http://")).is_err());
    }

    #[tokio::test]
    async fn drop_with_open_client_connections_does_not_hang() {
        let fake = FakeTaskcluster::start_default();
        let addr = fake.addr;
        let q = queue(&fake, creds(fake.service_client()), None);
        q.createTask(&slug(), &task("x")).await.unwrap(); // leaves a keep-alive connection open
        let started = Instant::now();
        drop(fake);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(TcpStream::connect(addr).is_err());
        drop(q);
    }

    #[tokio::test]
    async fn wait_for_tasks_waits_for_late_tasks() {
        let fake = FakeTaskcluster::start_default();
        let q = queue(&fake, creds(fake.service_client()), None);
        assert!(fake.wait_for_tasks(1, Duration::from_millis(50)).await.is_empty());
        let id = slug();
        let id2 = id.clone();
        let late = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            q.createTask(&id2, &task("late")).await.unwrap();
        });
        let tasks = fake.wait_for_tasks(1, Duration::from_secs(10)).await;
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].task_id, id);
        late.await.unwrap();
    }

    #[test]
    fn role_expansion() {
        let mut roles = BTreeMap::new();
        roles.insert("hook-id:g/h".to_string(), vec!["a:1".to_string(), "assume:inner".to_string()]);
        roles.insert("hook-id:w/*".to_string(), vec!["b:*".to_string()]);
        roles.insert("inner".to_string(), vec!["c:1".to_string()]);
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            expand_scopes(&s(&["assume:hook-id:g/h"]), &roles),
            s(&["a:1", "assume:hook-id:g/h", "assume:inner", "c:1"])
        );
        assert_eq!(expand_scopes(&s(&["assume:hook-id:w/x"]), &roles), s(&["assume:hook-id:w/x", "b:*"]));
        // a star scope grants every role it matches, and covered scopes are dropped
        assert_eq!(
            expand_scopes(&s(&["assume:hook-id:*", "b:2"]), &roles),
            s(&["a:1", "assume:hook-id:*", "assume:inner", "b:*", "c:1"])
        );
        assert_eq!(expand_scopes(&s(&["x:1"]), &roles), s(&["x:1"]));
        assert!(satisfies_scope(&s(&["queue:*"]), "queue:create-task:a/b"));
        assert!(!satisfies_scope(&s(&["queue:create-task:a/b"]), "queue:create-task:a/c"));
    }

    #[test]
    fn certificate_signature_matches_the_taskcluster_client() {
        // the fake verifies certificates produced by the official client byte for byte
        let issuer = ClientSpec { client_id: "issuer".into(), access_token: "tok".into(), scopes: vec!["*".into()] };
        let mut st = State::default();
        st.clients.insert(issuer.client_id.clone(), issuer.clone());
        for named in [false, true] {
            let temp = if named {
                creds(&issuer).create_named_temp_creds("t/1", Duration::from_secs(60), ["a", "b:*"])
            } else {
                creds(&issuer).create_temp_creds(Duration::from_secs(60), ["a", "b:*"])
            }
            .unwrap();
            let ext = ext_b64(json!({
                "certificate": serde_json::from_str::<Value>(temp.certificate.as_ref().unwrap()).unwrap()
            }));
            let loaded =
                load_credentials(&st, &temp.client_id, Some(&ext)).unwrap_or_else(|e| panic!("named={named}: {e}"));
            assert_eq!(loaded.key, temp.access_token);
            assert_eq!(loaded.client_id, temp.client_id);
            assert_eq!(loaded.scopes, vec!["a", "assume:anonymous", "b:*"]);
            assert!(loaded.expires < Utc::now() + chrono::Duration::seconds(61));
        }
    }
}
