//! Hawk verified by the deployment's auth service (`POST <rootUrl>/api/auth/v1/authenticate-hawk`), as every
//! Taskcluster service verifies it, followed by taskcluster-lib-api's own payload-hash check.
//!
//! What is cached: successful bewit checks, for at most [`BEWIT_CACHE_TTL`] and never past the bewit's or the
//! credentials' expiry, because a signed URL is meant to be used many times. Header checks are not cached: a
//! Hawk header is single-use (its nonce is recorded), so a cached answer could only ever serve a replay.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::hawk::{check_payload_hash, decode_bewit, find_bewit, parse_authorization, unix_seconds};
use super::replay::{DEFAULT_CAPACITY, ReplayCache, ReplayKey};
use super::{AuthError, Authenticated, Caller, Presented, Request, Scheme, TIMESTAMP_SKEW, Verifier};
use crate::deployment::Deployment;

/// The longest a successful bewit check is reused without asking the auth service again.
const BEWIT_CACHE_TTL: Duration = Duration::from_secs(30);
/// Most bewit checks kept at once.
const BEWIT_CACHE_CAPACITY: usize = 4096;

/// Asks the deployment's auth service to verify each request.
#[derive(Debug)]
pub struct RemoteAuth {
    endpoint: String,
    /// The deployment's shared client; each call carries its own timeout.
    http: reqwest::Client,
    timeout: Duration,
    replay: ReplayCache,
    bewits: Mutex<HashMap<String, (Authenticated, Instant)>>,
}

/// The auth service's answer (`authenticate-hawk-response.json`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    status: String,
    message: Option<String>,
    client_id: Option<String>,
    scopes: Option<Vec<String>>,
    expires: Option<String>,
    scheme: Option<String>,
    hash: Option<serde_json::Value>,
}

impl RemoteAuth {
    /// How long a call to the auth service may take, unless told otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A verifier asking the auth service of `deployment`, giving up on a call after `timeout`.
    pub fn new(deployment: &Deployment, timeout: Duration) -> Self {
        Self {
            endpoint: deployment.url("api/auth/v1/authenticate-hawk"),
            http: deployment.http().clone(),
            timeout,
            replay: ReplayCache::new(TIMESTAMP_SKEW, DEFAULT_CAPACITY),
            bewits: Mutex::new(HashMap::new()),
        }
    }

    async fn ask(&self, request: &Request<'_>) -> Result<Answer, AuthError> {
        let mut body = json!({
            "method": request.method.to_ascii_lowercase(),
            // A bewit travels inside the resource.
            "resource": request.path_and_query,
            "host": request.host,
            "port": request.port,
        });
        if let Some(authorization) = request.authorization {
            body["authorization"] = json!(authorization);
        }
        if let Some(ip) = request.source_ip {
            body["sourceIp"] = json!(ip);
        }
        let unavailable = |e: reqwest::Error| AuthError::Unavailable(format!("POST {}: {e}", self.endpoint));
        let response =
            self.http.post(&self.endpoint).timeout(self.timeout).json(&body).send().await.map_err(unavailable)?;
        let status = response.status();
        if !status.is_success() {
            // The body is not repeated: its requestInfo echoes the request, Authorization header included.
            return Err(AuthError::Unavailable(format!("POST {} answered {status}", self.endpoint)));
        }
        response.json::<Answer>().await.map_err(unavailable)
    }

    fn cached_bewit(&self, key: &str) -> Option<Authenticated> {
        let mut cache = self.bewits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match cache.get(key) {
            Some((caller, until)) if Instant::now() < *until => Some(caller.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn cache_bewit(&self, key: String, request: &Request<'_>, caller: &Authenticated) {
        let now = SystemTime::now();
        let Some(found) = find_bewit(request.path_and_query) else { return };
        let Ok(bewit) = decode_bewit(&found, request.method, now) else { return };
        let bewit_left = u64::try_from(bewit.exp).unwrap_or(0).saturating_sub(unix_seconds(now));
        let mut ttl = BEWIT_CACHE_TTL.min(Duration::from_secs(bewit_left));
        if let Some(expires) = caller.expires {
            let left = (expires - DateTime::<Utc>::from(now)).to_std().unwrap_or_default();
            ttl = ttl.min(left);
        }
        if ttl.is_zero() {
            return;
        }
        let mut cache = self.bewits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= BEWIT_CACHE_CAPACITY {
            let instant = Instant::now();
            cache.retain(|_, (_, until)| *until > instant);
            if cache.len() >= BEWIT_CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(key, (caller.clone(), Instant::now() + ttl));
    }
}

#[async_trait::async_trait]
impl Verifier for RemoteAuth {
    async fn authenticate(&self, request: &Request<'_>) -> Result<Caller, AuthError> {
        let presented = Presented::of(request)?;
        let bewit_key = match presented {
            // taskcluster-lib-api doesn't call the auth service for a request without credentials.
            Presented::Nothing => return Ok(Caller::Anonymous),
            Presented::Bewit => {
                let key = format!(
                    "{}\n{}\n{}\n{}",
                    request.method.to_ascii_uppercase(),
                    request.host.to_ascii_lowercase(),
                    request.port,
                    request.path_and_query
                );
                if let Some(caller) = self.cached_bewit(&key) {
                    return Ok(Caller::Client(caller));
                }
                Some(key)
            }
            Presented::Header(_) => None,
        };

        let answer = self.ask(request).await?;
        match answer.status.as_str() {
            "auth-success" => {}
            "auth-failed" => {
                return Err(AuthError::Failed(answer.message.unwrap_or_else(|| "Unauthorized".to_owned())));
            }
            "no-auth" => return Ok(Caller::Anonymous),
            other => return Err(AuthError::Unavailable(format!("unknown authenticateHawk status {other:?}"))),
        }
        if let (Some(serde_json::Value::String(hash)), Some("hawk")) = (&answer.hash, answer.scheme.as_deref()) {
            check_payload_hash(hash, request.content_type, request.body)?;
        }
        let scopes =
            answer.scopes.ok_or_else(|| AuthError::Unavailable("authenticateHawk gave no scopes".to_owned()))?;
        let expires = answer.expires.as_deref().and_then(|e| DateTime::parse_from_rfc3339(e).ok()).map(|e| e.to_utc());
        let mut caller = Authenticated {
            // taskcluster-lib-api's name for a success that doesn't say who.
            client_id: answer.client_id.unwrap_or_else(|| "unknown-clientId".to_owned()),
            scopes,
            expires,
            scheme: Scheme::Header,
            replay: None,
        };
        match (presented, bewit_key) {
            (Presented::Header(authorization), _) => {
                // The auth service doesn't refuse replays; refuse them here, as StaticClients does.
                let signed = parse_authorization(authorization).ok().and_then(|a| a.require().ok());
                if let Some(signed) = signed
                    && let Ok(ts) = signed.ts.parse::<u64>()
                {
                    let key = ReplayKey::new(signed.id, signed.nonce, ts);
                    if !self.replay.record(key, unix_seconds(SystemTime::now())) {
                        return Err(AuthError::unauthorized("Invalid nonce"));
                    }
                    caller.replay = Some(key);
                }
            }
            (_, Some(key)) => {
                caller.scheme = Scheme::Bewit;
                self.cache_bewit(key, request, &caller);
            }
            _ => {}
        }
        Ok(Caller::Client(caller))
    }

    fn request_failed(&self, caller: &Caller) {
        self.replay.forget(caller);
    }
}
