//! Authentication as the API framework does it for every service (`libraries/api`, `remoteAuthentication`):
//! the request's host, port and resource, handed to the signature validator, then the payload hash.

use std::str::FromStr;

use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose;
use hooks_core::constant_time_eq;

use super::Directory;
use super::auth::{AuthInput, AuthOutcome, parse_ext, signature_validator, string_array};
use super::framework::{ApiError, content_type, header_str};

/// Who made a request, once authenticated.
pub(super) enum Caller {
    Authenticated { client_id: String, scopes: Vec<String> },
    Anonymous,
}

/// The name and port of a `Host` header.
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

/// Whether the query carries a non-empty `bewit`.
fn query_has_bewit(req: &HttpRequest) -> bool {
    req.query_string().split('&').any(|kv| kv.strip_prefix("bewit=").is_some_and(|v| !v.is_empty()))
}

/// Authenticates `req` (its Hawk header or bewit, and its payload hash) against `dir`.
pub(super) fn authenticate_request(dir: &Directory, req: &HttpRequest, body: &[u8]) -> Result<Caller, ApiError> {
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
    match signature_validator(dir, &input) {
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
pub(super) fn peek_identity(req: &HttpRequest) -> (String, Option<Vec<String>>) {
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
