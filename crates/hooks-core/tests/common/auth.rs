//! Shared by the Hawk authentication tests: requests signed by the official `taskcluster` client (and, where it
//! can't make the request wanted, by the `hawk` crate), captured as a server receives them, and the clients that
//! sign them.

use std::future::Future;
use std::time::SystemTime;

use hooks_core::auth::{AuthError, Caller, Request, StaticClients, Verifier, host_and_port};
use serde_json::{Value, json};
use taskcluster::{ClientBuilder, Credentials, Hooks, Retry};
use test_support::ClientSpec;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A request as it reached a server: everything a verifier is given.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    pub path_and_query: String,
    pub host: String,
    pub port: u16,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            path_and_query: &self.path_and_query,
            host: &self.host,
            port: self.port,
            authorization: self.authorization.as_deref(),
            body: &self.body,
            content_type: self.content_type.as_deref(),
            source_ip: Some("127.0.0.1"),
        }
    }

    /// A GET of `url` (an absolute URL, as `make_signed_url` gives) with no header.
    pub fn get(url: &str) -> Self {
        let parsed = reqwest::Url::parse(url).unwrap();
        let path_and_query = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        Captured {
            method: "GET".into(),
            path_and_query,
            host: parsed.host_str().unwrap().to_owned(),
            port: parsed.port_or_known_default().unwrap(),
            authorization: None,
            content_type: None,
            body: Vec::new(),
        }
    }
}

/// Runs `call` against a one-shot local HTTP server and returns the request it received (answered `200 {}`).
pub async fn capture<F, Fut>(call: F) -> Captured
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root_url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut raw = Vec::new();
        let mut chunk = [0u8; 8192];
        let (head_end, content_length) = loop {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the request was complete");
            raw.extend_from_slice(&chunk[..n]);
            if let Some(pos) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..pos]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                break (pos + 4, length);
            }
        };
        while raw.len() < head_end + content_length {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the body was complete");
            raw.extend_from_slice(&chunk[..n]);
        }
        let reply =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
        socket.write_all(reply.as_bytes()).await.unwrap();
        let head = String::from_utf8(raw[..head_end - 4].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let mut start = lines.next().unwrap().split(' ');
        let (method, target) = (start.next().unwrap().to_owned(), start.next().unwrap().to_owned());
        let header = |name: &str| {
            head.split("\r\n")
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        };
        let (host, port) = host_and_port(header("host").as_deref(), None, None, 80).unwrap();
        Captured {
            method,
            path_and_query: target,
            host,
            port,
            authorization: header("authorization"),
            content_type: header("content-type"),
            body: raw[head_end..head_end + content_length].to_vec(),
        }
    });
    call(root_url).await;
    server.await.unwrap()
}

pub fn no_retries() -> Retry {
    Retry { retries: 0, ..Retry::default() }
}

/// The official hooks client, as `creds`, optionally with `authorizedScopes`.
pub fn hooks_client(root_url: &str, creds: Credentials, authorized: Option<&[&str]>) -> Hooks {
    let mut builder = ClientBuilder::new(root_url).credentials(creds).retry(no_retries());
    if let Some(scopes) = authorized {
        builder = builder.authorized_scopes(scopes.iter().copied());
    }
    Hooks::new(builder).unwrap()
}

/// A `triggerHook` call with a JSON payload, signed by the official client, as the server receives it.
pub async fn trigger_signed_by(creds: Credentials, authorized: Option<&'static [&'static str]>) -> Captured {
    capture(|root| async move {
        let hooks = hooks_client(&root, creds, authorized);
        hooks.triggerHook("g", "h/1", &json!({"a": 1})).await.unwrap();
    })
    .await
}

pub const ISSUER_SCOPES: [&str; 4] =
    ["hooks:*", "assume:hook-id:*", "auth:create-client:temp/*", "queue:create-task:*"];

pub fn issuer() -> ClientSpec {
    ClientSpec {
        client_id: "static/issuer".into(),
        access_token: "issuer-token-0123456789abcdefghijklmnopq".into(),
        scopes: ISSUER_SCOPES.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn narrow() -> ClientSpec {
    ClientSpec {
        client_id: "narrow".into(),
        access_token: "narrow-token".into(),
        scopes: vec!["hooks:trigger-hook:g/*".into()],
    }
}

pub fn creds(c: &ClientSpec) -> Credentials {
    Credentials::new(c.client_id.clone(), c.access_token.clone())
}

pub fn static_clients(specs: &[ClientSpec]) -> StaticClients {
    let list: Vec<Value> = specs
        .iter()
        .map(|c| json!({"clientId": c.client_id, "accessToken": c.access_token, "scopes": c.scopes}))
        .collect();
    StaticClients::from_json(&Value::Array(list).to_string()).unwrap()
}

pub fn verifier() -> StaticClients {
    static_clients(&[issuer(), narrow()])
}

pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub async fn client_of(verifier: &dyn Verifier, captured: &Captured) -> hooks_core::auth::Authenticated {
    match verifier.authenticate(&captured.request()).await {
        Ok(Caller::Client(client)) => client,
        other => panic!("expected an authenticated client, got {other:?}"),
    }
}

pub async fn failure(verifier: &dyn Verifier, captured: &Captured) -> String {
    match verifier.authenticate(&captured.request()).await {
        Err(AuthError::Failed(message)) => message,
        other => panic!("expected an authentication failure, got {other:?}"),
    }
}

pub fn hawk_credentials(c: &ClientSpec) -> hawk::Credentials {
    hawk::Credentials { id: c.client_id.clone(), key: hawk::Key::new(c.access_token.as_bytes(), hawk::SHA256).unwrap() }
}

/// A POST signed with the `hawk` crate: `signed_body` is what the hash covers, `body` what is sent.
pub fn hawk_post(c: &ClientSpec, ts: SystemTime, signed_body: &[u8], body: &[u8]) -> Captured {
    let path = "/api/hooks/v1/hooks/g/h/trigger";
    let hash = hawk::PayloadHasher::hash("application/json", hawk::SHA256, signed_body).unwrap();
    let header = hawk::RequestBuilder::new("POST", "hooks.example.com", 443, path)
        .hash(&hash[..])
        .request()
        .make_header_full(&hawk_credentials(c), ts, slugid::v4())
        .unwrap();
    Captured {
        method: "POST".into(),
        path_and_query: path.into(),
        host: "hooks.example.com".into(),
        port: 443,
        authorization: Some(format!("Hawk {header}")),
        content_type: Some("application/json".into()),
        body: body.to_vec(),
    }
}

// ------------------------------------------------------------------------------------------------
