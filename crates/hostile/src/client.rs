//! The suite's clients: Hawk-signed HTTP calls to the api-server (made by hand, so that a 5xx is seen once and
//! not retried as the official client would, and so that headers and bodies can be hostile), and a Pulse publisher
//! that knows when a message was routed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use serde_json::Value;

/// The static client the suite calls as, holding every scope.
pub const CLIENT_ID: &str = "hostile";
/// Its access token.
pub const ACCESS_TOKEN: &str = "hostile-access-token-0123456789abcdefghijklmnop";

/// `HOOKS_STATIC_CLIENTS` for the api-server.
pub fn static_clients() -> String {
    serde_json::json!([{"clientId": CLIENT_ID, "accessToken": ACCESS_TOKEN, "scopes": ["*"]}]).to_string()
}

/// How a request is authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth<'a> {
    /// Signed by the suite's client.
    Signed,
    /// No `Authorization` header.
    None,
    /// A Hawk header carrying an `app` its MAC does not cover.
    AppUncovered,
    /// A Hawk header carrying a `dlg` other than the one its MAC covers.
    DlgMismatch,
    /// Signed 20 minutes ago (the server allows 15 minutes of clock skew).
    Stale,
    /// Signed with another key.
    WrongKey,
    /// This header value, as it is.
    Literal(&'a str),
}

impl<'a> Auth<'a> {
    /// Reads a corpus file's `auth`.
    pub fn parse(text: &'a str) -> Self {
        match text {
            "signed" => Self::Signed,
            "none" => Self::None,
            "app-uncovered" => Self::AppUncovered,
            "dlg-mismatch" => Self::DlgMismatch,
            "stale" => Self::Stale,
            "wrong-key" => Self::WrongKey,
            other => Self::Literal(other),
        }
    }
}

/// A request as sent.
pub struct Request<'a> {
    /// GET, POST, PUT...
    pub method: &'a str,
    /// Under `/api/hooks/v1`.
    pub path: &'a str,
    /// The body, as sent (already compressed).
    pub body: Option<Vec<u8>>,
    /// `Content-Type`, when there is a body.
    pub content_type: &'a str,
    /// `Content-Encoding`, if any.
    pub content_encoding: Option<&'a str>,
    /// The authorization.
    pub auth: Auth<'a>,
    /// More headers (a webhook sender's).
    pub headers: Vec<(&'static str, String)>,
}

impl<'a> Request<'a> {
    /// A signed call with a JSON body (or none).
    pub fn signed(method: &'a str, path: &'a str, body: Option<&Value>) -> Self {
        Self {
            method,
            path,
            body: body.map(|b| serde_json::to_vec(b).unwrap_or_default()),
            content_type: "application/json",
            content_encoding: None,
            auth: Auth::Signed,
            headers: Vec::new(),
        }
    }
}

/// What came back: the status and the body (JSON, or the text as a string when it isn't).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
}

/// The api-server, called over HTTP.
#[derive(Clone)]
pub struct Api {
    /// `http://127.0.0.1:<port>`.
    pub root_url: String,
    port: u16,
    http: reqwest::Client,
}

impl Api {
    /// The api-server at `addr` (`127.0.0.1:<port>`).
    pub fn new(addr: &str) -> anyhow::Result<Self> {
        let port = addr.rsplit(':').next().and_then(|p| p.parse().ok()).context("an address with a port")?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        Ok(Self { root_url: format!("http://{addr}"), port, http })
    }

    /// Sends `request`. An error only when no answer came (connection refused or reset, timeout).
    pub async fn send(&self, request: Request<'_>) -> anyhow::Result<Answer> {
        let resource = format!("/api/hooks/v1{}", request.path);
        let method = reqwest::Method::from_bytes(request.method.as_bytes())?;
        let mut builder = self.http.request(method, format!("{}{resource}", self.root_url));
        if let Some(header) = self.authorization(request.auth, request.method, &resource)? {
            builder = builder.header("authorization", header);
        }
        if let Some(body) = request.body {
            builder = builder.header("content-type", request.content_type).body(body);
        }
        if let Some(encoding) = request.content_encoding {
            builder = builder.header("content-encoding", encoding);
        }
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let res = builder.send().await.with_context(|| format!("{} {}", request.method, request.path))?;
        let status = res.status().as_u16();
        let bytes = res.bytes().await.with_context(|| format!("reading the answer to {}", request.path))?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(Answer { status, body })
    }

    /// A signed JSON call; fails unless it answers 2xx.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let answer = self.send(Request::signed(method, path, body)).await?;
        if !(200..300).contains(&answer.status) {
            bail!("{method} {path}: {} {}", answer.status, crate::corpus::shorten(&answer.body.to_string()));
        }
        Ok(answer.body)
    }

    /// Every last fire of a hook (newest first).
    pub async fn last_fires(&self, g: &str, h: &str) -> anyhow::Result<Vec<Value>> {
        let mut fires = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let path = match &token {
                Some(t) => format!("/hooks/{g}/{h}/last-fires?continuationToken={t}"),
                None => format!("/hooks/{g}/{h}/last-fires"),
            };
            let page = self.call("GET", &path, None).await?;
            fires.extend(page["lastFires"].as_array().cloned().unwrap_or_default());
            match page["continuationToken"].as_str() {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(fires),
            }
        }
    }

    fn authorization(&self, auth: Auth<'_>, method: &str, resource: &str) -> anyhow::Result<Option<String>> {
        let now = unix_now();
        Ok(Some(match auth {
            Auth::None => return Ok(None),
            Auth::Literal(header) => header.to_owned(),
            Auth::Signed => self.hawk(method, resource, ACCESS_TOKEN, now, None)?,
            Auth::Stale => self.hawk(method, resource, ACCESS_TOKEN, now - 1200, None)?,
            Auth::WrongKey => self.hawk(method, resource, "not-the-access-token", now, None)?,
            Auth::AppUncovered => {
                let header = self.hawk(method, resource, ACCESS_TOKEN, now, None)?;
                format!(r#"{header}, app="my-app""#)
            }
            Auth::DlgMismatch => {
                self.hawk(method, resource, ACCESS_TOKEN, now, Some(("my-app", "my-dlg", "their-dlg")))?
            }
        }))
    }

    /// A Hawk header, made by hand as the Node library makes it (`app` and `dlg` included in the MAC; the `hawk`
    /// crate can't sign them). `app` is (app, signed dlg, sent dlg).
    fn hawk(
        &self,
        method: &str,
        resource: &str,
        key: &str,
        ts: u64,
        app: Option<(&str, &str, &str)>,
    ) -> anyhow::Result<String> {
        let nonce = format!("n{}", test_support::broker::random_suffix());
        let port = self.port;
        let (signed_app, signed_dlg) = app.map_or(("", ""), |(a, d, _)| (a, d));
        let mut normalized = format!("hawk.1.header\n{ts}\n{nonce}\n{method}\n{resource}\n127.0.0.1\n{port}\n\n\n");
        if app.is_some() {
            normalized.push_str(&format!("{signed_app}\n{signed_dlg}\n"));
        }
        let key = hawk::Key::new(key.as_bytes(), hawk::SHA256).map_err(|e| anyhow::anyhow!("hawk key: {e}"))?;
        let mac = key.sign(normalized.as_bytes()).map_err(|e| anyhow::anyhow!("hawk mac: {e}"))?;
        let mac = base64::engine::general_purpose::STANDARD.encode(mac);
        let mut header = format!(r#"Hawk id="{CLIENT_ID}", ts="{ts}", nonce="{nonce}", mac="{mac}""#);
        if let Some((a, _, sent_dlg)) = app {
            header.push_str(&format!(r#", app="{a}", dlg="{sent_dlg}""#));
        }
        Ok(header)
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

pub use test_support::publisher::Publisher;
