//! Starts the real api-server on a random port against a fresh database and a fake Taskcluster.
#![allow(dead_code, reason = "not every test file uses every helper")]

use clap::Parser as _;
use futures::StreamExt as _;
use hooks_core::Keyring;
use hooks_core::pulse::Names;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{ExchangeKind, message::Delivery};
use serde_json::{Value, json};
use taskcluster::{ClientBuilder, Credentials, Hooks};
use test_support::{BrokerCleanup, FakeTaskcluster, TestDb, broker};

pub const TESTER_TOKEN: &str = "tester-access-token-0123456789abcdefghijklmn";
pub const LIMITED_TOKEN: &str = "limited-access-token-0123456789abcdefghijklm";

pub struct TestApp {
    pub root_url: String,
    pub db: TestDb,
    pub fake: FakeTaskcluster,
    pub http: reqwest::Client,
    /// This test's own PULSE_NAMESPACE.
    pub names: Names,
    _cleanup: BrokerCleanup,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&broker::pulse_url(), FakeTaskcluster::start_default(), &[]).await
    }

    /// Like [`TestApp::spawn`], with the server pointed at `database_url` instead of the test database.
    pub async fn spawn_with_database_url(database_url: &str) -> Self {
        let flag = format!("--database-url={database_url}");
        Self::spawn_with(&broker::pulse_url(), FakeTaskcluster::start_default(), &[&flag]).await
    }

    /// An api-server publishing hook changes to the broker at `pulse_url` (which may be down).
    pub async fn spawn_with_broker(pulse_url: &str) -> Self {
        Self::spawn_with(pulse_url, FakeTaskcluster::start_default(), &[]).await
    }

    /// An api-server against `fake` (whose first client is the service's), with more `--flag=value` settings.
    pub async fn spawn_with(pulse_url: &str, fake: FakeTaskcluster, extra: &[&str]) -> Self {
        let db = TestDb::new().await;
        let service = fake.service_client().clone();
        let key = Keyring::generate_key().unwrap();
        let names = Names::new(format!("hooks-test-{}", broker::random_suffix()));
        let cleanup = BrokerCleanup::new(broker::pulse_url());
        for exchange in names.hook_changed_exchanges() {
            cleanup.exchange(exchange);
        }
        // `--flag=value`: a random token may start with '-', which clap would otherwise read as a flag.
        let static_clients = json!([
            {"clientId": "tester", "accessToken": TESTER_TOKEN, "scopes": ["*"]},
            {"clientId": "limited", "accessToken": LIMITED_TOKEN, "scopes": ["hooks:get:g:*", "hooks:modify-hook:g/*"]},
        ]);
        let args = [
            "hooks-api-server".to_owned(),
            "--listen=127.0.0.1:0".to_owned(),
            format!("--database-url={}", db.url),
            "--no-migrate".to_owned(),
            format!("--crypto-key={}", key.expose()),
            format!("--root-url={}", fake.root_url()),
            format!("--client-id={}", service.client_id),
            format!("--access-token={}", service.access_token),
            "--queue-retries=0".to_owned(),
            format!("--static-clients={static_clients}"),
            format!("--pulse-url={pulse_url}"),
            format!("--pulse-namespace={}", names.namespace()),
        ];
        // A flag in `extra` replaces the default one (clap refuses a flag given twice).
        let name = |a: &str| a.split('=').next().unwrap_or_default().to_owned();
        let replaced: Vec<String> = extra.iter().map(|a| name(a)).collect();
        let args = args.into_iter().filter(|a| !replaced.contains(&name(a)));
        let settings = api_server::Settings::try_parse_from(args.chain(extra.iter().map(|a| (*a).to_owned()))).unwrap();
        let app = api_server::Application::build(settings).await.unwrap();
        let root_url = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        Self { root_url, db, fake, http: reqwest::Client::new(), names, _cleanup: cleanup }
    }

    /// A client holding every scope.
    pub fn hooks(&self) -> Hooks {
        self.hooks_as("tester", TESTER_TOKEN)
    }

    /// A client with the given credentials.
    pub fn hooks_as(&self, client_id: &str, access_token: &str) -> Hooks {
        Hooks::new(ClientBuilder::new(&self.root_url).credentials(Credentials::new(client_id, access_token))).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/hooks/v1{path}", self.root_url)
    }
}

pub fn hook_body() -> Value {
    json!({
        "metadata": {"name": "test hook", "description": "d", "owner": "owner@example.com", "emailOnError": true},
        "bindings": [],
        "schedule": [],
        "task": {
            "provisionerId": "no-provisioner",
            "workerType": "test-worker",
            "payload": {"from": "${firedBy}"},
            "metadata": {"name": "t", "description": "d", "owner": "owner@example.com", "source": "http://example.com"},
        },
        "triggerSchema": {"type": "object", "properties": {"location": {"type": "string"}, "taskId": {"type": "string"}}, "additionalProperties": false},
    })
}

/// The error body's code and the HTTP status of a failed call made with the official client.
pub fn status_of(err: &anyhow::Error) -> Option<u16> {
    taskcluster::err_status_code(err).map(|s| s.as_u16())
}

/// A consumer on an exclusive queue bound to all three hook-changed exchanges of a test's namespace.
pub struct HookChanges {
    consumer: lapin::Consumer,
    _connection: lapin::Connection,
}

impl HookChanges {
    /// Binds before anything is published; declares the exchanges itself, as the api-server would.
    pub async fn tap(names: &Names) -> Self {
        let connection = broker::connect(&broker::pulse_url()).await;
        let channel = connection.create_channel().await.unwrap();
        let options = QueueDeclareOptions { exclusive: true, auto_delete: true, ..QueueDeclareOptions::default() };
        let queue = channel.queue_declare("".into(), options, FieldTable::default()).await.unwrap();
        for exchange in names.hook_changed_exchanges() {
            let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
            channel
                .exchange_declare(exchange.as_str().into(), ExchangeKind::Topic, durable, FieldTable::default())
                .await
                .unwrap();
            channel
                .queue_bind(
                    queue.name().clone(),
                    exchange.as_str().into(),
                    "#".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .unwrap();
        }
        let consumer = channel
            .basic_consume(queue.name().clone(), "tap".into(), BasicConsumeOptions::default(), FieldTable::default())
            .await
            .unwrap();
        Self { consumer, _connection: connection }
    }

    /// The next announcement (waiting at most `timeout`), acknowledged.
    pub async fn next(&mut self, timeout: std::time::Duration) -> Option<Delivery> {
        let delivery = tokio::time::timeout(timeout, self.consumer.next()).await.ok()??.unwrap();
        delivery.ack(BasicAckOptions::default()).await.unwrap();
        Some(delivery)
    }
}

/// The real `hooks-api-server` binary on a free port, against `db` and `fake`, with the static client `tester`.
pub struct ApiProcess {
    pub child: std::process::Child,
    pub root_url: String,
}

impl ApiProcess {
    pub async fn start(db: &TestDb, fake: &FakeTaskcluster, env: &[(&str, &str)]) -> Self {
        let service = fake.service_client();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let clients = json!([{"clientId": "tester", "accessToken": TESTER_TOKEN, "scopes": ["*"]}]);
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_hooks-api-server"))
            .env_clear()
            .env("HOOKS_LISTEN", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", &db.url)
            .env("HOOKS_NO_MIGRATE", "true")
            .env("HOOKS_CRYPTO_KEY", Keyring::generate_key().unwrap().expose())
            .env("TASKCLUSTER_ROOT_URL", fake.root_url())
            .env("TASKCLUSTER_CLIENT_ID", &service.client_id)
            .env("TASKCLUSTER_ACCESS_TOKEN", &service.access_token)
            .env("HOOKS_STATIC_CLIENTS", clients.to_string())
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting hooks-api-server");
        let root_url = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while reqwest::get(format!("{root_url}/api/hooks/v1/ping")).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "the api-server never answered ping");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Self { child, root_url }
    }

    /// A client holding every scope.
    pub fn hooks(&self) -> Hooks {
        Hooks::new(ClientBuilder::new(&self.root_url).credentials(Credentials::new("tester", TESTER_TOKEN))).unwrap()
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Hawk `Authorization` header for `method` on `resource` as if addressed to `host:port`.
pub fn hawk_header(client_id: &str, token: &str, method: &str, host: &str, port: u16, resource: &str) -> String {
    let credentials =
        hawk::Credentials { id: client_id.to_owned(), key: hawk::Key::new(token.as_bytes(), hawk::SHA256).unwrap() };
    let header = hawk::RequestBuilder::new(method, host, port, resource).request().make_header(&credentials).unwrap();
    format!("Hawk {header}")
}

/// The port the api-server listens on.
pub fn port_of(app: &TestApp) -> u16 {
    app.root_url.rsplit(':').next().unwrap().parse().unwrap()
}

/// `method` on `/api/hooks/v1{path}` signed by `tester` for the address it is sent to, with an optional JSON body;
/// the status and the JSON answer.
pub async fn signed(app: &TestApp, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let resource = format!("/api/hooks/v1{path}");
    let authorization = hawk_header("tester", TESTER_TOKEN, method.as_str(), "127.0.0.1", port_of(app), &resource);
    let mut request = app.http.request(method, app.url(path)).header("authorization", authorization);
    if let Some(body) = body {
        request = request.json(body);
    }
    let res = request.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// An error body's message without the `\n\n---\n\n* method: ...` details every error carries.
pub fn headline(body: &Value) -> &str {
    let message = body["message"].as_str().unwrap_or_else(|| panic!("no message in {body}"));
    message.rsplit_once("\n\n---\n\n* method:").unwrap_or_else(|| panic!("no `---` suffix in {message:?}")).0
}
