//! What a request says about itself that Hawk signs: the host and port it addressed, and its payload hash.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use regex::Regex;

use super::{MAX_MATCH_LENGTH, parse_int};
use crate::auth::AuthError;
use crate::error::static_regex;
use crate::secret::constant_time_eq;

static HOST: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"^(?:(?:\r\n)?\s)*([^:]+|\[[^\]]+\])(?::(\d+))?(?:(?:\r\n)?\s)*$"));

/// The Hawk payload hash (base64 SHA-256) of `body` sent with `content_type`, as the Node library computes it:
/// the content type without parameters, trimmed and lower-cased.
pub(crate) fn payload_hash(content_type: Option<&str>, body: &[u8]) -> Result<String, AuthError> {
    let content_type = content_type.and_then(|c| c.split(';').next()).map(|c| c.trim().to_ascii_lowercase());
    let hash = hawk::PayloadHasher::hash(content_type.unwrap_or_default(), hawk::SHA256, body)
        .map_err(|e| AuthError::Unavailable(format!("could not hash the payload: {e}")))?;
    Ok(STANDARD.encode(hash))
}

/// Checks the payload hash a request signed against its body, with taskcluster-lib-api's message on mismatch.
pub(crate) fn check_payload_hash(signed: &str, content_type: Option<&str>, body: &[u8]) -> Result<(), AuthError> {
    let computed = payload_hash(content_type, body)?;
    if constant_time_eq(signed.as_bytes(), computed.as_bytes()) {
        return Ok(());
    }
    // Upstream's template says `{{hash}}` but has no `hash` detail, so it shows those braces; we show the hash.
    Err(AuthError::Failed(format!(
        "Invalid payload hash: {signed}\nComputed payload hash: {computed}\nThis happens when your request carries \
         a signed hash of the payload and the hash doesn't match the hash we've computed on the server-side."
    )))
}

/// The host name and port a request addressed, as taskcluster-lib-api works them out: from the `Host` header (its
/// port, else `default_port`: 443 behind TLS, 80 otherwise), overridden by `X-Forwarded-Port`, or by
/// `X-Forwarded-Proto: https` (443), as a reverse proxy in front of the server says.
pub fn host_and_port(
    host_header: Option<&str>,
    forwarded_port: Option<&str>,
    forwarded_proto: Option<&str>,
    default_port: u16,
) -> Result<(String, u16), AuthError> {
    let invalid_host = || AuthError::bad_request("Invalid Host header");
    let host_header = host_header.filter(|h| !h.is_empty() && h.len() <= MAX_MATCH_LENGTH).ok_or_else(invalid_host)?;
    let caps = HOST.captures(host_header).ok_or_else(invalid_host)?;
    let name = caps.get(1).ok_or_else(invalid_host)?.as_str().to_owned();
    let mut port = match caps.get(2) {
        Some(p) => p.as_str().parse::<u16>().map_err(|_| invalid_host())?,
        None => default_port,
    };
    if let Some(forwarded) = forwarded_port {
        port = parse_int(forwarded)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| AuthError::bad_request("Invalid X-Forwarded-Port header"))?;
    } else if forwarded_proto == Some("https") {
        port = 443;
    }
    Ok((name, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_hash_ignores_content_type_parameters_and_case() {
        let plain = payload_hash(Some("application/json"), b"{}").unwrap();
        assert_eq!(payload_hash(Some(" Application/JSON; charset=utf-8"), b"{}").unwrap(), plain);
        let expected = STANDARD.encode(hawk::PayloadHasher::hash("application/json", hawk::SHA256, b"{}").unwrap());
        assert_eq!(plain, expected);
        assert_ne!(payload_hash(None, b"{}").unwrap(), plain);
        assert!(check_payload_hash(&plain, Some("application/json"), b"{}").is_ok());
        let err = check_payload_hash(&plain, Some("application/json"), b"{ }").unwrap_err().to_string();
        assert!(err.starts_with(&format!("Invalid payload hash: {plain}\nComputed payload hash: ")), "{err}");
    }

    #[test]
    fn host_and_port_follow_taskcluster_lib_api() {
        let hp = |h: Option<&str>, fp: Option<&str>, proto: Option<&str>| {
            host_and_port(h, fp, proto, 80).map_err(|e| e.to_string())
        };
        assert_eq!(hp(Some("hooks.example.com"), None, None), Ok(("hooks.example.com".into(), 80)));
        assert_eq!(hp(Some("hooks.example.com:8080"), None, None), Ok(("hooks.example.com".into(), 8080)));
        assert_eq!(hp(Some("[::1]:9000"), None, None), Ok(("[::1]".into(), 9000)));
        assert_eq!(hp(Some("h:8080"), Some("443"), Some("http")), Ok(("h".into(), 443)));
        assert_eq!(hp(Some("h:8080"), None, Some("https")), Ok(("h".into(), 443)));
        assert_eq!(hp(Some("h:8080"), None, Some("http")), Ok(("h".into(), 8080)));
        assert_eq!(hp(None, None, None), Err("Bad Request: Invalid Host header".into()));
        assert_eq!(hp(Some("a:b:c"), None, None), Err("Bad Request: Invalid Host header".into()));
        assert_eq!(hp(Some("h"), Some("x"), None), Err("Bad Request: Invalid X-Forwarded-Port header".into()));
    }
}
