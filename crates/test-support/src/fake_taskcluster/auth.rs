//! The auth service: its signature validator (`signaturevalidator.js`: Hawk headers and bewits, temporary
//! credentials and their certificates, `authorizedScopes`) and its `authenticateHawk` endpoint.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use chrono::{DateTime, TimeZone, Utc};
use hooks_core::auth::{is_valid_scope, satisfies_scope};
use hooks_core::constant_time_eq;
use hooks_core::is_truthy;
use serde_json::{Value, json};

use super::framework::{ApiError, error_response, iso, parse_body};
use super::scopes::{expand_scopes, with_anonymous};
use super::{Directory, FakeTaskcluster, Shared};

/// Hawk timestamp skew the auth service allows (15 minutes).
const TS_SKEW: Duration = Duration::from_secs(15 * 60);
/// Clock skew allowed on certificate start/expiry, in milliseconds.
const CERT_SKEW_MS: f64 = 5.0 * 60.0 * 1000.0;
/// Longest lifetime of a temporary credential, in milliseconds.
const CERT_MAX_MS: f64 = 31.0 * 24.0 * 60.0 * 60.0 * 1000.0;

impl FakeTaskcluster {
    /// Defines a role so `assume:<role>` expands to `scopes`; once any role is set, createTask checks scopes (see the module docs).
    pub fn set_role(&self, role: &str, scopes: Vec<String>) {
        let mut directory = self.shared.directory.write().unwrap_or_else(|e| e.into_inner());
        // Requests in flight keep the snapshot they started with.
        let mut changed = Directory::clone(&directory);
        changed.roles.insert(role.to_string(), scopes);
        changed.roles_defined = true;
        *directory = Arc::new(changed);
    }

    /// Bodies of every authenticateHawk request received (`Value::Null` for one that was not JSON), in arrival order.
    pub fn authenticate_hawk_requests(&self) -> Vec<Value> {
        self.shared.records().auth_requests.clone()
    }
}

/// Formats a number the way JavaScript's `'' + n` does for the values certificates carry.
fn js_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
            format!("{}", f as i64)
        }
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

/// The strings of a JSON array of strings (`None` if it is anything else).
pub(super) fn string_array(v: &Value) -> Option<Vec<String>> {
    v.as_array()?.iter().map(|s| s.as_str().map(str::to_string)).collect()
}

/// What the auth service's signature validator is given.
pub(super) struct AuthInput<'a> {
    pub(super) method: &'a str,
    pub(super) resource: &'a str,
    pub(super) host: &'a str,
    pub(super) port: u16,
    pub(super) authorization: Option<&'a str>,
}

/// What the signature validator concludes.
pub(super) enum AuthOutcome {
    Success { client_id: String, scopes: Vec<String>, expires: DateTime<Utc>, hash: Option<String> },
    NoAuth { scopes: Vec<String>, expires: DateTime<Utc> },
    Failed(String),
}

impl AuthOutcome {
    fn to_json(&self) -> Value {
        match self {
            AuthOutcome::Success { client_id, scopes, expires, hash } => {
                let mut v = json!({
                    "status": "auth-success",
                    "scheme": "hawk",
                    "scopes": scopes,
                    "clientId": client_id,
                    "expires": iso(*expires),
                });
                if let (Some(h), Some(obj)) = (hash, v.as_object_mut()) {
                    obj.insert("hash".into(), Value::String(h.clone()));
                }
                v
            }
            AuthOutcome::NoAuth { scopes, expires } => json!({
                "status": "no-auth",
                "scheme": "none",
                "scopes": scopes,
                "expires": iso(*expires),
            }),
            AuthOutcome::Failed(message) => json!({
                "status": "auth-failed",
                "message": message,
            }),
        }
    }
}

/// The key, clientId, scopes and expiry of the credentials a request was signed with.
pub(super) struct LoadedCredentials {
    pub(super) key: String,
    pub(super) client_id: String,
    pub(super) scopes: Vec<String>,
    pub(super) expires: DateTime<Utc>,
}

fn static_client_expiry() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(3000, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn decode_base64_lenient(s: &str) -> Option<Vec<u8>> {
    let cfg = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    GeneralPurpose::new(&base64::alphabet::STANDARD, cfg)
        .decode(&cleaned)
        .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg).decode(&cleaned))
        .ok()
}

/// Decodes a Hawk `ext`: base64 of a JSON object.
pub(super) fn parse_ext(ext: &str) -> Result<Value, String> {
    let bytes = decode_base64_lenient(ext).ok_or("Failed to parse ext")?;
    serde_json::from_str(&String::from_utf8_lossy(&bytes)).map_err(|_| "Failed to parse ext".into())
}

/// HMAC-SHA256 of `data` under `key`, as certificates and temporary access tokens are made.
pub(super) fn hmac_sha256(key: &str, data: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    ring::hmac::sign(&key, data).as_ref().to_vec()
}

/// `loadCredentials` of signaturevalidator.js.
pub(super) fn load_credentials(
    dir: &Directory,
    credential_name: &str,
    ext: Option<&str>,
) -> Result<LoadedCredentials, String> {
    let ext = match ext {
        Some(e) if !e.is_empty() => Some(parse_ext(e)?),
        _ => None,
    };
    let mut issuing_client_id = credential_name.to_string();
    if let Some(cert) = ext.as_ref().and_then(|e| e.get("certificate"))
        && is_truthy(cert)
        && let Some(issuer) = cert.get("issuer")
        && is_truthy(issuer)
    {
        let issuer = issuer.as_str().ok_or("ext.certificate.issuer must be a string")?;
        if issuer == credential_name {
            return Err("ext.certificate.issuer must differ from the supplied clientId".into());
        }
        issuing_client_id = issuer.to_string();
    }

    let client = dir
        .clients
        .get(&issuing_client_id)
        .ok_or_else(|| format!("Client with clientId '{issuing_client_id}' not found"))?;
    let mut scopes = expand_scopes(&client.scopes, &dir.roles);
    let mut expires = static_client_expiry();
    let mut key = client.access_token.clone();

    if let Some(ext) = &ext {
        (scopes, expires, key) = limit_client_with_ext(
            dir,
            credential_name,
            &issuing_client_id,
            &client.access_token,
            scopes,
            expires,
            ext,
        )?;
    }

    Ok(LoadedCredentials {
        key,
        client_id: credential_name.to_string(),
        scopes: with_anonymous(&scopes, &dir.roles),
        expires,
    })
}

/// `limitClientWithExt` of signaturevalidator.js: certificate and authorizedScopes handling.
fn limit_client_with_ext(
    dir: &Directory,
    credential_name: &str,
    issuing_client_id: &str,
    access_token: &str,
    mut scopes: Vec<String>,
    mut expires: DateTime<Utc>,
    ext: &Value,
) -> Result<(Vec<String>, DateTime<Utc>, String), String> {
    let issuing_scopes = scopes.clone();
    let mut key = access_token.to_string();

    if let Some(cert) = ext.get("certificate").filter(|c| is_truthy(c)) {
        let cert = cert.as_object().ok_or("ext.certificate must be a JSON object")?;
        if cert.get("version").and_then(Value::as_f64) != Some(1.0) {
            return Err("ext.certificate.version must be 1".into());
        }
        let seed = cert.get("seed").and_then(Value::as_str).ok_or("ext.certificate.seed must be a string")?;
        if seed.encode_utf16().count() != 44 {
            return Err("ext.certificate.seed must be 44 characters".into());
        }
        let start = match cert.get("start") {
            Some(Value::Number(n)) => n.clone(),
            _ => return Err("ext.certificate.start must be a number".into()),
        };
        let expiry = match cert.get("expiry") {
            Some(Value::Number(n)) => n.clone(),
            _ => return Err("ext.certificate.expiry must be a number".into()),
        };
        let cert_scopes = match cert.get("scopes") {
            Some(Value::Array(a)) => a,
            _ => return Err("ext.certificate.scopes must be an array".into()),
        };
        let cert_scopes: Vec<String> = cert_scopes
            .iter()
            .map(|s| s.as_str().filter(|s| is_valid_scope(s)).map(str::to_string))
            .collect::<Option<_>>()
            .ok_or("ext.certificate.scopes must be an array of valid scopes")?;

        let now_ms = Utc::now().timestamp_millis() as f64;
        let start_ms = start.as_f64().unwrap_or(f64::NAN);
        let expiry_ms = expiry.as_f64().unwrap_or(f64::NAN);
        if start_ms > now_ms + CERT_SKEW_MS {
            return Err("ext.certificate.start > now".into());
        }
        if expiry_ms < now_ms - CERT_SKEW_MS {
            return Err("ext.certificate.expiry < now".into());
        }
        if expiry_ms - start_ms > CERT_MAX_MS {
            return Err("ext.certificate cannot last longer than 31 days!".into());
        }

        if issuing_client_id != credential_name {
            let create_scope = format!("auth:create-client:{credential_name}");
            if !satisfies_scope(&issuing_scopes, &create_scope) {
                return Err(format!(
                    "ext.certificate issuer `{issuing_client_id}` doesn't have `{create_scope}` for supplied clientId."
                ));
            }
        } else if cert.contains_key("clientId") {
            return Err("ext.certificate.clientId must only be used with ext.certificate.issuer".into());
        }

        if !cert_scopes.iter().all(|s| satisfies_scope(&scopes, s)) {
            return Err(format!(
                "ext.certificate issuer `{issuing_client_id}` doesn't satisfy all certificate scopes {}.  The temporary credentials were not generated correctly.",
                cert_scopes.join(", ")
            ));
        }

        let issuer = cert.get("issuer").filter(|i| is_truthy(i));
        let mut lines = vec!["version:1".to_string()];
        if let Some(issuer) = issuer {
            let issuer = match issuer {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            lines.push(format!("clientId:{credential_name}"));
            lines.push(format!("issuer:{issuer}"));
        }
        lines.push(format!("seed:{seed}"));
        lines.push(format!("start:{}", js_number(&start)));
        lines.push(format!("expiry:{}", js_number(&expiry)));
        lines.push("scopes:".to_string());
        lines.extend(cert_scopes.iter().cloned());
        let expected = general_purpose::STANDARD.encode(hmac_sha256(access_token, lines.join("\n").as_bytes()));
        let given = cert.get("signature").and_then(Value::as_str);
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes())) {
            return Err(if issuer.is_some() {
                "ext.certificate.signature is not valid, or wrong clientId provided".into()
            } else {
                "ext.certificate.signature is not valid".into()
            });
        }

        key = general_purpose::URL_SAFE_NO_PAD.encode(hmac_sha256(access_token, seed.as_bytes()));
        if let Some(cert_expires) = Utc.timestamp_millis_opt(expiry_ms as i64).single()
            && expires > cert_expires
        {
            expires = cert_expires;
        }
        scopes = cert_scopes;
    }

    if let Some(authorized) = ext.get("authorizedScopes").filter(|a| is_truthy(a)) {
        let authorized = match authorized {
            Value::Array(a) => a,
            _ => return Err("ext.authorizedScopes must be an array".into()),
        };
        let authorized: Vec<String> = authorized
            .iter()
            .map(|s| s.as_str().filter(|s| is_valid_scope(s)).map(str::to_string))
            .collect::<Option<_>>()
            .ok_or("ext.authorizedScopes must be an array of valid scopes")?;
        scopes = with_anonymous(&scopes, &dir.roles);
        if !authorized.iter().all(|s| satisfies_scope(&scopes, s)) {
            return Err([
                "Supplied credentials do not satisfy authorizedScopes; credentials have scopes:",
                "",
                "```",
                &scopes.join("\n"),
                "```",
                "",
                "authorizedScopes are:",
                "",
                "```",
                &authorized.join("\n"),
                "```",
            ]
            .join("\n"));
        }
        scopes = authorized;
    }

    Ok((scopes, expires, key))
}

fn authenticate_header(dir: &Directory, input: &AuthInput<'_>, authorization: &str) -> Result<AuthOutcome, String> {
    let authorization = authorization.trim();
    let (scheme, attributes) = match authorization.split_once(char::is_whitespace) {
        Some((s, a)) => (s, a.trim()),
        None => (authorization, ""),
    };
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err("Bad Request: Invalid header syntax".into());
    }
    if !scheme.eq_ignore_ascii_case("hawk") {
        return Err("Unauthorized".into());
    }
    if attributes.is_empty() {
        return Err("Bad Request: Invalid header syntax".into());
    }
    let header = hawk::Header::from_str(attributes).map_err(|e| format!("Bad Request: Invalid header syntax ({e})"))?;
    let (Some(id), Some(ts), Some(_), Some(_)) = (&header.id, header.ts, &header.nonce, &header.mac) else {
        return Err("Bad Request: Missing attributes".into());
    };

    let creds = load_credentials(dir, id, header.ext.as_deref())?;
    let key = hawk::Key::new(creds.key.as_bytes(), hawk::SHA256).map_err(|e| format!("Invalid credentials: {e}"))?;
    let method = input.method.to_uppercase();
    let host = input.host.to_lowercase();
    let request = hawk::RequestBuilder::new(&method, &host, input.port, input.resource).request();
    if !request.validate_header(&header, &key, Duration::MAX) {
        return Err("Unauthorized: Bad mac".into());
    }
    let now = SystemTime::now();
    let skew = now.duration_since(ts).or_else(|_| ts.duration_since(now)).unwrap_or(Duration::MAX);
    if skew > TS_SKEW {
        return Err("Unauthorized: Stale timestamp".into());
    }
    Ok(AuthOutcome::Success {
        client_id: creds.client_id,
        scopes: creds.scopes,
        expires: creds.expires,
        hash: header.hash.as_ref().map(|h| general_purpose::STANDARD.encode(h)),
    })
}

fn authenticate_bewit(dir: &Directory, input: &AuthInput<'_>) -> Result<AuthOutcome, String> {
    let method = input.method.to_uppercase();
    if method != "GET" && method != "HEAD" {
        return Err("Unauthorized: Invalid method".into());
    }
    let host = input.host.to_lowercase();
    let mut bewit = None;
    let builder = hawk::RequestBuilder::new(&method, &host, input.port, input.resource)
        .extract_bewit(&mut bewit)
        .map_err(|e| format!("Bad Request: Invalid bewit ({e})"))?;
    let bewit = bewit.ok_or("Unauthorized: Missing bewit")?;
    if bewit.exp() <= SystemTime::now() {
        return Err("Unauthorized: Access expired".into());
    }
    let creds = load_credentials(dir, bewit.id(), bewit.ext())?;
    let key = hawk::Key::new(creds.key.as_bytes(), hawk::SHA256).map_err(|e| format!("Invalid credentials: {e}"))?;
    if !builder.request().validate_bewit(&bewit, &key) {
        return Err("Unauthorized: Bad mac".into());
    }
    Ok(AuthOutcome::Success { client_id: creds.client_id, scopes: creds.scopes, expires: creds.expires, hash: None })
}

fn has_bewit_resource(resource: &str) -> bool {
    resource.starts_with('/')
        && resource.find('?').is_some_and(|q| resource[q..].contains("?bewit=") || resource[q..].contains("&bewit="))
}

/// The auth service's signature validator (what `authenticateHawk` answers).
pub(super) fn signature_validator(dir: &Directory, input: &AuthInput<'_>) -> AuthOutcome {
    let result = match input.authorization.filter(|a| !a.is_empty()) {
        Some(authorization) => authenticate_header(dir, input, authorization),
        None if has_bewit_resource(input.resource) => authenticate_bewit(dir, input),
        None => Ok(AuthOutcome::NoAuth {
            scopes: with_anonymous(&[], &dir.roles),
            expires: Utc::now() + chrono::Duration::minutes(15),
        }),
    };
    result.unwrap_or_else(AuthOutcome::Failed)
}

/// `authenticateHawk`: what the signature validator makes of the request it is given.
pub(super) async fn authenticate_hawk(body: web::Bytes, data: web::Data<Shared>) -> HttpResponse {
    data.records().auth_requests.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
    let directory = data.directory();
    let parsed = parse_body(&body);
    let payload = parsed.as_ref().cloned().unwrap_or_else(|_| json!({}));
    let invalid = |what: &str| {
        ApiError::new(
            "InputValidationError",
            format!(
                "\nSchema Validation Failed!\nRejecting Schema: auth/v1/authenticate-hawk-request.json#\nErrors:\n  * {what}"
            ),
        )
    };
    let result = parsed.and_then(|req| {
        let s = |k: &str| req.get(k).and_then(Value::as_str);
        let method = s("method").ok_or_else(|| invalid("data/method must be string"))?;
        let resource = s("resource").ok_or_else(|| invalid("data/resource must be string"))?;
        let host = s("host").ok_or_else(|| invalid("data/host must be string"))?;
        let port = req
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| invalid("data/port must be integer"))?;
        let authorization = match req.get("authorization") {
            None | Some(Value::Null) => None,
            Some(Value::String(a)) => Some(a.as_str()),
            Some(_) => return Err(invalid("data/authorization must be string")),
        };
        let input = AuthInput { method, resource, host, port, authorization };
        Ok(signature_validator(&directory, &input).to_json())
    });
    match result {
        Ok(reply) => HttpResponse::Ok().json(reply),
        Err(err) => error_response("authenticateHawk", json!({}), &payload, &err),
    }
}
