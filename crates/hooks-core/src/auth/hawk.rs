//! The server side of Hawk as Taskcluster runs it (the Node `hawk` library behind its auth service and
//! taskcluster-lib-api): the `Authorization` header's syntax, bewits in URLs, MACs, timestamps, payload hashes and
//! the request's host and port. Failures carry the Node library's messages.
//!
//! Header MACs sign the Node library's normalized string, `app` and `dlg` included (the `hawk` crate leaves them
//! out, so it only signs bewits here). One input differs from the Node library in a corner case no Taskcluster
//! client produces: the timestamp must be a plain decimal number (Node signs the text as sent).

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use hawk::mac::{Mac, MacType};
use regex::Regex;

use super::AuthError;
use crate::error::static_regex;

/// How far a Hawk timestamp may be from the server's clock, either way (the auth service's `timestampSkewSec`).
pub const TIMESTAMP_SKEW: Duration = Duration::from_secs(15 * 60);

/// The Node library refuses longer headers, host headers and URLs (`limits.maxMatchLength`).
const MAX_MATCH_LENGTH: usize = 4096;

// `\w` is spelled out: the Node library's is ASCII-only, Rust's is Unicode.
static SCHEME: LazyLock<Regex> = LazyLock::new(|| static_regex(r"^([A-Za-z0-9_]+)(?:\s+(.*))?$"));
static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| static_regex(r#"([A-Za-z0-9_]+)="([^"\\]*)"\s*(?:,\s*|$)"#));
static ATTRIBUTE_VALUE: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"^[ A-Za-z0-9_!#$%&'()*+,\-./:;<=>?@\[\]^`{|}~]+$"));
/// Where a bewit sits in a resource, as the Node library finds it (the last `bewit=` parameter).
static BEWIT_IN_RESOURCE: LazyLock<Regex> = LazyLock::new(|| static_regex(r"^(/.*)([?&])bewit=([^&$]*)(?:&(.+))?$"));
static BEWIT_ENCODING: LazyLock<Regex> = LazyLock::new(|| static_regex(r"^[A-Za-z0-9_-]*$"));
static HOST: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"^(?:(?:\r\n)?\s)*([^:]+|\[[^\]]+\])(?::(\d+))?(?:(?:\r\n)?\s)*$"));

/// Node's base64 decoding takes either padding and ignores bits left over at the end.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Bewits are unpadded url-safe base64, but some clients pad them.
const BEWIT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The attributes of a Hawk `Authorization` header, as sent.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct HeaderAttributes<'a> {
    pub(crate) id: Option<&'a str>,
    pub(crate) ts: Option<&'a str>,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) mac: Option<&'a str>,
    pub(crate) hash: Option<&'a str>,
    pub(crate) ext: Option<&'a str>,
    pub(crate) app: Option<&'a str>,
    pub(crate) dlg: Option<&'a str>,
}

/// The attributes Hawk requires, once their presence is checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedHeader<'a> {
    pub(crate) id: &'a str,
    pub(crate) ts: &'a str,
    pub(crate) nonce: &'a str,
    pub(crate) mac: &'a str,
    pub(crate) hash: Option<&'a str>,
    pub(crate) ext: Option<&'a str>,
    /// Hawk's application id and its delegating application; Taskcluster's clients never send them, but the MAC
    /// covers them when `app` is there.
    pub(crate) app: Option<&'a str>,
    pub(crate) dlg: Option<&'a str>,
}

impl<'a> HeaderAttributes<'a> {
    /// The required attributes, or `Bad Request: Missing attributes`.
    pub(crate) fn require(&self) -> Result<SignedHeader<'a>, AuthError> {
        match (self.id, self.ts, self.nonce, self.mac) {
            (Some(id), Some(ts), Some(nonce), Some(mac))
                if !id.is_empty() && !ts.is_empty() && !nonce.is_empty() && !mac.is_empty() =>
            {
                Ok(SignedHeader { id, ts, nonce, mac, hash: self.hash, ext: self.ext, app: self.app, dlg: self.dlg })
            }
            _ => Err(AuthError::bad_request("Missing attributes")),
        }
    }
}

/// Parses an `Authorization` header as the Node library's `parseAuthorizationHeader` does.
pub(crate) fn parse_authorization(header: &str) -> Result<HeaderAttributes<'_>, AuthError> {
    if header.len() > MAX_MATCH_LENGTH {
        return Err(AuthError::bad_request("Header length too long"));
    }
    let parts = SCHEME.captures(header).ok_or_else(|| AuthError::bad_request("Invalid header syntax"))?;
    if !parts.get(1).is_some_and(|scheme| scheme.as_str().eq_ignore_ascii_case("hawk")) {
        // A Boom 401 without a message, which the auth service reports as just its title.
        return Err(AuthError::Failed("Unauthorized".to_owned()));
    }
    let attributes = parts.get(2).map_or("", |m| m.as_str());
    if attributes.is_empty() {
        return Err(AuthError::bad_request("Invalid header syntax"));
    }

    let mut parsed = HeaderAttributes::default();
    let mut covered = 0;
    // Every attribute is looked at; as in the Node library, the last problem found is the one reported.
    let mut problem = None;
    for caps in ATTRIBUTE.captures_iter(attributes) {
        let (Some(all), Some(name), Some(value)) = (caps.get(0), caps.get(1), caps.get(2)) else { continue };
        covered += all.len();
        let (name, value) = (name.as_str(), value.as_str());
        let slot = match name {
            "id" => &mut parsed.id,
            "ts" => &mut parsed.ts,
            "nonce" => &mut parsed.nonce,
            "mac" => &mut parsed.mac,
            "hash" => &mut parsed.hash,
            "ext" => &mut parsed.ext,
            "app" => &mut parsed.app,
            "dlg" => &mut parsed.dlg,
            _ => {
                problem = Some(format!("Unknown attribute: {name}"));
                continue;
            }
        };
        if !ATTRIBUTE_VALUE.is_match(value) {
            problem = Some(format!("Bad attribute value: {name}"));
        } else if slot.is_some() {
            problem = Some(format!("Duplicate attribute: {name}"));
        } else {
            *slot = Some(value);
        }
    }
    if let Some(problem) = problem {
        return Err(AuthError::bad_request(&problem));
    }
    if covered != attributes.len() {
        return Err(AuthError::bad_request("Bad header format"));
    }
    Ok(parsed)
}

/// Whether `header`'s MAC is the one `key` gives for this request (compared in constant time).
pub(crate) fn header_mac_matches(
    key: &str,
    header: &SignedHeader<'_>,
    method: &str,
    host: &str,
    port: u16,
    resource: &str,
) -> bool {
    let Ok(ts) = header.ts.parse::<u64>() else { return false };
    let Some(given) = decode_standard(header.mac) else { return false };
    // A hash that isn't base64 is a bad MAC here; the Node library would sign it as text and then fail the payload.
    if header.hash.is_some_and(|hash| decode_standard(hash).is_none()) {
        return false;
    }
    let normalized = header_normalized_string(ts, header, method, host, port, resource);
    let Ok(key) = hawk::Key::new(key.as_bytes(), hawk::SHA256) else { return false };
    key.sign(normalized.as_bytes()).is_ok_and(|expected| constant_time_eq(&expected, &given))
}

/// What a header's MAC signs, as the Node library's `generateNormalizedString` writes it: one line per field, then
/// `app` and `dlg` when there is an `app` (a `dlg` without one is not signed). Header attribute values can hold
/// neither `\` nor a newline, so `ext` needs none of the escaping the Node library applies.
fn header_normalized_string(
    ts: u64,
    header: &SignedHeader<'_>,
    method: &str,
    host: &str,
    port: u16,
    resource: &str,
) -> String {
    let mut normalized = format!(
        "hawk.1.header\n{ts}\n{nonce}\n{method}\n{resource}\n{host}\n{port}\n{hash}\n{ext}\n",
        nonce = header.nonce,
        method = method.to_ascii_uppercase(),
        host = host.to_ascii_lowercase(),
        hash = header.hash.unwrap_or_default(),
        ext = header.ext.unwrap_or_default(),
    );
    if let Some(app) = header.app {
        normalized.push_str(app);
        normalized.push('\n');
        normalized.push_str(header.dlg.unwrap_or_default());
        normalized.push('\n');
    }
    normalized
}

/// Whether the header's timestamp is further than [`TIMESTAMP_SKEW`] from `now`; also refuses an unreadable one.
pub(crate) fn is_stale(ts: &str, now: SystemTime) -> bool {
    let Ok(ts) = ts.parse::<u64>() else { return true };
    let now_ms = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    let ts_ms = u128::from(ts) * 1000;
    now_ms.abs_diff(ts_ms) > TIMESTAMP_SKEW.as_millis()
}

/// Seconds since the epoch.
pub(crate) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// A bewit found in a resource, and the resource as it was signed (without the bewit).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BewitInResource<'a> {
    pub(crate) encoded: &'a str,
    pub(crate) resource: String,
}

/// Finds the bewit in `resource` as the Node library does, or `None` when there is none.
pub(crate) fn find_bewit(resource: &str) -> Option<BewitInResource<'_>> {
    let caps = BEWIT_IN_RESOURCE.captures(resource)?;
    let mut signed = caps.get(1)?.as_str().to_owned();
    if let (Some(separator), Some(rest)) = (caps.get(2), caps.get(4)) {
        signed.push_str(separator.as_str());
        signed.push_str(rest.as_str());
    }
    Some(BewitInResource { encoded: caps.get(3)?.as_str(), resource: signed })
}

/// A bewit's fields.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Bewit {
    pub(crate) id: String,
    /// Expiry, seconds since the epoch (negative for nonsense, which counts as expired).
    pub(crate) exp: i64,
    pub(crate) mac: String,
    pub(crate) ext: Option<String>,
}

/// Checks what the Node library checks before it looks up credentials for a bewit, and decodes it.
pub(crate) fn decode_bewit(found: &BewitInResource<'_>, method: &str, now: SystemTime) -> Result<Bewit, AuthError> {
    if found.resource.len() > MAX_MATCH_LENGTH {
        return Err(AuthError::bad_request("Resource path exceeds max length"));
    }
    if found.encoded.is_empty() {
        return Err(AuthError::unauthorized("Empty bewit"));
    }
    if !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD") {
        return Err(AuthError::unauthorized("Invalid method"));
    }
    if !BEWIT_ENCODING.is_match(found.encoded) {
        return Err(AuthError::bad_request("Invalid bewit encoding"));
    }
    let decoded = BEWIT_BASE64.decode(found.encoded).map_err(|_| AuthError::bad_request("Invalid bewit encoding"))?;
    // Node decodes it as "binary" (latin-1) text: one char per byte.
    let text: String = decoded.iter().map(|&b| char::from(b)).collect();
    let parts: Vec<&str> = text.split('\\').collect();
    let [id, exp, mac, ext] = parts[..] else {
        return Err(AuthError::bad_request("Invalid bewit structure"));
    };
    let exp = parse_int(exp).unwrap_or(0);
    if id.is_empty() || exp == 0 || mac.is_empty() {
        return Err(AuthError::bad_request("Missing bewit attributes"));
    }
    let now_ms = i128::try_from(now.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(i128::MAX);
    if i128::from(exp) * 1000 <= now_ms {
        return Err(AuthError::unauthorized("Access expired"));
    }
    Ok(Bewit { id: id.to_owned(), exp, mac: mac.to_owned(), ext: (!ext.is_empty()).then(|| ext.to_owned()) })
}

/// JavaScript's `parseInt(text, 10)`, for the integers bewits carry (`None` where it gives `NaN`).
fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim_start();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse::<i64>().ok().map(|n| sign * n)
}

/// Whether the bewit's MAC is the one `key` gives for `resource` (the resource without the bewit).
pub(crate) fn bewit_mac_matches(key: &str, bewit: &Bewit, host: &str, port: u16, resource: &str) -> bool {
    let Ok(exp) = u64::try_from(bewit.exp) else { return false };
    let Some(given) = decode_standard(&bewit.mac) else { return false };
    let Ok(key) = hawk::Key::new(key.as_bytes(), hawk::SHA256) else { return false };
    // The Node library signs bewits as GET even when the request is a HEAD.
    let expected = Mac::new(
        MacType::Bewit,
        &key,
        UNIX_EPOCH + Duration::from_secs(exp),
        "",
        "GET",
        &host.to_ascii_lowercase(),
        port,
        resource,
        None,
        bewit.ext.as_deref(),
    );
    expected.is_ok_and(|expected| expected == Mac::from(given))
}

fn decode_standard(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// Whether the query string has a non-empty `bewit` parameter, as taskcluster-lib-api's `req.query.bewit` says.
pub(crate) fn query_has_bewit(path_and_query: &str) -> bool {
    let Some((_, query)) = path_and_query.split_once('?') else { return false };
    let mut values = query.split('&').filter_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode_lossy(&key.replace('+', " ")) == "bewit").then_some(value)
    });
    match (values.next(), values.next()) {
        (None, _) => false,
        (Some(value), None) => !value.is_empty(),
        // Repeated, it parses as an array, which is truthy whatever its values.
        (Some(_), Some(_)) => true,
    }
}

/// Decodes `%XX` escapes, leaving malformed ones as they are.
fn percent_decode_lossy(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

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

/// Compares in constant time (for equal lengths; lengths of hashes and signatures are public).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

/// Decodes base64 the way Node's `Buffer.from(text, 'base64')` does: either alphabet, padding optional, anything
/// else (whitespace, stray characters) skipped, decoding stopping at the first `=`.
pub(crate) fn decode_base64_lenient(text: &str) -> Option<Vec<u8>> {
    let cleaned: String = text
        .chars()
        .take_while(|&c| c != '=')
        .filter_map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' => Some(c),
            '-' => Some('+'),
            '_' => Some('/'),
            _ => None,
        })
        .collect();
    // A lone trailing character carries under one byte; Node drops it.
    let usable = cleaned.len() - usize::from(cleaned.len() % 4 == 1);
    LENIENT_BASE64.decode(&cleaned[..usable]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose;

    #[test]
    fn authorization_headers_parse_like_the_node_library() {
        let parsed =
            parse_authorization(r#"Hawk id="c", ts="1353832234", nonce="j4h3g2", ext="e", mac="bWFj""#).unwrap();
        assert_eq!(
            parsed,
            HeaderAttributes {
                id: Some("c"),
                ts: Some("1353832234"),
                nonce: Some("j4h3g2"),
                mac: Some("bWFj"),
                hash: None,
                ext: Some("e"),
                app: None,
                dlg: None,
            }
        );
        assert!(parse_authorization(r#"hawk id="c""#).is_ok(), "the scheme is case-insensitive");

        let err = |h: &str| parse_authorization(h).unwrap_err().to_string();
        assert_eq!(err("Basic dXNlcjpwYXNz"), "Unauthorized");
        assert_eq!(err("Hawk"), "Bad Request: Invalid header syntax");
        assert_eq!(err("Ha-wk id=\"x\""), "Bad Request: Invalid header syntax");
        assert_eq!(err(r#"Hawk id="a", foo="b""#), "Bad Request: Unknown attribute: foo");
        assert_eq!(err(r#"Hawk id="a", id="b""#), "Bad Request: Duplicate attribute: id");
        assert_eq!(err(r#"Hawk id="", ts="1""#), "Bad Request: Bad attribute value: id");
        assert_eq!(err(r#"Hawk id="a" junk"#), "Bad Request: Bad header format");
        assert_eq!(err(&format!("Hawk id=\"{}\"", "x".repeat(5000))), "Bad Request: Header length too long");
    }

    #[test]
    fn missing_attributes_are_reported() {
        let parsed = parse_authorization(r#"Hawk id="c", ts="1", nonce="n""#).unwrap();
        assert_eq!(parsed.require().unwrap_err().to_string(), "Bad Request: Missing attributes");
    }

    #[test]
    fn header_mac_matches_what_the_hawk_crate_signs() {
        let creds = hawk::Credentials { id: "c".into(), key: hawk::Key::new(b"secret", hawk::SHA256).unwrap() };
        let hash = hawk::PayloadHasher::hash("application/json", hawk::SHA256, b"{}").unwrap();
        let header = hawk::RequestBuilder::new("POST", "example.com", 443, "/a?b=c")
            .hash(&hash[..])
            .ext("ext-data")
            .request()
            .make_header(&creds)
            .unwrap()
            .to_string();
        let authorization = format!("Hawk {header}");
        let attrs = parse_authorization(&authorization).unwrap();
        let signed = attrs.require().unwrap();
        assert!(header_mac_matches("secret", &signed, "post", "Example.COM", 443, "/a?b=c"));
        assert!(!header_mac_matches("wrong", &signed, "POST", "example.com", 443, "/a?b=c"));
        assert!(!header_mac_matches("secret", &signed, "PUT", "example.com", 443, "/a?b=c"));
        assert!(!header_mac_matches("secret", &signed, "POST", "example.org", 443, "/a?b=c"));
        assert!(!header_mac_matches("secret", &signed, "POST", "example.com", 80, "/a?b=c"));
        assert!(!header_mac_matches("secret", &signed, "POST", "example.com", 443, "/a?b=d"));
        let tampered = SignedHeader { ext: Some("other"), ..signed };
        assert!(!header_mac_matches("secret", &tampered, "POST", "example.com", 443, "/a?b=c"));
        let unhashed = SignedHeader { hash: None, ..signed };
        assert!(!header_mac_matches("secret", &unhashed, "POST", "example.com", 443, "/a?b=c"));
    }

    /// A header for `GET /resource/1?b=1&a=2` on example.com:8000, its MAC made independently (ring's HMAC) over
    /// `normalized`.
    fn header_signed_over(normalized: &str, app: Option<&str>, dlg: Option<&str>) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn");
        let mac = STANDARD.encode(ring::hmac::sign(&key, normalized.as_bytes()));
        let mut header = format!(r#"Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", ext="e", mac="{mac}""#);
        if let Some(app) = app {
            header.push_str(&format!(r#", app="{app}""#));
        }
        if let Some(dlg) = dlg {
            header.push_str(&format!(r#", dlg="{dlg}""#));
        }
        header
    }

    fn mac_matches(authorization: &str) -> bool {
        let attrs = parse_authorization(authorization).unwrap();
        let signed = attrs.require().unwrap();
        let key = "werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn";
        header_mac_matches(key, &signed, "GET", "example.com", 8000, "/resource/1?b=1&a=2")
    }

    const SIGNED_PART: &str = "hawk.1.header\n1353832234\nj4h3g2\nGET\n/resource/1?b=1&a=2\nexample.com\n8000\n\ne\n";

    #[test]
    fn header_macs_cover_app_and_dlg_as_the_node_library_signs_them() {
        let with_both = format!("{SIGNED_PART}my-app\nmy-dlg\n");
        assert!(mac_matches(&header_signed_over(&with_both, Some("my-app"), Some("my-dlg"))));
        let app_only = format!("{SIGNED_PART}my-app\n\n");
        assert!(mac_matches(&header_signed_over(&app_only, Some("my-app"), None)));
        // Without an app, the Node library signs no dlg.
        assert!(mac_matches(&header_signed_over(SIGNED_PART, None, Some("my-dlg"))));
        assert!(mac_matches(&header_signed_over(SIGNED_PART, None, None)));
    }

    #[test]
    fn header_mac_matches_the_node_librarys_readme_example() {
        let header = r#"Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", ext="some-app-ext-data", mac="6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE=""#;
        assert!(mac_matches(header));
    }

    #[test]
    fn a_header_mac_that_does_not_cover_its_app_or_dlg_does_not_match() {
        assert!(!mac_matches(&header_signed_over(SIGNED_PART, Some("my-app"), None)));
        assert!(!mac_matches(&header_signed_over(SIGNED_PART, Some("my-app"), Some("my-dlg"))));
        let with_both = format!("{SIGNED_PART}my-app\nmy-dlg\n");
        assert!(!mac_matches(&header_signed_over(&with_both, Some("my-app"), Some("other-dlg"))));
        assert!(!mac_matches(&header_signed_over(&with_both, Some("other-app"), Some("my-dlg"))));
        assert!(!mac_matches(&header_signed_over(&with_both, Some("my-app"), None)));
    }

    #[test]
    fn staleness_allows_fifteen_minutes_either_way() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert!(!is_stale("1700000000", now));
        assert!(!is_stale("1699999100", now));
        assert!(is_stale("1699999099", now));
        assert!(!is_stale("1700000900", now));
        assert!(is_stale("1700000901", now));
        assert!(is_stale("soon", now));
    }

    #[test]
    fn bewits_are_found_and_removed_like_the_node_library() {
        let found = find_bewit("/a/b?x=1&bewit=QUJD&y=2").unwrap();
        assert_eq!(found, BewitInResource { encoded: "QUJD", resource: "/a/b?x=1&y=2".into() });
        let found = find_bewit("/a?bewit=QUJD&y=2").unwrap();
        assert_eq!(found.resource, "/a?y=2");
        let found = find_bewit("/a?bewit=QUJD").unwrap();
        assert_eq!(found.resource, "/a");
        assert_eq!(find_bewit("/a?bewit=").unwrap().encoded, "");
        assert_eq!(find_bewit("/a?xbewit=QUJD"), None);
        assert_eq!(find_bewit("a?bewit=QUJD"), None, "a resource starts with a slash");
    }

    #[test]
    fn bewit_checks_come_in_the_node_librarys_order() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let b64 = |s: &str| general_purpose::URL_SAFE_NO_PAD.encode(s);
        let check = |encoded: &str, method: &str| {
            let found = BewitInResource { encoded, resource: "/a".into() };
            decode_bewit(&found, method, now).map_err(|e| e.to_string())
        };
        let good = b64("client\\1700000060\\bWFj\\ext");
        assert_eq!(
            check(&good, "HEAD").unwrap(),
            Bewit { id: "client".into(), exp: 1_700_000_060, mac: "bWFj".into(), ext: Some("ext".into()) }
        );
        assert_eq!(check("", "GET").unwrap_err(), "Unauthorized: Empty bewit");
        assert_eq!(check(&good, "POST").unwrap_err(), "Unauthorized: Invalid method");
        assert_eq!(check("ab+c", "GET").unwrap_err(), "Bad Request: Invalid bewit encoding");
        assert_eq!(check(&b64("a\\1\\m"), "GET").unwrap_err(), "Bad Request: Invalid bewit structure");
        assert_eq!(check(&b64("\\1700000060\\m\\"), "GET").unwrap_err(), "Bad Request: Missing bewit attributes");
        assert_eq!(check(&b64("c\\soon\\m\\"), "GET").unwrap_err(), "Bad Request: Missing bewit attributes");
        assert_eq!(check(&b64("c\\1700000000\\m\\"), "GET").unwrap_err(), "Unauthorized: Access expired");
        assert_eq!(check(&b64("c\\-5\\m\\"), "GET").unwrap_err(), "Unauthorized: Access expired");
    }

    #[test]
    fn bewit_mac_matches_what_the_hawk_crate_signs() {
        let creds = hawk::Credentials { id: "c".into(), key: hawk::Key::new(b"secret", hawk::SHA256).unwrap() };
        let request = hawk::RequestBuilder::new("GET", "example.com", 443, "/a?x=1").ext("e").request();
        let exp = UNIX_EPOCH + Duration::from_secs(4_000_000_000);
        let encoded = request.make_bewit(&creds, exp).unwrap().to_str();
        let path = format!("/a?x=1&bewit={encoded}");
        let found = find_bewit(&path).unwrap();
        let bewit = decode_bewit(&found, "GET", SystemTime::now()).unwrap();
        assert_eq!(bewit.ext.as_deref(), Some("e"));
        assert!(bewit_mac_matches("secret", &bewit, "EXAMPLE.com", 443, &found.resource));
        assert!(!bewit_mac_matches("secret", &bewit, "example.com", 443, "/a?x=2"));
        assert!(!bewit_mac_matches("other", &bewit, "example.com", 443, &found.resource));
    }

    #[test]
    fn query_has_bewit_reads_the_query_like_express() {
        assert!(query_has_bewit("/a?bewit=x"));
        assert!(query_has_bewit("/a?y=1&%62ewit=x"));
        assert!(query_has_bewit("/a?bewit=&bewit="), "a repeated parameter is an array, which is truthy");
        assert!(!query_has_bewit("/a?bewit="));
        assert!(!query_has_bewit("/a?bewitx=1"));
        assert!(!query_has_bewit("/a/bewit=1"));
    }

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

    #[test]
    fn lenient_base64_accepts_what_node_accepts() {
        let want = br#"{"a":1}"#.to_vec();
        let std = STANDARD.encode(&want);
        assert_eq!(decode_base64_lenient(&std), Some(want.clone()));
        assert_eq!(decode_base64_lenient(std.trim_end_matches('=')), Some(want.clone()));
        assert_eq!(decode_base64_lenient(&general_purpose::URL_SAFE.encode(&want)), Some(want.clone()));
        assert_eq!(decode_base64_lenient(&format!(" {}\n", std)), Some(want));
    }
}
