//! Hawk signatures for calls to the deployment, byte for byte as the `taskcluster` crate (v114,
//! `Client::sign_request`) makes them: the resource is the URL's path, the payload hash covers the JSON body with
//! content type `application/json`, and `ext` is standard base64 (padded) of `{"authorizedScopes":[…]}` as
//! serde_json writes it, which the auth service decodes (`signaturevalidator.js`, `limitClientWithExt`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::HeaderValue;
use serde_json::json;

use super::CallError;

/// Where a request goes, as Hawk signs it.
pub(super) struct Target<'a> {
    pub(super) method: &'a str,
    pub(super) host: &'a str,
    pub(super) port: u16,
}

/// The Hawk `ext` restricting the service's credentials to `authorized_scopes`.
pub(super) fn ext(authorized_scopes: &[&str]) -> String {
    STANDARD.encode(json!({ "authorizedScopes": authorized_scopes }).to_string())
}

/// The Hawk payload hash of a JSON body.
pub(super) fn payload_hash(body: &[u8]) -> Vec<u8> {
    // Hashing a byte slice with SHA-256 cannot fail; an empty hash would only make the signature fail to verify.
    hawk::PayloadHasher::hash("application/json", hawk::SHA256, body).unwrap_or_default()
}

/// The `Authorization` header for one request to `path` (no query), with a fresh timestamp and nonce.
pub(super) fn authorization(
    credentials: &hawk::Credentials,
    target: &Target<'_>,
    path: &str,
    hash: &[u8],
    ext: &str,
) -> Result<HeaderValue, CallError> {
    let unsigned =
        |what: &str| CallError::Unavailable { status: None, message: format!("cannot sign the request: {what}") };
    let header = hawk::RequestBuilder::new(target.method, target.host, target.port, path)
        .hash(hash)
        .ext(ext)
        .request()
        .make_header(credentials)
        .map_err(|e| unsigned(&e.to_string()))?;
    // The header holds the MAC, never the key.
    HeaderValue::from_str(&format!("Hawk {header}")).map_err(|e| unsigned(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext_is_padded_base64_of_the_compact_json() {
        let ext = ext(&["assume:hook-id:g/h"]);
        assert_eq!(STANDARD.decode(&ext).unwrap(), br#"{"authorizedScopes":["assume:hook-id:g/h"]}"#);
        assert!(ext.ends_with('='), "{ext}");
    }

    #[test]
    fn signatures_verify_with_the_same_key_and_not_another() {
        let credentials =
            hawk::Credentials { id: "static/hooks".into(), key: hawk::Key::new("token", hawk::SHA256).unwrap() };
        let target = Target { method: "PUT", host: "tc.example.com", port: 443 };
        let body = br#"{"a":1}"#;
        let hash = payload_hash(body);
        let ext = ext(&["assume:hook-id:g/h"]);
        let value = authorization(&credentials, &target, "/api/queue/v1/task/x", &hash, &ext).unwrap();
        let header: hawk::Header = value.to_str().unwrap().strip_prefix("Hawk ").unwrap().parse().unwrap();
        assert_eq!(header.ext.as_deref(), Some(ext.as_str()));
        let request = hawk::RequestBuilder::new("PUT", "tc.example.com", 443, "/api/queue/v1/task/x")
            .hash(&hash[..])
            .ext(ext.as_str())
            .request();
        let skew = std::time::Duration::from_secs(60);
        assert!(request.validate_header(&header, &credentials.key, skew));
        let other = hawk::Key::new("another token", hawk::SHA256).unwrap();
        assert!(!request.validate_header(&header, &other, skew));
    }
}
