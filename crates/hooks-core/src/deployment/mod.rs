//! The Taskcluster deployment the service calls (queue, notify, auth) through one HTTP client: one connection
//! pool and one TLS configuration, the system's CA certificates loaded once, whatever the hook or the call.
//!
//! The `taskcluster` client crate builds a client (and so a connection pool and a TLS configuration) for every
//! set of `authorizedScopes`, and cannot take a shared one; hooks create each task with the hook's own role, so
//! signing is done here instead, exactly as that crate puts it on the wire (see [`signing`]).

mod error;
mod retry;
mod signing;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Response, Url};
use serde::Serialize;
use serde_json::Value;

pub use error::{CallError, DeploymentError};
pub use retry::RetryPolicy;

use crate::SecretString;

/// The longest one request may take, connecting included (the `taskcluster` crate's default).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest connecting may take: a queue that doesn't accept within this is as good as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Taskcluster deployment and the service's credentials for it; clones share one HTTP client.
#[derive(Clone)]
pub struct Deployment {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    root_url: Url,
    /// Host and port as Hawk signs them (the root URL's, whatever the connection resolves to).
    host: String,
    port: u16,
    credentials: hawk::Credentials,
}

impl fmt::Debug for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The access token stays out of logs.
        f.debug_struct("Deployment")
            .field("root_url", &self.inner.root_url.as_str())
            .field("client_id", &self.inner.credentials.id)
            .finish_non_exhaustive()
    }
}

impl Deployment {
    /// The deployment at `root_url`, called with the service's `client_id` and `access_token`, keeping up to
    /// `connections` idle connections open between calls (as many as the daemon makes at once).
    pub fn new(
        root_url: &str,
        client_id: &str,
        access_token: &SecretString,
        connections: usize,
    ) -> Result<Self, DeploymentError> {
        let unusable = |problem: String| DeploymentError::RootUrl { root_url: root_url.to_owned(), problem };
        let parsed = Url::parse(root_url.trim_end_matches('/')).map_err(|e| unusable(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(unusable("must be an http or https URL".to_owned()));
        }
        let host = parsed.host_str().ok_or_else(|| unusable("has no host".to_owned()))?.to_owned();
        let port = parsed.port_or_known_default().ok_or_else(|| unusable("has no port".to_owned()))?;
        let key = hawk::Key::new(access_token.expose().as_bytes(), hawk::SHA256)
            .map_err(|_| DeploymentError::AccessToken { client_id: client_id.to_owned() })?;
        // HTTP/2 is offered through ALPN over TLS (reqwest's default `http2` feature): behind a load balancer
        // that accepts it, every call shares one multiplexed connection.
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_max_idle_per_host(connections.max(1))
            // The queue doesn't redirect; a redirect would carry the signed request somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DeploymentError::Client(format!("{:#}", anyhow::Error::new(e))))?;
        let credentials = hawk::Credentials { id: client_id.to_owned(), key };
        Ok(Self { inner: Arc::new(Inner { http, root_url: parsed, host, port, credentials }) })
    }

    /// The shared HTTP client, for calls that are not signed (the auth service's `authenticateHawk`).
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// `<rootUrl>/<path>`; `path` has no leading `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.inner.root_url.as_str().trim_end_matches('/'))
    }

    /// Sends `body` as JSON to `<rootUrl>/<path>`, signed with the service's credentials restricted to
    /// `authorized_scopes`, retrying 5xx answers and network errors as `retry` says. The answer's body is read
    /// and dropped (so its connection goes back to the pool).
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
        authorized_scopes: &[&str],
        retry: &RetryPolicy,
    ) -> Result<(), CallError> {
        let url = Url::parse(&self.url(path))
            .map_err(|e| CallError::Unavailable { status: None, message: format!("{path}: {e}") })?;
        let body = serde_json::to_vec(body).map_err(|e| CallError::Unavailable {
            status: None,
            message: format!("cannot serialize the request body: {e}"),
        })?;
        let ext = signing::ext(authorized_scopes);
        let hash = signing::payload_hash(&body);
        // Copies of references, moved into each attempt.
        let (method, url, body, hash, ext) = (&method, &url, &body, &hash, &ext);
        retry
            .run(|| async move {
                // Signed for each attempt: a retry carries a fresh timestamp and nonce, so no server sees a replay.
                let authorization = signing::authorization(
                    &self.inner.credentials,
                    &signing::Target { method: method.as_str(), host: &self.inner.host, port: self.inner.port },
                    url.path(),
                    hash,
                    ext,
                )?;
                let sent = self
                    .inner
                    .http
                    .request(method.clone(), url.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .header(AUTHORIZATION, authorization)
                    .body(body.clone())
                    .send()
                    .await;
                answer(sent).await
            })
            .await
    }

    /// The JSON at `GET <rootUrl>/<path>`, or `None` when there is nothing there (404); unsigned (for public
    /// resources such as a task's status), retrying 5xx answers and network errors as `retry` says.
    pub async fn get_public(&self, path: &str, retry: &RetryPolicy) -> Result<Option<Value>, CallError> {
        let url = self.url(path);
        retry
            .run(|| async {
                match checked(self.inner.http.get(&url).send().await).await {
                    Ok(response) => {
                        let body = response
                            .bytes()
                            .await
                            .map_err(|e| CallError::Unavailable { status: None, message: error_chain(e) })?;
                        serde_json::from_slice(&body).map(Some).map_err(|e| CallError::Unavailable {
                            status: None,
                            message: format!("the answer is not JSON: {e}"),
                        })
                    }
                    Err(CallError::Rejected { status: 404, .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await
    }
}

/// What one attempt's answer means, its body not needed.
async fn answer(sent: reqwest::Result<Response>) -> Result<(), CallError> {
    let response = checked(sent).await?;
    // The task (or email) exists once the status says so, whatever happens to the rest of the body.
    let _ = response.bytes().await;
    Ok(())
}

/// The response if it is a success; otherwise what its status means (its body read for the error).
async fn checked(sent: reqwest::Result<Response>) -> Result<Response, CallError> {
    let response = sent.map_err(|e| CallError::Unavailable { status: None, message: error_chain(e) })?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    // reqwest's own words ("HTTP status client error (403 Forbidden) for url (…)"), as the taskcluster crate gave.
    let described = response.error_for_status_ref().err().map(error_chain).unwrap_or_else(|| status.to_string());
    let body = response.bytes().await.unwrap_or_default();
    if status.is_client_error() {
        Err(CallError::rejected(status.as_u16(), &body, described))
    } else {
        Err(CallError::Unavailable { status: Some(status.as_u16()), message: described })
    }
}

/// An error and its sources, `: `-separated.
fn error_chain(e: reqwest::Error) -> String {
    format!("{:#}", anyhow::Error::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(root_url: &str) -> Result<Deployment, DeploymentError> {
        Deployment::new(root_url, "c", &SecretString::new("t"), 4)
    }

    #[test]
    fn unusable_root_urls_are_refused_saying_why() {
        assert_eq!(deployment("not a url").unwrap_err().to_string(), "\"not a url\" relative URL without a base");
        assert_eq!(
            deployment("ftp://example.com").unwrap_err().to_string(),
            "\"ftp://example.com\" must be an http or https URL"
        );
    }

    #[test]
    fn urls_and_signatures_use_the_root_url() {
        let d = deployment("https://tc.example.com/").unwrap();
        assert_eq!(d.url("api/auth/v1/authenticate-hawk"), "https://tc.example.com/api/auth/v1/authenticate-hawk");
        assert_eq!((d.inner.host.as_str(), d.inner.port), ("tc.example.com", 443));
        assert!(!format!("{d:?}").contains("\"t\""), "{d:?}");
    }
}
