//! The `Authorization` header: its syntax, its MAC and its timestamp.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use regex::Regex;

use super::{MAX_MATCH_LENGTH, TIMESTAMP_SKEW, decode_standard};
use crate::auth::AuthError;
use crate::error::static_regex;
use crate::secret::constant_time_eq;

// `\w` is spelled out: the Node library's is ASCII-only, Rust's is Unicode.
static SCHEME: LazyLock<Regex> = LazyLock::new(|| static_regex(r"^([A-Za-z0-9_]+)(?:\s+(.*))?$"));
static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| static_regex(r#"([A-Za-z0-9_]+)="([^"\\]*)"\s*(?:,\s*|$)"#));
static ATTRIBUTE_VALUE: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"^[ A-Za-z0-9_!#$%&'()*+,\-./:;<=>?@\[\]^`{|}~]+$"));

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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use std::time::Duration;

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
}
