//! The Hawk `ext` attribute as Taskcluster's auth service reads it (`loadCredentials` and `limitClientWithExt` in
//! `signaturevalidator.js`): base64 JSON carrying a `certificate` (temporary credentials) and/or `authorizedScopes`.
//!
//! Temporary credentials are a certificate signed with the issuing client's access token plus an access token
//! derived from the certificate's random seed. The request must be signed with that derived token, and gets the
//! certificate's scopes, which the issuer must hold. Named temporary credentials carry their own clientId and the
//! issuer's; the issuer then also needs `auth:create-client:<clientId>`. `authorizedScopes` narrow the scopes a
//! request may use: the credentials must satisfy every one, and then they replace the credentials' scopes.
//!
//! Checks come in the auth service's order, with its messages, because clients and people read them.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::{Map, Value};

use super::AuthError;
use super::hawk::decode_base64_lenient;
use super::scopes::{is_valid_scope, normalize_scopes, satisfies_scope};
use crate::SecretString;
use crate::js::is_truthy;
use crate::secret::constant_time_eq;

/// Clock skew allowed on a certificate's start and expiry, in milliseconds.
const CERTIFICATE_SKEW_MS: f64 = 5.0 * 60.0 * 1000.0;
/// The longest a certificate may last, in milliseconds.
const CERTIFICATE_MAX_MS: f64 = 31.0 * 24.0 * 60.0 * 60.0 * 1000.0;
/// The role every client implicitly holds.
const ANONYMOUS: &str = "assume:anonymous";

/// A client as the credential store holds it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredClient<'a> {
    pub(crate) access_token: &'a SecretString,
    pub(crate) scopes: &'a [String],
    pub(crate) expires: Option<DateTime<Utc>>,
}

/// What a request is verified against: the key its MAC must be made with, and what it is allowed.
#[derive(Debug)]
pub(crate) struct LoadedCredentials {
    pub(crate) key: SecretString,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires: Option<DateTime<Utc>>,
}

/// Loads the credentials for a request signed as `credential_name` with this `ext`, from `lookup`.
pub(crate) fn load_credentials<'s>(
    credential_name: &str,
    ext: Option<&str>,
    lookup: impl Fn(&str) -> Option<StoredClient<'s>>,
    now: DateTime<Utc>,
) -> Result<LoadedCredentials, AuthError> {
    let ext = match ext {
        Some(text) if !text.is_empty() => Some(parse_ext(text)?),
        _ => None,
    };
    // Named temporary credentials are signed by an issuer other than the clientId they present.
    let mut issuing_client_id = credential_name;
    if let Some(issuer) =
        ext.as_ref().and_then(|e| e.get("certificate")).and_then(|c| c.get("issuer")).filter(|v| is_truthy(v))
    {
        let issuer = issuer.as_str().ok_or_else(|| failed("ext.certificate.issuer must be a string"))?;
        if issuer == credential_name {
            return Err(failed("ext.certificate.issuer must differ from the supplied clientId"));
        }
        issuing_client_id = issuer;
    }
    let client = lookup(issuing_client_id)
        .ok_or_else(|| AuthError::Failed(format!("Client with clientId '{issuing_client_id}' not found")))?;
    let mut loaded =
        LoadedCredentials { key: client.access_token.clone(), scopes: client.scopes.to_vec(), expires: client.expires };
    if let Some(ext) = &ext {
        limit_with_ext(&mut loaded, credential_name, issuing_client_id, ext, now)?;
    }
    // Granted again here, for when authorizedScopes left it out.
    loaded.scopes = with_anonymous(loaded.scopes);
    Ok(loaded)
}

/// `JSON.parse(base64-decode(ext))`, failing as the auth service does.
fn parse_ext(text: &str) -> Result<Value, AuthError> {
    let bytes = decode_base64_lenient(text).ok_or_else(|| failed("Failed to parse ext"))?;
    let ext: Value =
        serde_json::from_str(&String::from_utf8_lossy(&bytes)).map_err(|_| failed("Failed to parse ext"))?;
    if ext.is_null() {
        // What Node says when the auth service then reads `ext.certificate`.
        return Err(failed("Cannot read properties of null (reading 'certificate')"));
    }
    Ok(ext)
}

fn limit_with_ext(
    loaded: &mut LoadedCredentials,
    credential_name: &str,
    issuing_client_id: &str,
    ext: &Value,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    if let Some(certificate) = ext.get("certificate").filter(|v| is_truthy(v)) {
        apply_certificate(loaded, credential_name, issuing_client_id, certificate, now)?;
    }
    if let Some(authorized) = ext.get("authorizedScopes").filter(|v| is_truthy(v)) {
        let authorized = valid_scopes(authorized, "ext.authorizedScopes")?;
        // The anonymous role is granted before the check, so scopes it gives may be authorized.
        loaded.scopes = with_anonymous(std::mem::take(&mut loaded.scopes));
        if !authorized.iter().all(|scope| satisfies_scope(&loaded.scopes, scope)) {
            return Err(AuthError::Failed(format!(
                "Supplied credentials do not satisfy authorizedScopes; credentials have scopes:\n\n```\n{}\n```\n\n\
                 authorizedScopes are:\n\n```\n{}\n```",
                loaded.scopes.join("\n"),
                authorized.join("\n"),
            )));
        }
        loaded.scopes = authorized;
    }
    Ok(())
}

fn apply_certificate(
    loaded: &mut LoadedCredentials,
    credential_name: &str,
    issuing_client_id: &str,
    certificate: &Value,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let cert = certificate.as_object().ok_or_else(|| failed("ext.certificate must be a JSON object"))?;
    if cert.get("version").and_then(Value::as_f64) != Some(1.0) {
        return Err(failed("ext.certificate.version must be 1"));
    }
    let seed =
        cert.get("seed").and_then(Value::as_str).ok_or_else(|| failed("ext.certificate.seed must be a string"))?;
    // JavaScript counts UTF-16 code units.
    if seed.encode_utf16().count() != 44 {
        return Err(failed("ext.certificate.seed must be 44 characters"));
    }
    let start = number(cert, "start")?;
    let expiry = number(cert, "expiry")?;
    let cert_scopes = match cert.get("scopes") {
        Some(scopes @ Value::Array(_)) => valid_scopes(scopes, "ext.certificate.scopes")?,
        _ => return Err(failed("ext.certificate.scopes must be an array")),
    };

    let now_ms = now.timestamp_millis() as f64;
    let (start_ms, expiry_ms) = (start.as_f64().unwrap_or(f64::NAN), expiry.as_f64().unwrap_or(f64::NAN));
    if start_ms > now_ms + CERTIFICATE_SKEW_MS {
        return Err(failed("ext.certificate.start > now"));
    }
    if expiry_ms < now_ms - CERTIFICATE_SKEW_MS {
        return Err(failed("ext.certificate.expiry < now"));
    }
    if expiry_ms - start_ms > CERTIFICATE_MAX_MS {
        return Err(failed("ext.certificate cannot last longer than 31 days!"));
    }

    if issuing_client_id != credential_name {
        let create_scope = format!("auth:create-client:{credential_name}");
        if !satisfies_scope(&loaded.scopes, &create_scope) {
            return Err(AuthError::Failed(format!(
                "ext.certificate issuer `{issuing_client_id}` doesn't have `{create_scope}` for supplied clientId."
            )));
        }
    } else if cert.contains_key("clientId") {
        return Err(failed("ext.certificate.clientId must only be used with ext.certificate.issuer"));
    }

    if !cert_scopes.iter().all(|scope| satisfies_scope(&loaded.scopes, scope)) {
        return Err(AuthError::Failed(format!(
            "ext.certificate issuer `{issuing_client_id}` doesn't satisfy all certificate scopes {}.  The temporary \
             credentials were not generated correctly.",
            cert_scopes.join(", ")
        )));
    }

    // The signed text, exactly as the clients build it (taskcluster crate: `Certificate::sign`).
    let issuer = cert.get("issuer").filter(|v| is_truthy(v)).and_then(Value::as_str);
    let mut lines = vec!["version:1".to_owned()];
    if let Some(issuer) = issuer {
        lines.push(format!("clientId:{credential_name}"));
        lines.push(format!("issuer:{issuer}"));
    }
    lines.push(format!("seed:{seed}"));
    lines.push(format!("start:{}", js_number(start)));
    lines.push(format!("expiry:{}", js_number(expiry)));
    lines.push("scopes:".to_owned());
    lines.extend(cert_scopes.iter().cloned());
    let issuer_token = loaded.key.expose();
    let expected = STANDARD.encode(hmac_sha256(issuer_token, lines.join("\n").as_bytes()));
    let given = cert.get("signature").and_then(Value::as_str);
    match given {
        // Node's timingSafeEqual throws on a length mismatch, and the auth service reports that.
        Some(given) if given.len() != expected.len() => {
            return Err(failed("Input buffers must have the same byte length"));
        }
        Some(given) if constant_time_eq(given.as_bytes(), expected.as_bytes()) => {}
        _ if issuer.is_some() => {
            return Err(failed("ext.certificate.signature is not valid, or wrong clientId provided"));
        }
        _ => return Err(failed("ext.certificate.signature is not valid")),
    }

    // The request must be signed with the temporary access token, derived from the seed.
    loaded.key = SecretString::new(URL_SAFE_NO_PAD.encode(hmac_sha256(issuer_token, seed.as_bytes())));
    if let Some(cert_expires) = Utc.timestamp_millis_opt(expiry_ms as i64).single() {
        loaded.expires = Some(loaded.expires.map_or(cert_expires, |e| e.min(cert_expires)));
    }
    loaded.scopes = cert_scopes;
    Ok(())
}

fn failed(message: &str) -> AuthError {
    AuthError::Failed(message.to_owned())
}

fn number<'a>(cert: &'a Map<String, Value>, field: &str) -> Result<&'a serde_json::Number, AuthError> {
    match cert.get(field) {
        Some(Value::Number(n)) => Ok(n),
        _ => Err(AuthError::Failed(format!("ext.certificate.{field} must be a number"))),
    }
}

/// The scopes of `value`, which must be an array of valid scope strings (`<what> must be ...`).
fn valid_scopes(value: &Value, what: &str) -> Result<Vec<String>, AuthError> {
    let items = value.as_array().ok_or_else(|| AuthError::Failed(format!("{what} must be an array")))?;
    items
        .iter()
        .map(|item| item.as_str().filter(|s| is_valid_scope(s)).map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| AuthError::Failed(format!("{what} must be an array of valid scopes")))
}

/// A number as JavaScript's `'' + n` writes the values certificates carry (integers, possibly sent as `1e12`).
fn js_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    match n.as_f64() {
        // Whole numbers below 1e21 print without a fraction or exponent in JavaScript.
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

fn with_anonymous(mut scopes: Vec<String>) -> Vec<String> {
    scopes.push(ANONYMOUS.to_owned());
    normalize_scopes(scopes)
}

fn hmac_sha256(key: &str, data: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    ring::hmac::sign(&key, data).as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token() -> SecretString {
        SecretString::new("issuer-token")
    }

    fn ext(v: Value) -> String {
        STANDARD.encode(v.to_string())
    }

    #[test]
    fn js_numbers_print_like_javascript() {
        let n = |v: Value| match v {
            Value::Number(n) => js_number(&n),
            _ => unreachable!(),
        };
        assert_eq!(n(json!(1_700_000_000_000_i64)), "1700000000000");
        assert_eq!(n(json!(1.7e12)), "1700000000000");
        assert_eq!(n(json!(1.5)), "1.5");
    }

    #[test]
    fn unknown_issuers_and_bad_ext_are_refused_with_the_auth_services_messages() {
        let scopes = vec!["a".to_owned()];
        let tok = token();
        let lookup =
            |id: &str| (id == "known").then_some(StoredClient { access_token: &tok, scopes: &scopes, expires: None });
        let now = Utc::now();
        let err = |name: &str, e: Option<&str>| load_credentials(name, e, lookup, now).unwrap_err().to_string();
        assert_eq!(err("nobody", None), "Client with clientId 'nobody' not found");
        assert_eq!(err("known", Some("!!!")), "Failed to parse ext");
        assert_eq!(err("known", Some(&ext(json!(null)))), "Cannot read properties of null (reading 'certificate')");
        assert_eq!(err("known", Some(&ext(json!({"certificate": 5})))), "ext.certificate must be a JSON object");
        assert_eq!(
            err("known", Some(&ext(json!({"certificate": {"issuer": "known"}})))),
            "ext.certificate.issuer must differ from the supplied clientId"
        );
        assert_eq!(
            err("temp", Some(&ext(json!({"certificate": {"issuer": 7}})))),
            "ext.certificate.issuer must be a string"
        );
        assert_eq!(err("known", Some(&ext(json!({"authorizedScopes": "a"})))), "ext.authorizedScopes must be an array");
        assert_eq!(
            err("known", Some(&ext(json!({"authorizedScopes": ["a", 1]})))),
            "ext.authorizedScopes must be an array of valid scopes"
        );
        // an empty ext, and ext fields JavaScript finds falsy, change nothing
        let loaded = load_credentials("known", Some(""), lookup, now).unwrap();
        assert_eq!(loaded.scopes, vec!["a", "assume:anonymous"]);
        let loaded =
            load_credentials("known", Some(&ext(json!({"certificate": null, "authorizedScopes": 0}))), lookup, now);
        assert_eq!(loaded.unwrap().key.expose(), "issuer-token");
    }

    #[test]
    fn certificate_fields_are_checked_in_order() {
        let scopes = vec!["*".to_owned()];
        let tok = token();
        let lookup =
            |id: &str| (id == "known").then_some(StoredClient { access_token: &tok, scopes: &scopes, expires: None });
        let now = Utc::now();
        let ms = now.timestamp_millis();
        let base = json!({"version": 1, "seed": "s".repeat(44), "start": ms, "expiry": ms + 60_000, "scopes": ["a"], "signature": "x"});
        let with = |k: &str, v: Value| {
            let mut c = base.clone();
            c[k] = v;
            ext(json!({ "certificate": c }))
        };
        let err = |e: String| load_credentials("known", Some(&e), lookup, now).unwrap_err().to_string();
        assert_eq!(err(with("version", json!(2))), "ext.certificate.version must be 1");
        assert_eq!(err(with("seed", json!(3))), "ext.certificate.seed must be a string");
        assert_eq!(err(with("seed", json!("short"))), "ext.certificate.seed must be 44 characters");
        assert_eq!(err(with("start", json!("now"))), "ext.certificate.start must be a number");
        assert_eq!(err(with("expiry", Value::Null)), "ext.certificate.expiry must be a number");
        assert_eq!(err(with("scopes", json!("a"))), "ext.certificate.scopes must be an array");
        assert_eq!(err(with("scopes", json!(["\n"]))), "ext.certificate.scopes must be an array of valid scopes");
        assert_eq!(err(with("start", json!(ms + 400_000))), "ext.certificate.start > now");
        assert_eq!(err(with("expiry", json!(ms - 400_000))), "ext.certificate.expiry < now");
        assert_eq!(
            err(with("expiry", json!(ms + 32 * 86_400_000_i64))),
            "ext.certificate cannot last longer than 31 days!"
        );
        assert_eq!(
            err(with("clientId", json!("known"))),
            "ext.certificate.clientId must only be used with ext.certificate.issuer"
        );
        assert_eq!(err(with("signature", json!("short"))), "Input buffers must have the same byte length");
        assert_eq!(err(with("signature", json!("A".repeat(44)))), "ext.certificate.signature is not valid");
    }
}
