//! The server side of Hawk as Taskcluster runs it (the Node `hawk` library behind its auth service and
//! taskcluster-lib-api): the `Authorization` header's syntax, bewits in URLs, MACs, timestamps, payload hashes and
//! the request's host and port. Failures carry the Node library's messages.
//!
//! Header MACs sign the Node library's normalized string, `app` and `dlg` included (the `hawk` crate leaves them
//! out, so it only signs bewits here). One input differs from the Node library in a corner case no Taskcluster
//! client produces: the timestamp must be a plain decimal number (Node signs the text as sent).

mod bewit;
mod header;
mod request;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

pub(crate) use bewit::{Bewit, bewit_mac_matches, decode_bewit, find_bewit, query_has_bewit};
pub(crate) use header::{SignedHeader, header_mac_matches, is_stale, parse_authorization};
pub(crate) use request::check_payload_hash;
pub use request::host_and_port;

/// How far a Hawk timestamp may be from the server's clock, either way (the auth service's `timestampSkewSec`).
pub(crate) const TIMESTAMP_SKEW: Duration = Duration::from_secs(15 * 60);

/// The Node library refuses longer headers, host headers and URLs (`limits.maxMatchLength`).
const MAX_MATCH_LENGTH: usize = 4096;

/// Node's base64 decoding takes either padding and ignores bits left over at the end.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Seconds since the epoch.
pub(crate) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
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

/// Decodes padded standard base64, as MACs and payload hashes are sent.
fn decode_standard(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
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
    fn lenient_base64_accepts_what_node_accepts() {
        let want = br#"{"a":1}"#.to_vec();
        let std = STANDARD.encode(&want);
        assert_eq!(decode_base64_lenient(&std), Some(want.clone()));
        assert_eq!(decode_base64_lenient(std.trim_end_matches('=')), Some(want.clone()));
        assert_eq!(decode_base64_lenient(&general_purpose::URL_SAFE.encode(&want)), Some(want.clone()));
        assert_eq!(decode_base64_lenient(&format!(" {}\n", std)), Some(want));
    }
}
