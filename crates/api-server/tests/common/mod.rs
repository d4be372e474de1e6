//! Starts the real api-server on a random port against a fresh database and a fake Taskcluster.
#![allow(dead_code, reason = "not every test file uses every helper")]

use clap::Parser as _;
use hooks_core::crypto::Keyring;
use serde_json::{Value, json};
use taskcluster::{ClientBuilder, Credentials, Hooks};
use test_support::{FakeTaskcluster, TestDb};

pub const TESTER_TOKEN: &str = "tester-access-token-0123456789abcdefghijklmn";
pub const LIMITED_TOKEN: &str = "limited-access-token-0123456789abcdefghijklm";

pub struct TestApp {
    pub root_url: String,
    pub db: TestDb,
    pub fake: FakeTaskcluster,
    pub http: reqwest::Client,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with_database_url(None).await
    }

    /// Like [`TestApp::spawn`], with the server pointed at `database_url` instead of the test database.
    pub async fn spawn_with_database_url(database_url: Option<String>) -> Self {
        let db = TestDb::new().await;
        let fake = FakeTaskcluster::start_default();
        let service = fake.service_client().clone();
        let key = Keyring::generate_key().unwrap();
        // `--flag=value`: a random token may start with '-', which clap would otherwise read as a flag.
        let static_clients = json!([
            {"clientId": "tester", "accessToken": TESTER_TOKEN, "scopes": ["*"]},
            {"clientId": "limited", "accessToken": LIMITED_TOKEN, "scopes": ["hooks:get:g:*", "hooks:modify-hook:g/*"]},
        ]);
        let settings = api_server::Settings::try_parse_from([
            "hooks-api-server".to_owned(),
            "--listen=127.0.0.1:0".to_owned(),
            format!("--database-url={}", database_url.unwrap_or_else(|| db.url.clone())),
            "--no-migrate".to_owned(),
            format!("--crypto-key={}", key.expose()),
            format!("--root-url={}", fake.root_url()),
            format!("--client-id={}", service.client_id),
            format!("--access-token={}", service.access_token),
            "--queue-retries=0".to_owned(),
            format!("--static-clients={static_clients}"),
        ])
        .unwrap();
        let app = api_server::Application::build(settings).await.unwrap();
        let root_url = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        Self { root_url, db, fake, http: reqwest::Client::new() }
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
