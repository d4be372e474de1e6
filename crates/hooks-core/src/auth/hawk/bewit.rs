//! Bewits: the signature a URL carries in its query (`bewit=`), instead of a header.

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use hawk::mac::{Mac, MacType};
use regex::Regex;

use super::{MAX_MATCH_LENGTH, decode_standard, parse_int};
use crate::auth::AuthError;
use crate::error::static_regex;

/// Where a bewit sits in a resource, as the Node library finds it (the last `bewit=` parameter).
static BEWIT_IN_RESOURCE: LazyLock<Regex> = LazyLock::new(|| static_regex(r"^(/.*)([?&])bewit=([^&$]*)(?:&(.+))?$"));
static BEWIT_ENCODING: LazyLock<Regex> = LazyLock::new(|| static_regex(r"^[A-Za-z0-9_-]*$"));

/// Bewits are unpadded url-safe base64, but some clients pad them.
const BEWIT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose;

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
}
