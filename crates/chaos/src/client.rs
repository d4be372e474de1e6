//! How the suite calls the api-server: the official Taskcluster client (which retries 5xx and network errors, as
//! every real caller does), and a one-shot signed `triggerHook` on a fresh connection each time, which tells a
//! connection the server refused (never accepted) from a request it accepted and then failed.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;
use taskcluster::{ClientBuilder, Credentials, Hooks, Retry};

/// The static client the suite calls as, holding every scope.
pub const CLIENT_ID: &str = "chaos";
/// Its access token.
pub const ACCESS_TOKEN: &str = "chaos-access-token-0123456789abcdefghijklmnopq";

/// `HOOKS_STATIC_CLIENTS` for the api-server.
pub fn static_clients() -> String {
    serde_json::json!([{"clientId": CLIENT_ID, "accessToken": ACCESS_TOKEN, "scopes": ["*"]}]).to_string()
}

/// The official hooks client on the api-server at `root_url`, retrying as it does by default (5 retries).
pub fn official(root_url: &str) -> anyhow::Result<Hooks> {
    let builder = ClientBuilder::new(root_url)
        .credentials(Credentials::new(CLIENT_ID, ACCESS_TOKEN))
        .retry(Retry::default())
        .timeout(Duration::from_secs(60));
    Hooks::new(builder).context("the official hooks client")
}

/// How a one-shot call ended.
#[derive(Debug)]
pub enum Outcome {
    /// 200, with the taskId.
    Created(String),
    /// The connection was refused: the server was not accepting (any more).
    Refused,
    /// Accepted and then failed: a 5xx or other non-200 answer, or the connection reset or closed unanswered.
    Failed(String),
}

/// `triggerHook` without retries, each call on a connection of its own (no keep-alive, so that a failure can't be
/// an idle connection the server closed before the request was sent).
pub struct OneShot {
    http: reqwest::Client,
    addr: String,
    port: u16,
    credentials: hawk::Credentials,
}

impl OneShot {
    /// Calls the api-server at `addr` (`127.0.0.1:<port>`).
    pub fn new(addr: &str) -> anyhow::Result<Self> {
        let port = addr.rsplit(':').next().and_then(|p| p.parse().ok()).context("an address with a port")?;
        let http = reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(60)).build()?;
        let key =
            hawk::Key::new(ACCESS_TOKEN.as_bytes(), hawk::SHA256).map_err(|e| anyhow::anyhow!("hawk key: {e}"))?;
        let credentials = hawk::Credentials { id: CLIENT_ID.to_owned(), key };
        Ok(Self { http, addr: addr.to_owned(), port, credentials })
    }

    /// Triggers `group/hook` with `payload`.
    pub async fn trigger(&self, group: &str, hook: &str, payload: &Value) -> Outcome {
        let path = format!("/api/hooks/v1/hooks/{group}/{hook}/trigger");
        let header = match self.sign("POST", &path) {
            Ok(h) => h,
            Err(e) => return Outcome::Failed(format!("signing: {e:#}")),
        };
        let sent = self
            .http
            .post(format!("http://{}{path}", self.addr))
            .header("authorization", header)
            .json(payload)
            .send()
            .await;
        let res = match sent {
            Ok(res) => res,
            Err(e) if e.is_connect() => return Outcome::Refused,
            Err(e) => return Outcome::Failed(with_causes(&e)),
        };
        let status = res.status().as_u16();
        match res.json::<Value>().await {
            Ok(body) if status == 200 => match body["status"]["taskId"].as_str() {
                Some(id) => Outcome::Created(id.to_owned()),
                None => Outcome::Failed(format!("200 without a taskId: {body}")),
            },
            Ok(body) => Outcome::Failed(format!("{status}: {}", body["code"])),
            Err(e) => Outcome::Failed(format!("{status}, unreadable body: {e}")),
        }
    }

    fn sign(&self, method: &str, path: &str) -> anyhow::Result<String> {
        let request = hawk::RequestBuilder::new(method, "127.0.0.1", self.port, path).request();
        let header = request.make_header(&self.credentials).map_err(|e| anyhow::anyhow!("hawk header: {e}"))?;
        Ok(format!("Hawk {header}"))
    }
}

/// `error: cause: cause`, down to the root (reqwest's own message names only the URL).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}
